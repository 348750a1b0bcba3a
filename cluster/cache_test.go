package cluster

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mabeam/mabeam/lm"
	"github.com/nats-io/nats.go"
)

// cacheFake is the coordinator's cache in the tests: it keeps the
// requests as well as the responses, can fail, can hold every call for a
// while, and counts the calls running at once.
type cacheFake struct {
	err     error         // returned by every call when set
	delay   time.Duration // every call's duration
	release chan struct{} // when set, calls wait for it to be closed
	entered chan struct{} // when set, receives a value as each call starts

	mu    sync.Mutex // protects resps and reqs
	resps map[string]lm.Response
	reqs  map[string]lm.Request

	gets, running, maxRunning atomic.Int64
}

func newCacheFake() *cacheFake {
	return &cacheFake{resps: map[string]lm.Response{}, reqs: map[string]lm.Request{}}
}

// stored returns what was put under key.
func (f *cacheFake) stored(key string) (lm.Request, lm.Response) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[key], f.resps[key]
}

func (f *cacheFake) call() {
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for m := f.maxRunning.Load(); n > m && !f.maxRunning.CompareAndSwap(m, n); m = f.maxRunning.Load() {
	}
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.release != nil {
		<-f.release
	}
	time.Sleep(f.delay)
}

func (f *cacheFake) Get(_ context.Context, key string) (lm.Response, bool, error) {
	f.gets.Add(1)
	f.call()
	if f.err != nil {
		return lm.Response{}, false, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.resps[key]
	return r, ok, nil
}

func (f *cacheFake) Put(_ context.Context, key string, req lm.Request, resp lm.Response) error {
	f.call()
	if f.err != nil {
		return f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resps[key], f.reqs[key] = resp, req
	return nil
}

// serveCache serves c on subject from a connection of its own, as the
// coordinator would.
func serveCache(t testing.TB, url, subject string, c lm.Cache) *CacheServer {
	t.Helper()
	s, err := ServeCache(t.Context(), connect(t, url), subject, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// fullRequest and fullResponse have every field set.
func fullRequest() lm.Request {
	return lm.Request{
		Model:       "sim-medium",
		Messages:    []lm.Message{{Role: lm.RoleSystem, Content: "be brief"}, {Role: lm.RoleUser, Content: "2+2? ünïcode \"quoted\"\n"}},
		Temperature: 0.7, MaxTokens: 256, Sample: 3,
	}
}

func fullResponse() lm.Response {
	return lm.Response{
		Text:  "4\u2028<b>&</b>",
		Usage: lm.Usage{PromptTokens: 17, CompletionTokens: 1},
		Cost:  0.1 + 0.2, Latency: 1234567891 * time.Nanosecond, Cached: true, Retries: 2,
	}
}

// checkAllSet fails if a field of v, at any depth, is zero: a field added
// to lm.Request or lm.Response must be set here to be checked.
func checkAllSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	if v.IsZero() {
		t.Fatalf("%s is zero: set it so the round trip checks it", path)
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			checkAllSet(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			checkAllSet(t, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	}
}

// A put carries the request and the response to the coordinator's cache,
// and a get brings the response back, every field intact.
func TestCacheRoundTrip(t *testing.T) {
	req, resp := fullRequest(), fullResponse()
	checkAllSet(t, "Request", reflect.ValueOf(req))
	checkAllSet(t, "Response", reflect.ValueOf(resp))
	url := embedded(t)
	fake := newCacheFake()
	serveCache(t, url, "run1.cache", fake)
	remote := NewRemoteCache(connect(t, url), "run1.cache", 0)

	ctx := t.Context()
	if err := remote.Put(ctx, "k1", req, resp); err != nil {
		t.Fatal(err)
	}
	gotReq, gotResp := fake.stored("k1")
	if !reflect.DeepEqual(gotReq, req) {
		t.Errorf("the coordinator stored the request\n%+v, want\n%+v", gotReq, req)
	}
	if got := gotResp; !reflect.DeepEqual(got, resp) {
		t.Errorf("the coordinator stored the response\n%+v, want\n%+v", got, resp)
	}
	got, ok, err := remote.Get(ctx, "k1")
	if err != nil || !ok {
		t.Fatalf("get: %v, %v", ok, err)
	}
	if !reflect.DeepEqual(got, resp) {
		t.Errorf("got\n%+v, want\n%+v", got, resp)
	}
	if st, want := remote.Stats(), (CacheStats{Hits: 1, Puts: 1}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

// A key the coordinator does not hold is a miss, counted as one.
func TestCacheMiss(t *testing.T) {
	url := embedded(t)
	mem := lm.NewMemoryCache()
	serveCache(t, url, "c", mem)
	remote := NewRemoteCache(connect(t, url), "c", 0)
	if err := mem.Put(t.Context(), "held", lm.Request{}, lm.Response{Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if r, ok, err := remote.Get(t.Context(), "other"); ok || err != nil || r != (lm.Response{}) {
		t.Fatalf("got %+v, %v, %v; want a miss", r, ok, err)
	}
	if st, want := remote.Stats(), (CacheStats{Misses: 1}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

// cacheModel is a worker's model: it counts its calls.
type cacheModel struct{ calls atomic.Int64 }

func (m *cacheModel) Identity() string { return "cache-test-model" }

func (m *cacheModel) Generate(_ context.Context, req lm.Request) (lm.Response, error) {
	m.calls.Add(1)
	return lm.Response{Text: "re: " + req.Messages[0].Content, Usage: lm.Usage{PromptTokens: 5, CompletionTokens: 2}, Cost: 0.5, Latency: time.Second}, nil
}

// Two workers share the coordinator's cache: the second asking what the
// first asked is answered from it, and the model is called once.
func TestCacheSharedByWorkers(t *testing.T) {
	url := embedded(t)
	mem := lm.NewMemoryCache()
	serveCache(t, url, "run.cache", mem)
	var models [2]cacheModel
	var remotes [2]*RemoteCache
	var workers [2]lm.Model
	for i := range workers {
		remotes[i] = NewRemoteCache(connect(t, url), "run.cache", 0)
		workers[i] = lm.Cached(&models[i], remotes[i])
	}
	req := lm.Request{Model: "m", Messages: []lm.Message{{Role: lm.RoleUser, Content: "hello"}}}
	first, err := workers[0].Generate(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := workers[1].Generate(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if c0, c1 := models[0].calls.Load(), models[1].calls.Load(); c0 != 1 || c1 != 0 {
		t.Fatalf("model calls %d and %d, want 1 and 0", c0, c1)
	}
	if first.Cached || !second.Cached || second.Text != first.Text || second.Usage != first.Usage || second.Cost != first.Cost {
		t.Errorf("first %+v, second %+v; want the second the first's, from the cache", first, second)
	}
	if mem.Len() != 1 {
		t.Errorf("the coordinator holds %d responses, want 1", mem.Len())
	}
	if st, want := remotes[0].Stats(), (CacheStats{Misses: 1, Puts: 1}); st != want {
		t.Errorf("first worker's stats %+v, want %+v", st, want)
	}
	if st, want := remotes[1].Stats(), (CacheStats{Hits: 1}); st != want {
		t.Errorf("second worker's stats %+v, want %+v", st, want)
	}
}

// With no coordinator serving the subject a get is a miss and a put
// returns nil, both counted as unreachable, and at once: no responders is
// known without waiting for the timeout.
func TestCacheNoCoordinator(t *testing.T) {
	url := embedded(t)
	remote := NewRemoteCache(connect(t, url), "nobody.home", 3*time.Second)
	start := time.Now()
	if _, ok, err := remote.Get(t.Context(), "k"); ok || err != nil {
		t.Fatalf("get: %v, %v; want a miss", ok, err)
	}
	if err := remote.Put(t.Context(), "k", fullRequest(), fullResponse()); err != nil {
		t.Fatalf("put: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a get and a put without a coordinator took %v, want well under the 3s timeout", d)
	}
	if st, want := remote.Stats(), (CacheStats{Unreachable: 2}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

// A coordinator that does not reply within the timeout is unreachable
// too; a caller that gives up first gets its context's error.
func TestCacheTimeout(t *testing.T) {
	url := embedded(t)
	nc := connect(t, url)
	for _, s := range []string{"slow.get", "slow.put"} {
		if _, err := nc.QueueSubscribe(s, cacheQueueGroup, func(*nats.Msg) {}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	remote := NewRemoteCache(connect(t, url), "slow", 100*time.Millisecond)
	start := time.Now()
	if _, ok, err := remote.Get(t.Context(), "k"); ok || err != nil {
		t.Fatalf("get: %v, %v; want a miss", ok, err)
	}
	if err := remote.Put(t.Context(), "k", lm.Request{}, lm.Response{}); err != nil {
		t.Fatalf("put: %v", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
		t.Errorf("a get and a put took %v, want two 100ms timeouts", d)
	}
	if st, want := remote.Stats(), (CacheStats{Unreachable: 2}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	patient := NewRemoteCache(connect(t, url), "slow", 10*time.Second)
	if _, _, err := patient.Get(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("get with the caller's deadline passed: %v, want context.DeadlineExceeded", err)
	}
	if err := patient.Put(ctx, "k", lm.Request{}, lm.Response{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("put with the caller's deadline passed: %v, want context.DeadlineExceeded", err)
	}
	if st := patient.Stats(); st != (CacheStats{}) {
		t.Errorf("stats %+v, want none counted", st)
	}
}

// The coordinator's cache failing is the worker's error, with its reason,
// and so is a request the coordinator cannot read.
func TestCacheServerError(t *testing.T) {
	url := embedded(t)
	fake := newCacheFake()
	fake.err = errors.New("store: disk I/O error")
	serveCache(t, url, "c", fake)
	remote := NewRemoteCache(connect(t, url), "c", 0)
	_, ok, err := remote.Get(t.Context(), "k")
	if ok || !errors.Is(err, ErrRemoteCache) || !strings.Contains(err.Error(), "disk I/O error") {
		t.Errorf("get: %v, %v; want ErrRemoteCache with the store's error", ok, err)
	}
	err = remote.Put(t.Context(), "k", lm.Request{}, lm.Response{})
	if !errors.Is(err, ErrRemoteCache) || !strings.Contains(err.Error(), "disk I/O error") {
		t.Errorf("put: %v; want ErrRemoteCache with the store's error", err)
	}
	if st := remote.Stats(); st != (CacheStats{}) {
		t.Errorf("stats %+v, want failures not counted as hits, misses or puts", st)
	}
	_, err = lm.Cached(&cacheModel{}, remote).Generate(t.Context(), lm.Request{Model: "m", Messages: []lm.Message{{Content: "q"}}})
	if !errors.Is(err, ErrRemoteCache) {
		t.Errorf("a cached model's call: %v, want ErrRemoteCache", err)
	}

	m, err := connect(t, url).Request("c.get", []byte("not json"), 5*time.Second)
	if err != nil || !strings.Contains(string(m.Data), `"error":"cluster: unreadable cache get`) {
		t.Errorf("an unreadable get: %v, %v; want an error reply", m, err)
	}
}

// Messages larger than the server's max payload are not lost in silence:
// a put too large is not sent, a stored response too large to send back
// is a miss, both counted; smaller ones still go through.
func TestCacheTooLarge(t *testing.T) {
	url := embedded(t)
	mem := lm.NewMemoryCache()
	serveCache(t, url, "c", mem)
	nc := connect(t, url)
	remote := NewRemoteCache(nc, "c", 0)
	big := lm.Response{Text: strings.Repeat("x", int(nc.MaxPayload())+1)}
	if err := mem.Put(t.Context(), "big", lm.Request{}, big); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := remote.Get(t.Context(), "big"); ok || err != nil {
		t.Errorf("get of a response larger than the max payload: %v, %v; want a miss", ok, err)
	}
	if err := remote.Put(t.Context(), "big2", lm.Request{}, big); err != nil {
		t.Errorf("put larger than the max payload: %v, want nil", err)
	}
	if mem.Len() != 1 {
		t.Errorf("the coordinator holds %d responses, want the put too large not stored", mem.Len())
	}
	if st, want := remote.Stats(), (CacheStats{TooLarge: 2}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if err := remote.Put(t.Context(), "small", lm.Request{}, fullResponse()); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := remote.Get(t.Context(), "small"); !ok || err != nil || got != fullResponse() {
		t.Errorf("after the large messages: %+v, %v, %v", got, ok, err)
	}
}

// 200 concurrent puts and then gets from four workers each get their own
// answer back; the coordinator answers them concurrently (the store's
// calls overlap), but never more than 64 at once.
func TestCacheConcurrent(t *testing.T) {
	const n = 200
	url := embedded(t)
	fake := newCacheFake()
	fake.delay = 20 * time.Millisecond
	serveCache(t, url, "c", fake)
	var remotes [4]*RemoteCache
	for i := range remotes {
		remotes[i] = NewRemoteCache(connect(t, url), "c", 0)
	}
	resp := func(i int) lm.Response { return lm.Response{Text: fmt.Sprint("answer ", i), Latency: time.Duration(i)} }
	run := func(f func(i int, r *RemoteCache) error) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if err := f(i, remotes[i%len(remotes)]); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	start := time.Now()
	run(func(i int, r *RemoteCache) error {
		return r.Put(t.Context(), fmt.Sprint("k", i), lm.Request{Sample: i}, resp(i))
	})
	run(func(i int, r *RemoteCache) error {
		got, ok, err := r.Get(t.Context(), fmt.Sprint("k", i))
		if err != nil || !ok || got != resp(i) {
			return fmt.Errorf("get %d: %+v, %v, %v", i, got, ok, err)
		}
		return nil
	})
	var total CacheStats
	for _, r := range remotes {
		st := r.Stats()
		total.Hits += st.Hits
		total.Puts += st.Puts
		total.Misses += st.Misses
		total.Unreachable += st.Unreachable
		total.TooLarge += st.TooLarge
	}
	if want := (CacheStats{Hits: n, Puts: n}); total != want {
		t.Errorf("stats %+v, want %+v", total, want)
	}
	if m := fake.maxRunning.Load(); m < 2 || m > cacheConcurrency {
		t.Errorf("at most %d store calls ran at once, want 2 to %d", m, cacheConcurrency)
	}
	t.Logf("%d puts and %d gets of 20ms each in %v, up to %d at once", n, n, time.Since(start), fake.maxRunning.Load())
}

// Two coordinators serving one subject answer each request once between
// them: the subscriptions are a queue group.
func TestCacheOneAnswerPerRequest(t *testing.T) {
	url := embedded(t)
	a, b := newCacheFake(), newCacheFake()
	sa, sb := serveCache(t, url, "c", a), serveCache(t, url, "c", b)
	remote := NewRemoteCache(connect(t, url), "c", 0)
	const n = 20
	for i := range n {
		if _, _, err := remote.Get(t.Context(), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // for any second answer to be made
	sa.Close()
	sb.Close()
	if got := a.gets.Load() + b.gets.Load(); got != n {
		t.Errorf("the coordinators' caches had %d gets (%d and %d), want %d", got, a.gets.Load(), b.gets.Load(), n)
	}
}

// Close answers the request in hand before it returns; afterwards the
// coordinator is gone.
func TestCacheClose(t *testing.T) {
	url := embedded(t)
	fake := newCacheFake()
	fake.release, fake.entered = make(chan struct{}), make(chan struct{}, 1)
	fake.resps["k"] = lm.Response{Text: "held"}
	s := serveCache(t, url, "c", fake)
	remote := NewRemoteCache(connect(t, url), "c", 0)

	got := make(chan string, 1)
	go func() {
		r, _, err := remote.Get(t.Context(), "k")
		got <- fmt.Sprint(r.Text, err)
	}()
	<-fake.entered
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned with a request in hand")
	case <-time.After(50 * time.Millisecond):
	}
	close(fake.release)
	<-closed
	if g := <-got; g != "held<nil>" {
		t.Errorf("the request in hand got %q, want held<nil>", g)
	}
	fake.entered = nil
	if _, ok, err := remote.Get(t.Context(), "k"); ok || err != nil || remote.Stats().Unreachable != 1 {
		t.Errorf("a get after Close: %v, %v, %+v; want unreachable", ok, err, remote.Stats())
	}
	s.Close() // again: no effect
}

// A context that ends stops the server as Close does.
func TestCacheServeContext(t *testing.T) {
	url := embedded(t)
	ctx, cancel := context.WithCancel(t.Context())
	if _, err := ServeCache(ctx, connect(t, url), "c", lm.NewMemoryCache()); err != nil {
		t.Fatal(err)
	}
	remote := NewRemoteCache(connect(t, url), "c", 0)
	if _, _, err := remote.Get(t.Context(), "k"); err != nil || remote.Stats().Misses != 1 {
		t.Fatalf("before the end: %v, %+v", err, remote.Stats())
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for remote.Stats().Unreachable == 0 && time.Now().Before(deadline) {
		remote.Get(t.Context(), "k")
		time.Sleep(10 * time.Millisecond)
	}
	if remote.Stats().Unreachable == 0 {
		t.Error("the server still answers after its context ended")
	}
}

// Subjects with wildcards or white space, and a nil cache, are refused.
func TestCacheBadInput(t *testing.T) {
	url := embedded(t)
	nc := connect(t, url)
	for _, s := range []string{"", "a.*", "a.>", "a..b", "a b", "a."} {
		if _, err := ServeCache(t.Context(), nc, s, lm.NewMemoryCache()); err == nil {
			t.Errorf("ServeCache(%q) served", s)
		}
		if _, _, err := NewRemoteCache(nc, s, 0).Get(t.Context(), "k"); err == nil {
			t.Errorf("RemoteCache(%q).Get: no error", s)
		}
	}
	if _, err := ServeCache(t.Context(), nc, "c", nil); err == nil {
		t.Error("ServeCache served a nil cache")
	}
}
