package lm

import (
	"context"
	"slices"
	"testing"
)

type listed struct {
	ModelFunc
	names []string
}

func (l listed) Names() []string { return l.names }

func TestCachedForwardsLister(t *testing.T) {
	gen := ModelFunc(func(context.Context, Request) (Response, error) { return Response{Text: "x"}, nil })
	m := listed{gen, []string{"a", "b"}}
	l, ok := Cached(m, NewMemoryCache()).(Lister)
	if !ok || !slices.Equal(l.Names(), m.names) {
		t.Fatalf("Cached(Lister) is a Lister %v with names %v, want %v", ok, l, m.names)
	}
	c := Cached(m, NewMemoryCache())
	if _, ok := c.(Sampler); !ok || IdentityOf(c) != IdentityOf(m) {
		t.Error("the cached Lister lost the cache's Sampler or identity")
	}
	if _, ok := Cached(gen, NewMemoryCache()).(Lister); ok {
		t.Error("Cached of a model that cannot list its names is a Lister")
	}
}
