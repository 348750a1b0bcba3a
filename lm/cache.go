package lm

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"sync"
)

// Cache stores responses by request key. Implementations must be safe for
// concurrent use; a persistent one lives in the store package.
type Cache interface {
	// Get returns the response stored under key.
	Get(ctx context.Context, key string) (Response, bool, error)
	// Put stores resp under key.
	Put(ctx context.Context, key string, req Request, resp Response) error
}

// Key is the cache key of a request to the model of the given identity
// (IdentityOf): a hex SHA-256 over the identity, the model name, every
// message (role and content), the temperature, the max tokens and the
// sample index, each length-prefixed so no two requests share a key.
func Key(identity string, req Request) string {
	h := sha256.New()
	writeStr(h, identity)
	writeStr(h, req.Model)
	for _, m := range req.Messages {
		writeStr(h, m.Role)
		writeStr(h, m.Content)
	}
	var b [24]byte
	binary.LittleEndian.PutUint64(b[0:], math.Float64bits(req.Temperature))
	binary.LittleEndian.PutUint64(b[8:], uint64(req.MaxTokens))
	binary.LittleEndian.PutUint64(b[16:], uint64(req.Sample))
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil))
}

func writeStr(h hash.Hash, s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

// Cached wraps m so that repeated requests are answered from c, keyed by
// m's identity (IdentityOf) and the full request. A cached response has
// Cached set (nothing billed), zero Latency and zero Retries; its usage and
// nominal Cost are kept, so token counts, budgets and comparisons do not
// depend on the cache. Errors are never cached; a cache error fails the
// call.
//
// The wrapper is a Sampler: each sample is cached under its own key (the
// request with that Sample), the same key Generate uses, and a call with
// any sample missing draws all n from m (in one call when m is a Sampler),
// keeping the cached responses of the hits. It is a Lister when m is.
func Cached(m Model, c Cache) Model {
	w := &cached{m: m, c: c, id: IdentityOf(m)}
	if l, ok := m.(Lister); ok {
		return &cachedLister{cached: w, l: l}
	}
	return w
}

// cachedLister is the cache in front of a Lister: it serves the same names.
type cachedLister struct {
	*cached
	l Lister
}

var _ Lister = (*cachedLister)(nil)

func (w *cachedLister) Names() []string { return w.l.Names() }

type cached struct {
	m  Model
	c  Cache
	id string
}

var (
	_ Sampler    = (*cached)(nil)
	_ Identifier = (*cached)(nil)
)

// Identity is the wrapped model's: a cache in front does not change the
// world the answers come from.
func (w *cached) Identity() string { return w.id }

func (w *cached) Generate(ctx context.Context, req Request) (Response, error) {
	key := Key(w.id, req)
	if r, ok, err := w.c.Get(ctx, key); err != nil {
		return Response{}, err
	} else if ok {
		return w.hit(req.Model, r), nil
	}
	r, err := w.m.Generate(ctx, req)
	if err != nil {
		return r, err
	}
	if err := w.c.Put(ctx, key, req, r); err != nil {
		return Response{}, err
	}
	return r, nil
}

func (w *cached) GenerateSamples(ctx context.Context, req Request, n int) ([]Response, error) {
	if n < 1 {
		return GenerateSamples(ctx, w.m, req, n) // its error
	}
	out := make([]Response, n)
	keys := make([]string, n)
	hits := make([]bool, n)
	all := true
	for i := range n {
		r := req
		r.Sample = req.Sample + i
		keys[i] = Key(w.id, r)
		resp, ok, err := w.c.Get(ctx, keys[i])
		if err != nil {
			return nil, err
		}
		if ok {
			out[i], hits[i] = w.hit(req.Model, resp), true
		} else {
			all = false
		}
	}
	if all {
		return out, nil
	}
	// All n in one call, as asked: for a Sampler one request is cheaper
	// than a request per miss.
	fresh, err := GenerateSamples(ctx, w.m, req, n)
	if err != nil {
		return nil, err
	}
	for i := range n {
		if hits[i] {
			continue
		}
		r := req
		r.Sample = req.Sample + i
		if err := w.c.Put(ctx, keys[i], r, fresh[i]); err != nil {
			return nil, err
		}
		out[i] = fresh[i]
	}
	return out, nil
}

// hit marks r as served from the cache.
func (w *cached) hit(model string, r Response) Response {
	r.Cached, r.Latency, r.Retries = true, 0, 0
	if p, ok := w.m.(Pricer); ok {
		r.Cost = p.Cost(model, r.Usage)
	}
	return r
}

// MemoryCache is an in-memory Cache, for tests and single runs.
type MemoryCache struct {
	mu sync.RWMutex // protects m
	m  map[string]Response
}

// NewMemoryCache returns an empty MemoryCache.
func NewMemoryCache() *MemoryCache { return &MemoryCache{m: map[string]Response{}} }

// Get implements Cache.
func (c *MemoryCache) Get(_ context.Context, key string) (Response, bool, error) {
	c.mu.RLock()
	r, ok := c.m[key]
	c.mu.RUnlock()
	return r, ok, nil
}

// Put implements Cache.
func (c *MemoryCache) Put(_ context.Context, key string, _ Request, r Response) error {
	c.mu.Lock()
	c.m[key] = r
	c.mu.Unlock()
	return nil
}

// Len returns the number of stored responses.
func (c *MemoryCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
