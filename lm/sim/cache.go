package sim

import (
	"sync"
	"sync/atomic"
)

// cache is a concurrent map from message text to a value derived from it,
// bounded by emptying it when it grows past max entries (cheap, and the
// values are pure functions of their keys, so a miss only costs time).
type cache[V any] struct {
	m   sync.Map // string → V
	n   atomic.Int64
	max int64
}

func (c *cache[V]) get(key string) (V, bool) {
	v, ok := c.m.Load(key)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// put stores v under key and returns the value now cached. The caller
// passes a key it owns (strings.Clone of a substring), so an entry never
// pins a larger string the key was cut from.
func (c *cache[V]) put(key string, v V) V {
	if c.n.Add(1) > c.max {
		c.m.Clear()
		c.n.Store(1)
	}
	got, _ := c.m.LoadOrStore(key, v)
	return got.(V)
}
