package openai_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mabeam/mabeam/internal/openaitest"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/openai"
)

// countingLimiter records each Wait's tokens and answers with err.
type countingLimiter struct {
	mu     sync.Mutex // protects tokens
	tokens []int      // of each Wait, in order
	err    error
}

func (l *countingLimiter) Wait(ctx context.Context, tokens int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = append(l.tokens, tokens)
	return l.err
}

// take returns the Waits' tokens so far and forgets them.
func (l *countingLimiter) take() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tokens
	l.tokens = nil
	return t
}

// limiterFunc is a Limiter of a function.
type limiterFunc func(ctx context.Context, tokens int) error

func (f limiterFunc) Wait(ctx context.Context, tokens int) error { return f(ctx, tokens) }

// A custom Limiter replaces the local buckets: it is waited on once per
// HTTP attempt, retries included, with the attempt's reserved tokens,
// and the 60 requests a minute it stands for are not enforced a second
// time (they would make 20 calls take 19 s).
func TestLimiterPerAttempt(t *testing.T) {
	srv := server(t, openaitest.Options{Rate500: 0.25, Seed: 1})
	lim := &countingLimiter{}
	c := client(t, srv.URL(), func(o *openai.Options) { o.Limiter = lim; o.RequestsPerMinute = 60 })
	req := lm.Request{Model: "m", Messages: []lm.Message{{Role: lm.RoleUser, Content: "What is 6*7?"}}, MaxTokens: 99}
	reserve := lm.EstimateTokens("What is 6*7?") + 99

	start := time.Now()
	for i := range 20 {
		req.Sample = i
		if _, err := c.Generate(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("20 calls took %v: the local 60 a minute was enforced besides the Limiter", d)
	}
	waits := lim.take()
	if srv.Counts().ServerErrors == 0 {
		t.Fatal("no 500s drawn: the test retried nothing")
	}
	if s := c.Stats(); int64(len(waits)) != s.Requests || s.Requests != srv.Requests() || s.Retries == 0 {
		t.Errorf("%d Waits for %d attempts (%d received, %d retries), want one per attempt", len(waits), s.Requests, srv.Requests(), s.Retries)
	}
	for i, n := range waits {
		if n != reserve {
			t.Fatalf("Wait %d asked for %d tokens, want %d", i, n, reserve)
		}
	}

	// Three samples in one request reserve three times the tokens.
	before := srv.Requests()
	if _, err := c.GenerateSamples(context.Background(), req, 3); err != nil {
		t.Fatal(err)
	}
	waits = lim.take()
	if int64(len(waits)) != srv.Requests()-before {
		t.Errorf("%d Waits for %d attempts of GenerateSamples", len(waits), srv.Requests()-before)
	}
	for i, n := range waits {
		if n != 3*reserve {
			t.Errorf("GenerateSamples Wait %d asked for %d tokens, want %d", i, n, 3*reserve)
		}
	}
}

// A Limiter's error fails the call before anything is sent: its own
// error as an lm.ErrTimeout, a context's end as acquire reports it. The
// request slot is given back each time.
func TestLimiterError(t *testing.T) {
	srv := server(t, openaitest.Options{})
	refused := errors.New("the shared limit is unavailable")
	var lim openai.Limiter
	c := client(t, srv.URL(), func(o *openai.Options) {
		o.Concurrency = 1
		o.Limiter = limiterFunc(func(ctx context.Context, tokens int) error { return lim.Wait(ctx, tokens) })
	})
	ctx := context.Background()

	lim = &countingLimiter{err: refused}
	_, err := c.Generate(ctx, ask("m"))
	var le *lm.Error
	if !errors.As(err, &le) || le.Kind != lm.ErrTimeout || le.Model != "m" || !errors.Is(err, refused) {
		t.Errorf("limiter error: got %v, want an lm.ErrTimeout for m wrapping %q", err, refused)
	}

	// A limiter that blocks until the context ends.
	lim = limiterFunc(func(ctx context.Context, _ int) error { <-ctx.Done(); return ctx.Err() })
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := c.Generate(dctx, ask("m")); !errors.Is(err, lm.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline while waiting: got %v, want an lm.ErrTimeout wrapping the deadline", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := c.Generate(cctx, ask("m")); err != context.Canceled {
		t.Errorf("cancelled while waiting: got %v, want context.Canceled as it is", err)
	}

	if n := srv.Requests(); n != 0 {
		t.Errorf("the server received %d requests, want none", n)
	}
	if s := c.Stats(); s.Calls != 3 || s.Failed != 3 || s.Requests != 0 {
		t.Errorf("stats %+v, want 3 calls failed, no request", s)
	}
	// With Concurrency 1, a slot kept by a failed wait would block this.
	lim = &countingLimiter{}
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.Generate(tctx, ask("m")); err != nil {
		t.Errorf("after the failed waits: %v", err)
	}
}

// One NewLocalLimiter passed to two clients holds both to its rate: 80
// requests at 50 a second from a bucket of 50 take 0.6 s, where two
// clients with their own buckets would send their 40 each at once.
func TestLocalLimiterShared(t *testing.T) {
	srv := server(t, openaitest.Options{})
	lim := openai.NewLocalLimiter(3000, 0)
	clients := []*openai.Client{
		client(t, srv.URL(), func(o *openai.Options) { o.Concurrency = 40; o.Limiter = lim }),
		client(t, srv.URL(), func(o *openai.Options) { o.Concurrency = 40; o.Limiter = lim }),
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 80 {
		wg.Go(func() {
			if _, err := clients[i%2].Generate(context.Background(), ask("m")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d < 550*time.Millisecond || d > 3*time.Second {
		t.Errorf("80 requests over two clients took %v, want about 0.6 s", d)
	}
}

func TestNewLocalLimiter(t *testing.T) {
	ctx := context.Background()
	// No limits: nothing to wait for.
	free := openai.NewLocalLimiter(0, 0)
	start := time.Now()
	for range 1000 {
		if err := free.Wait(ctx, 1e6); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("1000 unlimited Waits took %v", d)
	}

	// 200 tokens a second from a bucket of 200: a request of 300 takes
	// the bucket and then 100 more, 0.5 s.
	toks := openai.NewLocalLimiter(0, 12000)
	start = time.Now()
	if err := toks.Wait(ctx, 300); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 450*time.Millisecond || d > 2*time.Second {
		t.Errorf("300 tokens from a bucket of 200 at 200/s took %v, want 0.5 s", d)
	}

	// One request a second: the second cannot fit in 100 ms, and says so
	// at once.
	reqs := openai.NewLocalLimiter(60, 0)
	if err := reqs.Wait(ctx, 0); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := reqs.Wait(dctx, 0); err == nil || dctx.Err() != nil || time.Since(start) > 50*time.Millisecond {
		t.Errorf("a wait past the deadline: got %v after %v, want an error at once", err, time.Since(start))
	}

	for _, r := range [][2]float64{{-1, 0}, {0, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewLocalLimiter(%g, %g) did not panic", r[0], r[1])
				}
			}()
			openai.NewLocalLimiter(r[0], r[1])
		}()
	}
}
