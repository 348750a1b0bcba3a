package openai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mabeam/mabeam/internal/openaitest"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/openai"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

const key = "sk-test-0123456789abcdef"

// echo answers with what it was asked, so a test can see what crossed the
// wire.
var echo = lm.ModelFunc(func(ctx context.Context, r lm.Request) (lm.Response, error) {
	text := fmt.Sprintf("model=%s temperature=%g max_tokens=%d sample=%d\nAnswer: 42\nConfidence: 0.90",
		r.Model, r.Temperature, r.MaxTokens, r.Sample)
	return lm.Response{Text: text, Usage: lm.Usage{PromptTokens: 100, CompletionTokens: lm.EstimateTokens(text)}}, nil
})

func echoText(model string, temperature float64, maxTokens, sample int) string {
	r, _ := echo(context.Background(), lm.Request{Model: model, Temperature: temperature, MaxTokens: maxTokens, Sample: sample})
	return r.Text
}

func ask(model string) lm.Request {
	return lm.Request{Model: model, Messages: []lm.Message{{Role: lm.RoleSystem, Content: "You solve."}, {Role: lm.RoleUser, Content: "What is 6*7?"}}}
}

// server starts a test server, closed with the test.
func server(t testing.TB, opts openaitest.Options) *openaitest.Server {
	t.Helper()
	if opts.Backend == nil {
		opts.Backend = echo
	}
	s := openaitest.New(opts)
	t.Cleanup(s.Close)
	return s
}

// client returns a client of url with fast retries, changed by set.
func client(t testing.TB, url string, set func(*openai.Options)) *openai.Client {
	t.Helper()
	o := openai.Options{BaseURL: url, APIKey: key, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Timeout: 5 * time.Second}
	if set != nil {
		set(&o)
	}
	c, err := openai.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// noKey fails if the key shows in s.
func noKey(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(s, key) || strings.Contains(s, "wrong-key-42") {
		t.Errorf("a key shows in %q", s)
	}
}

func TestGenerate(t *testing.T) {
	srv := server(t, openaitest.Options{Key: key, Models: []string{"srv-small"}, Latency: 30 * time.Millisecond})
	c := client(t, srv.URL(), func(o *openai.Options) {
		o.Models = map[string]string{"team-small": "srv-small"}
		o.Prices = map[string]lm.Price{"srv-small": {Prompt: 1.5, Completion: 4}}
	})
	req := ask("team-small")
	req.MaxTokens = 50
	resp, err := c.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := echoText("srv-small", 0, 50, 0)
	if resp.Text != want {
		t.Errorf("text %q, want %q", resp.Text, want)
	}
	if u := (lm.Usage{PromptTokens: 100, CompletionTokens: lm.EstimateTokens(want)}); resp.Usage != u {
		t.Errorf("usage %+v, want %+v", resp.Usage, u)
	}
	if cost := (100*1.5 + float64(resp.Usage.CompletionTokens)*4) / 1e6; resp.Cost != cost {
		t.Errorf("cost %g, want %g", resp.Cost, cost)
	}
	if resp.Latency < 30*time.Millisecond || resp.Latency > 2*time.Second || resp.Retries != 0 || resp.Cached {
		t.Errorf("latency %v retries %d cached %v", resp.Latency, resp.Retries, resp.Cached)
	}
	// Temperature 0.7 and the sample arrive as sent.
	req.Temperature, req.Sample = 0.7, 4
	if resp, err := c.Generate(context.Background(), req); err != nil || resp.Text != echoText("srv-small", 0.7, 50, 4) {
		t.Errorf("temperature 0.7 sample 4: %q %v", resp.Text, err)
	}
	if s := c.Stats(); s.Calls != 2 || s.Requests != 2 || s.Retries != 0 || s.Failed != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestModelMapping(t *testing.T) {
	srv := server(t, openaitest.Options{Models: []string{"srv-a", "srv-b"}})
	c := client(t, srv.URL(), func(o *openai.Options) { o.Models = map[string]string{"team-a": "srv-a"} })
	ctx := context.Background()
	for team, srvModel := range map[string]string{"team-a": "srv-a", "srv-b": "srv-b"} {
		resp, err := c.Generate(ctx, ask(team))
		if err != nil || resp.Text != echoText(srvModel, 0, 0, 0) {
			t.Errorf("%s: %q %v", team, resp.Text, err)
		}
	}
	before := srv.Requests()
	_, err := c.Generate(ctx, ask("team-x"))
	var le *lm.Error
	if !errors.Is(err, lm.ErrUnknownModel) || !errors.As(err, &le) || le.Model != "team-x" ||
		!strings.Contains(err.Error(), "the server at "+srv.URL()+" has no model team-x (team name team-x); check lm.models, or lm.base_url if no model is found") {
		t.Errorf("unknown model: %v", err)
	}
	if n := srv.Requests() - before; n != 1 {
		t.Errorf("unknown model sent %d requests, want 1", n)
	}
	noKey(t, err.Error())
}

func TestAuth(t *testing.T) {
	srv := server(t, openaitest.Options{Key: key})
	ctx := context.Background()
	if _, err := client(t, srv.URL(), nil).Generate(ctx, ask("m")); err != nil {
		t.Fatalf("right key: %v", err)
	}
	for _, k := range []string{"wrong-key-42", ""} {
		c := client(t, srv.URL(), func(o *openai.Options) { o.APIKey = k })
		before := srv.Requests()
		_, err := c.Generate(ctx, ask("m"))
		if !errors.Is(err, lm.ErrAuth) || lm.Retryable(err) ||
			!strings.Contains(err.Error(), "the server at "+srv.URL()+" refused the API key; check the environment variable named by lm.api_key_env") {
			t.Errorf("key %q: %v", k, err)
		}
		if n := srv.Requests() - before; n != 1 {
			t.Errorf("key %q: %d requests, want 1", k, n)
		}
		if err != nil {
			noKey(t, err.Error()) // the server echoes the key it got
		}
	}
	if c := srv.Counts(); c.Unauthorized != 2 || c.OK != 1 {
		t.Errorf("counts %+v", c)
	}

	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error": {"message": "project has no access", "type": "invalid_request_error"}}`, http.StatusForbidden)
	}))
	defer forbidden.Close()
	if _, err := client(t, forbidden.URL+"/v1", nil).Generate(ctx, ask("m")); !errors.Is(err, lm.ErrAuth) || !strings.Contains(err.Error(), "project has no access") {
		t.Errorf("403: %v", err)
	}
}

