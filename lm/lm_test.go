package lm

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestErrorKinds(t *testing.T) {
	err := fmt.Errorf("agent a1 round 0: %w", &Error{Kind: ErrRateLimited, Model: "m"})
	if !errors.Is(err, ErrRateLimited) || !Retryable(err) {
		t.Errorf("rate limit not recognised through wrapping: %v", err)
	}
	bad := &Error{Kind: ErrBadRequest, Err: errors.New("x")}
	if Retryable(bad) || !errors.Is(bad, ErrBadRequest) {
		t.Errorf("bad request misclassified")
	}
	if err := (&Request{Model: "m", Messages: []Message{{Role: RoleUser, Content: "hi"}}, Temperature: 3}).Validate(); !errors.Is(err, ErrBadRequest) {
		t.Errorf("temperature 3 accepted: %v", err)
	}
}

func TestKeyDistinguishesRequests(t *testing.T) {
	base := Request{Model: "m", Messages: []Message{{Role: RoleSystem, Content: "ab"}, {Role: RoleUser, Content: "c"}}}
	variants := []Request{
		base,
		{Model: "m2", Messages: base.Messages},
		{Model: "m", Messages: []Message{{Role: RoleSystem, Content: "a"}, {Role: RoleUser, Content: "bc"}}},
		{Model: "m", Messages: base.Messages, Temperature: 0.7},
		{Model: "m", Messages: base.Messages, Temperature: 0.7, Sample: 1},
		{Model: "m", Messages: base.Messages, MaxTokens: 10},
	}
	seen := map[string]int{}
	for i, r := range variants {
		k := Key("sim/seed=0", r)
		if j, dup := seen[k]; dup {
			t.Errorf("requests %d and %d share key %s", i, j, k)
		}
		seen[k] = i
	}
	if Key("sim/seed=0", base) != Key("sim/seed=0", variants[0]) {
		t.Error("key not deterministic")
	}
	if Key("sim/seed=0", base) == Key("sim/seed=1", base) {
		t.Error("two backend identities share a key")
	}
}

func TestCached(t *testing.T) {
	calls := 0
	m := ModelFunc(func(ctx context.Context, r Request) (Response, error) {
		calls++
		return Response{Text: "x", Usage: Usage{10, 2}, Cost: 0.5}, nil
	})
	c := NewMemoryCache()
	cm := Cached(m, c)
	req := Request{Model: "m", Messages: []Message{{Role: RoleUser, Content: "q"}}}
	r1, _ := cm.Generate(context.Background(), req)
	r2, _ := cm.Generate(context.Background(), req)
	if calls != 1 || r1.Cached || !r2.Cached || r2.Cost != r1.Cost || r2.Billed() != 0 || r1.Billed() != 0.5 || r2.Usage != r1.Usage {
		t.Errorf("calls=%d r1=%+v r2=%+v", calls, r1, r2)
	}
}
