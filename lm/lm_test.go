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

func TestServerAndAuthErrors(t *testing.T) {
	srv := fmt.Errorf("call: %w", &Error{Kind: ErrServer, Model: "m", Err: errors.New("HTTP 502")})
	if !errors.Is(srv, ErrServer) || !Retryable(srv) {
		t.Errorf("server error not retryable: %v", srv)
	}
	auth := &Error{Kind: ErrAuth, Model: "m"}
	if !errors.Is(auth, ErrAuth) || Retryable(auth) {
		t.Errorf("auth error retryable: %v", auth)
	}
	if Retryable(&Error{Kind: ErrUnknownModel}) {
		t.Error("unknown model retryable")
	}
}

func TestCachedHitClearsRetries(t *testing.T) {
	m := ModelFunc(func(ctx context.Context, r Request) (Response, error) {
		return Response{Text: "x", Latency: 5, Retries: 3}, nil
	})
	cm := Cached(m, NewMemoryCache())
	req := Request{Model: "m", Messages: []Message{{Role: RoleUser, Content: "q"}}}
	r1, _ := cm.Generate(context.Background(), req)
	r2, _ := cm.Generate(context.Background(), req)
	if r1.Retries != 3 || r1.Latency != 5 || r2.Retries != 0 || r2.Latency != 0 || !r2.Cached {
		t.Errorf("r1=%+v r2=%+v", r1, r2)
	}
}

// sampler answers with its sample index and counts its calls and the
// samples it drew.
type sampler struct {
	calls, drawn int
}

func (s *sampler) Generate(ctx context.Context, r Request) (Response, error) {
	s.calls++
	s.drawn++
	return Response{Text: fmt.Sprint("s", r.Sample), Usage: Usage{10, 1}, Latency: 7, Retries: 1}, nil
}

func (s *sampler) GenerateSamples(ctx context.Context, r Request, n int) ([]Response, error) {
	s.calls++
	out := make([]Response, n)
	for i := range out {
		out[i] = Response{Text: fmt.Sprint("s", r.Sample+i), Usage: Usage{10, 1}, Latency: 7, Retries: 1}
	}
	s.drawn += n
	return out, nil
}

func TestCachedSamples(t *testing.T) {
	ctx := context.Background()
	inner := &sampler{}
	c := NewMemoryCache()
	cm := Cached(inner, c)
	req := Request{Model: "m", Messages: []Message{{Role: RoleUser, Content: "q"}}, Temperature: 0.7, Sample: 2}
	texts := func(rs []Response) string {
		s := ""
		for _, r := range rs {
			s += r.Text + " "
		}
		return s
	}

	first, err := GenerateSamples(ctx, cm, req, 3)
	if err != nil || inner.calls != 1 || c.Len() != 3 || texts(first) != "s2 s3 s4 " {
		t.Fatalf("first: calls=%d len=%d %q %v", inner.calls, c.Len(), texts(first), err)
	}
	for _, r := range first {
		if r.Cached || r.Retries != 1 {
			t.Errorf("fresh sample %+v", r)
		}
	}

	again, err := GenerateSamples(ctx, cm, req, 3)
	if err != nil || inner.calls != 1 || texts(again) != texts(first) {
		t.Fatalf("all cached: calls=%d %q %v", inner.calls, texts(again), err)
	}
	for _, r := range again {
		if !r.Cached || r.Retries != 0 || r.Latency != 0 || r.Usage != (Usage{10, 1}) {
			t.Errorf("cached sample %+v", r)
		}
	}

	// A sample's key is Generate's key for that Sample.
	one := req
	one.Sample = 3
	if r, _ := cm.Generate(ctx, one); !r.Cached || r.Text != "s3" || inner.calls != 1 {
		t.Errorf("Generate of a cached sample: %+v, calls=%d", r, inner.calls)
	}

	// One more sample than cached: one call for all four, hits kept.
	more, err := GenerateSamples(ctx, cm, req, 4)
	if err != nil || inner.calls != 2 || inner.drawn != 7 || c.Len() != 4 || texts(more) != "s2 s3 s4 s5 " {
		t.Fatalf("partial: calls=%d drawn=%d len=%d %q %v", inner.calls, inner.drawn, c.Len(), texts(more), err)
	}
	for i, r := range more {
		if r.Cached != (i < 3) {
			t.Errorf("sample %d: cached=%v", i, r.Cached)
		}
	}

	if _, err := GenerateSamples(ctx, cm, req, 0); !errors.Is(err, ErrBadRequest) {
		t.Errorf("0 samples: %v", err)
	}
}

func TestCachedSamplesOfPlainModel(t *testing.T) {
	calls := 0
	m := ModelFunc(func(ctx context.Context, r Request) (Response, error) {
		calls++
		return Response{Text: fmt.Sprint(r.Sample)}, nil
	})
	cm := Cached(m, NewMemoryCache())
	req := Request{Model: "m", Messages: []Message{{Role: RoleUser, Content: "q"}}, Temperature: 1}
	rs, err := GenerateSamples(context.Background(), cm, req, 3)
	if err != nil || calls != 3 || rs[2].Text != "2" {
		t.Fatalf("calls=%d %+v %v", calls, rs, err)
	}
	if _, err := GenerateSamples(context.Background(), cm, req, 3); err != nil || calls != 3 {
		t.Errorf("second draw called the model: calls=%d %v", calls, err)
	}
}

// pricedModel answers with a fixed usage at its current price per token.
type pricedModel struct{ price float64 }

func (m *pricedModel) Generate(_ context.Context, req Request) (Response, error) {
	u := Usage{PromptTokens: 10, CompletionTokens: 5}
	return Response{Text: "Answer: 1", Usage: u, Cost: m.Cost(req.Model, u)}, nil
}

func (m *pricedModel) Cost(_ string, u Usage) float64 { return float64(u.Total()) * m.price }

// A cached reply of a Pricer is priced at the model's price now, so a
// corrected price table applies to replies cached before.
func TestCachedRepricesHits(t *testing.T) {
	ctx := context.Background()
	m := &pricedModel{price: 1}
	c := Cached(m, NewMemoryCache())
	req := Request{Model: "m", Messages: []Message{{Role: RoleUser, Content: "q"}}}
	if r, err := c.Generate(ctx, req); err != nil || r.Cost != 15 || r.Cached {
		t.Fatalf("first call: %+v, %v", r, err)
	}
	m.price = 2
	if r, err := c.Generate(ctx, req); err != nil || r.Cost != 30 || !r.Cached {
		t.Errorf("cached call at the new price: %+v, %v; want cost 30, cached", r, err)
	}
	rs, err := GenerateSamples(ctx, c, req, 1)
	if err != nil || rs[0].Cost != 30 || !rs[0].Cached {
		t.Errorf("cached sample at the new price: %+v, %v", rs, err)
	}
}