func TestBadRequest(t *testing.T) {
	srv := server(t, openaitest.Options{Backend: lm.ModelFunc(func(ctx context.Context, r lm.Request) (lm.Response, error) {
		return lm.Response{}, &lm.Error{Kind: lm.ErrBadRequest, Model: r.Model, Err: errors.New("prompt longer than the context window")}
	})})
	c := client(t, srv.URL(), nil)
	_, err := c.Generate(context.Background(), ask("m"))
	if !errors.Is(err, lm.ErrBadRequest) || lm.Retryable(err) || !strings.Contains(err.Error(), "prompt longer than the context window") {
		t.Errorf("400: %v", err)
	}
	if srv.Requests() != 1 || c.Stats().Failed != 1 {
		t.Errorf("400: %d requests, stats %+v", srv.Requests(), c.Stats())
	}
	// An invalid request fails before sending.
	bad := ask("m")
	bad.Temperature = 3
	if _, err := c.Generate(context.Background(), bad); !errors.Is(err, lm.ErrBadRequest) || srv.Requests() != 1 {
		t.Errorf("temperature 3: %v, %d requests", err, srv.Requests())
	}
}

func TestKeyNeverShown(t *testing.T) {
	opts := openai.Options{BaseURL: "http://127.0.0.1:1/v1/", APIKey: key}
	c, err := openai.New(&opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(opts), fmt.Sprintf("%+v", opts), fmt.Sprintf("%#v", opts), fmt.Sprintf("%v", &opts), c.String(), c.Identity(), fmt.Sprint(c)} {
		noKey(t, s)
	}
	if !strings.Contains(fmt.Sprint(opts), "[redacted]") {
		t.Errorf("options show no redacted key: %v", opts)
	}
	// Nothing listens on port 1: a network error, retried, then given up.
	c2 := client(t, "http://127.0.0.1:1/v1", func(o *openai.Options) { o.MaxRetries = 1 })
	_, err = c2.Generate(context.Background(), ask("m"))
	if !errors.Is(err, lm.ErrServer) || !strings.Contains(err.Error(), "gave up after 2 attempts") {
		t.Errorf("no server: %v", err)
	}
	noKey(t, err.Error())
}

