package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mabeam/mabeam/internal/openaitest"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/openai"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var _ openai.Limiter = (*Limiter)(nil)

// limiterOn returns a Limiter on key of bucket LIMITS, opened on its own
// connection to url as another process would.
func limiterOn(t testing.TB, url, key string, rpm, tpm float64) *Limiter {
	t.Helper()
	l, err := NewLimiter(openShared(t, url, "LIMITS", 1), key, rpm, tpm)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// waitAll makes n Waits of tokens each, spread over the limiters from
// two goroutines per limiter, and returns how long they took.
func waitAll(t *testing.T, ls []*Limiter, n, tokens int) time.Duration {
	t.Helper()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range 2 * len(ls) {
		wg.Go(func() {
			for i := g; i < n; i += 2 * len(ls) {
				if err := ls[g%len(ls)].Wait(context.Background(), tokens); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// Two Limiters on one key, on two connections, share one allowance: 30
// Waits split over them take the time 30 take from one bucket, 2 s (10
// a second from a bucket of 10), where with an allowance each they would
// take what 15 take from one, 0.5 s, as a lone Limiter shows. Likewise
// for tokens. The cases run at once, each on its own keys.
func TestLimiterShared(t *testing.T) {
	url := embedded(t)
	var wg sync.WaitGroup
	for _, tc := range []struct {
		name     string
		rpm, tpm float64
		tokens   int
	}{
		{"requests", 600, 0, 1000},          // 10 a second, a bucket of 10
		{"tokens", 0, 60000, 100},           // 1000 tokens a second, a bucket of 1000
		{"requests-tokens", 600, 60000, 50}, // the requests bind
	} {
		shared := []*Limiter{limiterOn(t, url, tc.name, tc.rpm, tc.tpm), limiterOn(t, url, tc.name, tc.rpm, tc.tpm)}
		alone := limiterOn(t, url, tc.name+"-alone", tc.rpm, tc.tpm)
		wg.Go(func() {
			if d := waitAll(t, shared, 30, tc.tokens); d < 1900*time.Millisecond || d > 4*time.Second {
				t.Errorf("%s: 30 Waits over two Limiters on one key took %v, want 2 s", tc.name, d)
			}
		})
		wg.Go(func() {
			if d := waitAll(t, []*Limiter{alone}, 15, tc.tokens); d < 400*time.Millisecond || d > 1500*time.Millisecond {
				t.Errorf("%s: 15 Waits on a lone Limiter took %v, want 0.5 s", tc.name, d)
			}
		})
	}
	// A request larger than the token bucket waits for it in parts: 1500
	// tokens at 1000 a second from a bucket of 1000 take 0.5 s, and leave
	// the next request 0.1 s of debt more to wait off.
	large := limiterOn(t, url, "large", 0, 60000)
	wg.Go(func() {
		start := time.Now()
		if err := large.Wait(context.Background(), 1500); err != nil {
			t.Error(err)
			return
		}
		if d := time.Since(start); d < 450*time.Millisecond || d > 1500*time.Millisecond {
			t.Errorf("1500 tokens from a bucket of 1000 took %v, want 0.5 s", d)
		}
		if err := large.Wait(context.Background(), 100); err != nil {
			t.Error(err)
			return
		}
		if d := time.Since(start); d < 550*time.Millisecond || d > 1600*time.Millisecond {
			t.Errorf("1500 and then 100 tokens took %v, want 0.6 s", d)
		}
	})
	wg.Wait()
}

// Two openai clients, as two workers would hold, with Limiters on one
// key send 40 requests at 20 a second in 1 s, where each with its own
// bucket of 20 would send its 20 at once.
func TestLimiterClients(t *testing.T) {
	url := embedded(t)
	srv := openaitest.New(openaitest.Options{Backend: lm.ModelFunc(func(context.Context, lm.Request) (lm.Response, error) {
		return lm.Response{Text: "Answer: 42"}, nil
	})})
	t.Cleanup(srv.Close)
	var clients []*openai.Client
	for range 2 {
		c, err := openai.New(&openai.Options{BaseURL: srv.URL(), Concurrency: 20, RequestsPerMinute: 1200,
			Limiter: limiterOn(t, url, "lm", 1200, 0)})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	req := lm.Request{Model: "m", Messages: []lm.Message{{Role: lm.RoleUser, Content: "q"}}}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if _, err := clients[i%2].Generate(context.Background(), req); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("40 requests over two clients took %v, want 1 s", d)
	}
	if n := srv.Requests(); n != 40 {
		t.Errorf("the server received %d requests, want 40", n)
	}
}

// A Wait that cannot fit before its deadline fails at once and takes
// nothing; one whose context is cancelled, before or while it sleeps,
// returns the context's error promptly.
func TestLimiterContext(t *testing.T) {
	url := embedded(t)
	s := openShared(t, url, "LIMITS", 1)
	l, err := NewLimiter(s, "lm", 60, 0) // one a second, a bucket of 1
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Wait(cancelled, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before: got %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, "lm"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a cancelled Wait touched the bucket: Get: %v", err)
	}

	start := time.Now()
	if err := l.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := l.Wait(short, 1); err == nil || short.Err() != nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("a Wait of 1 s with 300 ms left: got %v after %v, want a deadline error at once", err, time.Since(start))
	}
	// Had the failed Wait taken its request, this one would come at 2 s.
	enough, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if err := l.Wait(enough, 1); err != nil {
		t.Errorf("a Wait of 1 s with 1.5 s left: %v", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 1400*time.Millisecond {
		t.Errorf("the second request came after %v, want 1 s", d)
	}

	sleeping, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	if err := l.Wait(sleeping, 1); !errors.Is(err, context.Canceled) || time.Since(start) > 500*time.Millisecond {
		t.Errorf("cancelled while sleeping: got %v after %v, want context.Canceled at 50 ms", err, time.Since(start))
	}
}

// A Limiter without limits never touches the bucket: it works on a
// closed connection (where a limited one fails) and writes no state.
func TestLimiterUnlimited(t *testing.T) {
	url := embedded(t)
	s := openShared(t, url, "LIMITS", 1)
	nc, err := Connect(url, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	closed, err := OpenShared(ctx, js, "LIMITS", 1)
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()

	free, err := NewLimiter(closed, "lm", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if err := free.Wait(ctx, 1e6); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Get(ctx, "lm"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unlimited Limiter wrote state: Get: %v", err)
	}
	limited, err := NewLimiter(closed, "lm", 600, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := limited.Wait(ctx, 1); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Errorf("a limited Limiter on a closed connection: got %v, want it to fail", err)
	}
}

func TestNewLimiter(t *testing.T) {
	url := embedded(t)
	s := openShared(t, url, "LIMITS", 1)
	for _, tc := range []struct {
		s        *Shared
		key      string
		rpm, tpm float64
		want     string
	}{
		{nil, "lm", 1, 1, "nil Shared"},
		{s, "", 1, 1, "key"},
		{s, "a..b", 1, 1, "key"},
		{s, "lm", -1, 0, "requestsPerMinute"},
		{s, "lm", math.NaN(), 0, "requestsPerMinute"},
		{s, "lm", 0, math.Inf(1), "tokensPerMinute"},
	} {
		if _, err := NewLimiter(tc.s, tc.key, tc.rpm, tc.tpm); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewLimiter(%q, %g, %g): %v, want an error naming %s", tc.key, tc.rpm, tc.tpm, err, tc.want)
		}
	}
	// A state that is not a Limiter's is reported, not overwritten.
	if _, err := s.Update(context.Background(), "bad", func([]byte, bool) ([]byte, error) { return []byte("{"), nil }); err != nil {
		t.Fatal(err)
	}
	l, err := NewLimiter(s, "bad", 60, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(context.Background(), 1); err == nil || !strings.Contains(err.Error(), "limiter bad") {
		t.Errorf("Wait on a bad state: %v, want an error naming the limiter", err)
	}
}

// A state whose time is ahead of this clock (written by a machine whose
// clock runs ahead) refills nothing and keeps its time, so that machine
// gains no allowance when it next reads the state; a state from long ago
// refills to the bucket's size and no more.
func TestLimiterClock(t *testing.T) {
	url := embedded(t)
	s := openShared(t, url, "LIMITS", 1)
	ctx := context.Background()
	l, err := NewLimiter(s, "lm", 600, 0) // 10 a second, a bucket of 10
	if err != nil {
		t.Fatal(err)
	}
	set := func(st limiterState) {
		t.Helper()
		if _, err := s.Update(ctx, "lm", func([]byte, bool) ([]byte, error) { return json.Marshal(st) }); err != nil {
			t.Fatal(err)
		}
	}
	get := func() limiterState {
		t.Helper()
		e, err := s.Get(ctx, "lm")
		if err != nil {
			t.Fatal(err)
		}
		var st limiterState
		if err := json.Unmarshal(e.Value, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}

	ahead := time.Now().Add(time.Second).Round(0)
	set(limiterState{Requests: 0, Time: ahead})
	start := time.Now()
	if err := l.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// One request owed at 10 a second: 0.1 s. Refilling by the negative
	// elapsed time would owe 11, 1.1 s.
	if d := time.Since(start); d < 80*time.Millisecond || d > 500*time.Millisecond {
		t.Errorf("a Wait on an empty bucket whose time is 1 s ahead took %v, want 0.1 s", d)
	}
	if st := get(); !st.Time.Equal(ahead) || st.Requests != -1 {
		t.Errorf("after the Wait the state is %+v, want %v requests at %v: its time must not go back", st, -1, ahead)
	}

	set(limiterState{Requests: -5, Time: time.Now().Add(-time.Minute)})
	if err := l.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if st := get(); st.Requests != 9 {
		t.Errorf("a minute's refill and a request left %g requests, want the bucket of 10 less 1", st.Requests)
	}
}