func TestNewOptions(t *testing.T) {
	for _, tc := range []struct {
		opts  openai.Options
		field string
	}{
		{openai.Options{}, "BaseURL"},
		{openai.Options{BaseURL: "ftp://h/v1"}, "BaseURL"},
		{openai.Options{BaseURL: "http:///v1"}, "BaseURL"},
		{openai.Options{BaseURL: "http://h/v1", Concurrency: -1}, "Concurrency"},
		{openai.Options{BaseURL: "http://h/v1", RequestsPerMinute: -1}, "RequestsPerMinute"},
		{openai.Options{BaseURL: "http://h/v1", TokensPerMinute: -1}, "TokensPerMinute"},
		{openai.Options{BaseURL: "http://h/v1", Timeout: -1}, "Timeout"},
		{openai.Options{BaseURL: "http://h/v1", MinBackoff: time.Minute}, "MinBackoff"},
		{openai.Options{BaseURL: "http://h/v1", Models: map[string]string{"a": ""}}, "Models"},
		{openai.Options{BaseURL: "http://h/v1", Prices: map[string]lm.Price{"m": {Prompt: -1}}}, "Prices"},
	} {
		if _, err := openai.New(&tc.opts); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: error %v does not name %s", tc.opts, err, tc.field)
		}
	}
	if _, err := openai.New(nil); err == nil {
		t.Error("nil options accepted")
	}

	id := func(url string, models map[string]string) string {
		c, err := openai.New(&openai.Options{BaseURL: url, Models: models})
		if err != nil {
			t.Fatal(err)
		}
		return c.Identity()
	}
	a := id("http://h:8000/v1/", map[string]string{"x": "1", "y": "2"})
	if !strings.HasPrefix(a, "openai base=http://h:8000/v1 models=") {
		t.Errorf("identity %q", a)
	}
	if b := id("http://h:8000/v1", map[string]string{"y": "2", "x": "1"}); b != a {
		t.Errorf("same mapping, identities %q and %q", a, b)
	}
	if b := id("http://h:8000/v1", map[string]string{"x": "2", "y": "1"}); b == a {
		t.Errorf("another mapping, same identity %q", a)
	}
}

func TestSamples(t *testing.T) {
	srv := server(t, openaitest.Options{})
	c := client(t, srv.URL(), nil)
	req := ask("m")
	req.Temperature, req.Sample = 0.7, 3
	rs, err := c.GenerateSamples(context.Background(), req, 4)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Requests() != 1 {
		t.Errorf("4 samples in %d requests, want 1", srv.Requests())
	}
	var sum lm.Usage
	for i, r := range rs {
		if want := echoText("m", 0.7, 0, 3+i); r.Text != want {
			t.Errorf("sample %d: %q, want %q", i, r.Text, want)
		}
		sum = sum.Add(r.Usage)
		if i > 0 && r.Usage.PromptTokens != 0 {
			t.Errorf("sample %d has prompt tokens %d", i, r.Usage.PromptTokens)
		}
	}
	// The server's usage: prompt of the first choice, completions summed.
	if want := (lm.Usage{PromptTokens: 100, CompletionTokens: 4 * lm.EstimateTokens(rs[0].Text)}); sum != want {
		t.Errorf("usage sum %+v, want %+v", sum, want)
	}
	if _, err := c.GenerateSamples(context.Background(), req, 0); !errors.Is(err, lm.ErrBadRequest) {
		t.Errorf("0 samples: %v", err)
	}
}

// recordN is a transport that records the n of every request.
type recordN struct {
	mu sync.Mutex // protects ns
	ns []int
}

func (rt *recordN) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var req struct{ N int }
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	rt.mu.Lock()
	rt.ns = append(rt.ns, req.N)
	rt.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	return http.DefaultTransport.RoundTrip(r)
}

func TestSamplesServerIgnoresN(t *testing.T) {
	srv := server(t, openaitest.Options{NoN: true})
	rt := &recordN{}
	c := client(t, srv.URL(), func(o *openai.Options) { o.HTTPClient = &http.Client{Transport: rt} })
	req := ask("m")
	req.Temperature, req.Sample = 1, 10
	// First one request for 3 that brings 1, then 2 more; the next call
	// knows and asks for one each.
	for call, want := range []string{"[0 0 3]", "[0 0 0 0 0 3]"} {
		rs, err := c.GenerateSamples(context.Background(), req, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			if want := echoText("m", 1, 0, 10+i); r.Text != want {
				t.Errorf("call %d sample %d: %q, want %q", call, i, r.Text, want)
			}
		}
		rt.mu.Lock()
		ns := slices.Sorted(slices.Values(rt.ns))
		rt.mu.Unlock()
		if got := fmt.Sprint(ns); got != want {
			t.Errorf("after call %d: requests with n %s, want %s (0: no n)", call, got, want)
		}
	}
}

func TestFaultsRetried(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  openaitest.Options
		count func(openaitest.Counts) int64
		stat  func(openai.Stats) int64
	}{
		{"429", openaitest.Options{Rate429: 0.3}, func(c openaitest.Counts) int64 { return c.RateLimited }, func(s openai.Stats) int64 { return s.RateLimited }},
		{"500", openaitest.Options{Rate500: 0.3}, func(c openaitest.Counts) int64 { return c.ServerErrors }, func(s openai.Stats) int64 { return s.ServerErrors }},
		{"malformed", openaitest.Options{RateMalformed: 0.3}, func(c openaitest.Counts) int64 { return c.Malformed }, func(s openai.Stats) int64 { return s.Unreadable }},
		{"truncated", openaitest.Options{RateTruncated: 0.3}, func(c openaitest.Counts) int64 { return c.Truncated }, func(s openai.Stats) int64 { return s.Unreadable }},
		{"slow", openaitest.Options{RateSlow: 0.3, SlowFor: 5 * time.Second}, func(c openaitest.Counts) int64 { return c.Slow }, func(s openai.Stats) int64 { return s.Timeouts }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Seed = 1
			srv := server(t, tc.opts)
			c := client(t, srv.URL(), func(o *openai.Options) { o.Timeout = 100 * time.Millisecond })
			retries := 0
			for i := range 20 {
				req := ask("m")
				req.Temperature, req.Sample = 0.5, i
				resp, err := c.Generate(context.Background(), req)
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if want := echoText("m", 0.5, 0, i); resp.Text != want {
					t.Errorf("call %d: %q, want %q", i, resp.Text, want)
				}
				retries += resp.Retries
			}
			faults := tc.count(srv.Counts())
			if faults == 0 || int64(retries) != faults || c.Stats().Retries != faults || tc.stat(c.Stats()) != faults {
				t.Errorf("%d faults, %d retries counted, stats %+v", faults, retries, c.Stats())
			}
			if srv.Counts().OK != 20 {
				t.Errorf("counts %+v", srv.Counts())
			}
		})
	}
}

func TestNoChoicesNoUsage(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if first {
			fmt.Fprint(w, `{"id": "x", "object": "chat.completion", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5}}`)
			return
		}
		fmt.Fprint(w, `{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Answer: 42"}, "finish_reason": "stop"}]}`)
	}))
	defer srv.Close()
	c := client(t, srv.URL+"/v1", nil)
	req := ask("m")
	resp, err := c.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	prompt := lm.EstimateTokens(req.Messages[0].Content + req.Messages[1].Content)
	if resp.Retries != 1 || c.Stats().Unreadable != 1 || resp.Usage != (lm.Usage{PromptTokens: prompt, CompletionTokens: lm.EstimateTokens("Answer: 42")}) {
		t.Errorf("resp %+v, stats %+v", resp, c.Stats())
	}
}

func TestGiveUp(t *testing.T) {
	srv := server(t, openaitest.Options{Rate500: 1})
	c := client(t, srv.URL(), func(o *openai.Options) { o.MaxRetries = 2 })
	_, err := c.Generate(context.Background(), ask("m"))
	if !errors.Is(err, lm.ErrServer) || !strings.Contains(err.Error(), "gave up after 3 attempts; the last: the server at "+srv.URL()+" failed (HTTP 500)") {
		t.Errorf("err %v", err)
	}
	if srv.Requests() != 3 || c.Stats().Failed != 1 || c.Stats().Retries != 2 {
		t.Errorf("%d requests, stats %+v", srv.Requests(), c.Stats())
	}
}

func TestRetryAfter(t *testing.T) {
	const after = 200 * time.Millisecond
	srv := server(t, openaitest.Options{Rate429: 0.5, RetryAfter: after, Seed: 2})
	c := client(t, srv.URL(), nil) // backoff 1-5 ms: only Retry-After makes it wait
	found := false
	for i := 0; i < 20 && !found; i++ {
		start := time.Now()
		resp, err := c.Generate(context.Background(), ask("m"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Retries == 0 {
			continue
		}
		found = true
		wall := time.Since(start)
		lo := time.Duration(resp.Retries) * after
		if wall < lo || resp.Latency < lo || resp.Latency > time.Duration(resp.Retries)*900*time.Millisecond {
			t.Errorf("%d retries after %v each took %v (latency %v)", resp.Retries, after, wall, resp.Latency)
		}
	}
	if !found {
		t.Fatal("no call was rate limited")
	}

	// The hint is on the error.
	always := server(t, openaitest.Options{Rate429: 1, RetryAfter: after})
	_, err := client(t, always.URL(), func(o *openai.Options) { o.MaxRetries = -1 }).Generate(context.Background(), ask("m"))
	var le *lm.Error
	if !errors.As(err, &le) || le.Kind != lm.ErrRateLimited || le.RetryAfter != after || always.Requests() != 1 {
		t.Errorf("err %v (%+v), %d requests", err, le, always.Requests())
	}
}

func TestCancel(t *testing.T) {
	t.Run("in flight", func(t *testing.T) {
		srv := server(t, openaitest.Options{Latency: 10 * time.Second})
		c := client(t, srv.URL(), nil)
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error, 8)
		for range 8 {
			go func() { _, err := c.Generate(ctx, ask("m")); errs <- err }()
		}
		for srv.Requests() < 8 {
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		cancel()
		for range 8 {
			if err := <-errs; !errors.Is(err, context.Canceled) || errors.Is(err, lm.ErrTimeout) {
				t.Errorf("err %v", err)
			}
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("cancelled calls took %v to return", d)
		}
		if srv.Requests() != 8 || c.Stats().Retries != 0 {
			t.Errorf("%d requests, stats %+v", srv.Requests(), c.Stats())
		}
	})
	t.Run("deadline in flight", func(t *testing.T) {
		srv := server(t, openaitest.Options{Latency: 10 * time.Second})
		c := client(t, srv.URL(), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Generate(ctx, ask("m"))
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, lm.ErrTimeout) {
			t.Errorf("err %v", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond || srv.Requests() != 1 {
			t.Errorf("returned after %v and %d requests", d, srv.Requests())
		}
	})
	t.Run("in backoff", func(t *testing.T) {
		srv := server(t, openaitest.Options{Rate429: 1, RetryAfter: 10 * time.Second})
		c := client(t, srv.URL(), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Generate(ctx, ask("m"))
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, lm.ErrTimeout) {
			t.Errorf("err %v", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond || srv.Requests() != 1 {
			t.Errorf("returned after %v and %d requests", d, srv.Requests())
		}
	})
}

func TestConcurrencyLimit(t *testing.T) {
	for name, hc := range map[string]*http.Client{
		"default client":   nil,
		"unlimited client": {Transport: &http.Transport{MaxIdleConnsPerHost: 100}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := server(t, openaitest.Options{Latency: 20 * time.Millisecond})
			c := client(t, srv.URL(), func(o *openai.Options) { o.Concurrency, o.HTTPClient = 4, hc })
			var wg sync.WaitGroup
			for range 40 {
				wg.Go(func() {
					if _, err := c.Generate(context.Background(), ask("m")); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if m := srv.MaxInFlight(); m != 4 {
				t.Errorf("%d requests in flight at most, want 4", m)
			}
		})
	}
}

// TestConnectionsReused: the default client keeps a connection per
// request in flight, where the standard one keeps two and opens the rest
// anew for every round.
func TestConnectionsReused(t *testing.T) {
	for name, tc := range map[string]struct {
		hc       *http.Client
		min, max int64
	}{
		"default client":  {nil, 1, 16},
		"standard client": {&http.Client{Transport: &http.Transport{}}, 40, 1000},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := server(t, openaitest.Options{Latency: 5 * time.Millisecond})
			c := client(t, srv.URL(), func(o *openai.Options) { o.Concurrency, o.HTTPClient = 16, tc.hc })
			for range 5 {
				var wg sync.WaitGroup
				for range 16 {
					wg.Go(func() {
						if _, err := c.Generate(context.Background(), ask("m")); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
			}
			if n := srv.Conns(); n < tc.min || n > tc.max {
				t.Errorf("80 requests, 16 at a time, opened %d connections, want %d to %d", n, tc.min, tc.max)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*openai.Options)
	}{
		// 50 a second, a bucket of 50: 75 requests take 0.5 s.
		{"requests", func(o *openai.Options) { o.RequestsPerMinute = 3000 }},
		// Each request reserves 1 prompt token + 99 max tokens: 75 take
		// 7,500 tokens at 5,000 a second from a bucket of 5,000: 0.5 s.
		{"tokens", func(o *openai.Options) { o.TokensPerMinute = 300000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := server(t, openaitest.Options{})
			c := client(t, srv.URL(), func(o *openai.Options) { o.Concurrency = 75; tc.set(o) })
			req := lm.Request{Model: "m", Messages: []lm.Message{{Role: lm.RoleUser, Content: "q"}}, MaxTokens: 99}
			start := time.Now()
			var wg sync.WaitGroup
			for range 75 {
				wg.Go(func() {
					if _, err := c.Generate(context.Background(), req); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if d := time.Since(start); d < 450*time.Millisecond || d > 3*time.Second {
				t.Errorf("75 requests took %v, want about 0.5 s", d)
			}
		})
	}
}

// TestSimIdentical: a server backed by sim answers what sim does, at
// temperature 0 and at 0.7 with a sample index, one call or n at once.
func TestSimIdentical(t *testing.T) {
	backend := sim.New(&sim.Options{Seed: 3})
	srv := server(t, openaitest.Options{Backend: sim.New(&sim.Options{Seed: 3})})
	c := client(t, srv.URL(), func(o *openai.Options) { o.Models = map[string]string{"team-medium": "sim-medium"} })
	ctx := context.Background()
	generate := func(m lm.Model, req lm.Request) lm.Response {
		t.Helper()
		r, err := m.Generate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	greedyDiffers, sampleDiffers := false, false
	for _, q := range []string{
		"Mara has 12 apples. She buys 5 more apples. She gives 3 apples to Leo. How many apples does Mara have now?",
		"A train travels 60 km in 1.5 hours. What is its average speed in km per hour?",
		"What is 17 * 23?",
	} {
		p := prompt.Prompt{Agent: "a1", Role: "solver", Instruction: sim.ReferenceInstruction, Question: q}
		direct := lm.Request{Model: "sim-medium", Messages: prompt.Render(&p)}
		viaServer := direct
		viaServer.Model = "team-medium"

		want := generate(backend, direct)
		if got := generate(c, viaServer); got.Text != want.Text || got.Usage != want.Usage {
			t.Errorf("temperature 0: %q %+v, sim %q %+v", got.Text, got.Usage, want.Text, want.Usage)
		}
		hot := direct
		hot.Temperature = 1
		greedyDiffers = greedyDiffers || generate(backend, hot).Text != want.Text

		direct.Temperature, viaServer.Temperature = 0.7, 0.7
		direct.Sample, viaServer.Sample = 5, 5
		want = generate(backend, direct)
		if got := generate(c, viaServer); got.Text != want.Text || got.Usage != want.Usage {
			t.Errorf("sample 5: %q, sim %q", got.Text, want.Text)
		}
		direct.Sample = 0
		sampleDiffers = sampleDiffers || generate(backend, direct).Text != want.Text

		viaServer.Sample = 2
		rs, err := c.GenerateSamples(ctx, viaServer, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			direct.Sample = 2 + i
			if w := generate(backend, direct).Text; r.Text != w {
				t.Errorf("sample %d of 3: %q, sim %q", 2+i, r.Text, w)
			}
		}
	}
	// Otherwise the test could not tell a lost temperature or seed.
	if !greedyDiffers || !sampleDiffers {
		t.Errorf("sim gives the same text at temperature 0 and 1 (%v) or for samples 0 and 5 (%v)", !greedyDiffers, !sampleDiffers)
	}
}
