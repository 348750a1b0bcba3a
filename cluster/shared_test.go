package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mabeam/mabeam/coordination"
	"github.com/nats-io/nats.go/jetstream"
)

// embedded starts a single JetStream server for a test and returns its
// client URL.
func embedded(t testing.TB) string {
	t.Helper()
	s, err := StartEmbedded(EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

// openShared opens bucket on its own connection to url, as another
// process would.
func openShared(t testing.TB, url, bucket string, replicas int) *Shared {
	t.Helper()
	nc, err := Connect(url, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := OpenShared(ctx, js, bucket, replicas)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// increment adds 1 to a decimal counter.
func increment(old []byte, exists bool) ([]byte, error) {
	n := 0
	if exists {
		var err error
		if n, err = strconv.Atoi(string(old)); err != nil {
			return nil, err
		}
	}
	return []byte(strconv.Itoa(n + 1)), nil
}

func counter(t testing.TB, s *Shared, key string) int {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(string(e.Value))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Eight updaters on their own connections, 50 increments each, lose no
// update: the counter ends at exactly 400, though many writes were
// refused for a stale revision and redone.
func TestUpdateConcurrent(t *testing.T) {
	url := embedded(t)
	const workers, each = 8, 50
	var calls atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		s := openShared(t, url, "counters", 1)
		wg.Go(func() {
			for range each {
				_, err := s.Update(t.Context(), "n", func(old []byte, exists bool) ([]byte, error) {
					calls.Add(1)
					return increment(old, exists)
				})
				if err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s := openShared(t, url, "counters", 1)
	if n := counter(t, s, "n"); n != workers*each {
		t.Errorf("counter = %d after %d increments", n, workers*each)
	}
	t.Logf("%d calls of the update function for %d increments", calls.Load(), workers*each)
	if calls.Load() == workers*each {
		t.Log("no conflicting writes happened: the test did not exercise the retry")
	}
}

// A write whose request or acknowledgement is lost is sent again under
// the same message id and stored once: with a sixth of the requests and
// a sixth of the acknowledgements lost, 4 updaters × 25 increments still
// end at exactly 100. (Believing the conflict a resent write meets would
// increment twice; giving up would increment too few times.)
func TestUpdateLostMessages(t *testing.T) {
	testLostMessages(t, embedded(t), 1)
}

func testLostMessages(t *testing.T, url string, replicas int) {
	const workers, each = 4, 25
	var lost [3]atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		s := openShared(t, url, "lossy", replicas)
		rng := rand.New(rand.NewPCG(uint64(w), 1))
		s.fault = func() fault {
			f := noFault
			switch rng.IntN(6) {
			case 0:
				f = lostRequest
			case 1:
				f = lostAck
			}
			lost[f].Add(1)
			return f
		}
		wg.Go(func() {
			for range each {
				if _, err := s.Update(t.Context(), "n", increment); err != nil {
					t.Errorf("updater %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := counter(t, openShared(t, url, "lossy", replicas), "n"); n != workers*each {
		t.Errorf("counter = %d after %d increments", n, workers*each)
	}
	t.Logf("%d writes sent, %d requests lost, %d acknowledgements lost", lost[noFault].Load(), lost[lostRequest].Load(), lost[lostAck].Load())
}

func TestUpdateRevisionsAndErrors(t *testing.T) {
	s := openShared(t, embedded(t), "b", 1)
	ctx := t.Context()
	if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
	}
	e1, err := s.Update(ctx, "k", func(old []byte, exists bool) ([]byte, error) {
		if exists || old != nil {
			t.Errorf("a new key: exists %v, old %q", exists, old)
		}
		return []byte("a"), nil
	})
	if err != nil || string(e1.Value) != "a" || e1.Revision == 0 {
		t.Fatalf("first update: %+v, %v", e1, err)
	}
	e2, err := s.Update(ctx, "k", func(old []byte, exists bool) ([]byte, error) {
		if !exists || string(old) != "a" {
			t.Errorf("second update saw %q, %v", old, exists)
		}
		return append(old, 'b'), nil
	})
	if err != nil || string(e2.Value) != "ab" || e2.Revision <= e1.Revision {
		t.Fatalf("second update: %+v after %+v, %v", e2, e1, err)
	}
	if g, err := s.Get(ctx, "k"); err != nil || !reflect.DeepEqual(g, e2) {
		t.Errorf("Get = %+v, %v; want %+v", g, err, e2)
	}
	// SkipUpdate leaves the value and revision; another error is returned as it is.
	e3, err := s.Update(ctx, "k", func([]byte, bool) ([]byte, error) { return nil, SkipUpdate })
	if err != nil || !reflect.DeepEqual(e3, e2) {
		t.Errorf("skipped update: %+v, %v; want %+v", e3, err, e2)
	}
	boom := errors.New("boom")
	if _, err := s.Update(ctx, "k", func([]byte, bool) ([]byte, error) { return nil, boom }); err != boom {
		t.Errorf("failing update: %v, want boom", err)
	}
	if g, _ := s.Get(ctx, "k"); g.Revision != e2.Revision {
		t.Errorf("a skipped or failed update wrote: revision %d, want %d", g.Revision, e2.Revision)
	}
	if _, err := s.Get(ctx, "bad key"); err == nil {
		t.Error("a key with a space was accepted")
	}
	if _, err := OpenShared(ctx, s.js, "bad.bucket", 1); err == nil {
		t.Error("a bucket name with a dot was accepted")
	}
}

// A watcher sees the current value, then every new one in order, and its
// channel closes when its context ends.
func TestWatch(t *testing.T) {
	url := embedded(t)
	s := openShared(t, url, "b", 1)
	writer := openShared(t, url, "b", 1)
	if _, err := s.Update(t.Context(), "w", increment); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Watch(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	done := make(chan struct{})
	defer func() { <-done }()
	go func() {
		defer close(done)
		for range n {
			if _, err := writer.Update(t.Context(), "w", increment); err != nil {
				t.Error(err)
				return
			}
			if _, err := writer.Update(t.Context(), "other", increment); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for want := 1; want <= n+1; want++ {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed before value %d", want)
			}
			if e.Key != "w" || string(e.Value) != strconv.Itoa(want) {
				t.Fatalf("watched %s=%q, want w=%d", e.Key, e.Value, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("value %d not delivered within 5s", want)
		}
	}
	cancel()
	select {
	case e, ok := <-ch:
		if ok {
			t.Fatalf("after cancel: %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the channel stayed open after the context ended")
	}
}

// Concurrent spenders never take the budget below zero: with 100 calls
// and 10.0 to spend at 0.25 a call, exactly 40 spends succeed, however
// many try, and the refused ones take nothing.
func TestSpendConcurrent(t *testing.T) {
	url := embedded(t)
	first := openShared(t, url, "budget", 1)
	ctx := t.Context()
	if _, _, err := first.Spend(ctx, "run", 1, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("spending from no budget: %v, want ErrNotFound", err)
	}
	b, err := first.InitBudget(ctx, "run", Budget{Calls: 100, Cost: 10})
	if err != nil || b != (Budget{Calls: 100, Cost: 10}) {
		t.Fatalf("InitBudget: %+v, %v", b, err)
	}
	if b, err := first.InitBudget(ctx, "run", Budget{Calls: 5}); err != nil || b != (Budget{Calls: 100, Cost: 10}) {
		t.Fatalf("a second InitBudget: %+v, %v; want the first budget kept", b, err)
	}
	const workers = 8
	var spent atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		s := openShared(t, url, "budget", 1)
		wg.Go(func() {
			for {
				rem, ok, err := s.Spend(ctx, "run", 1, 0.25)
				if err != nil {
					t.Error(err)
					return
				}
				if rem.Calls < 0 || rem.Cost < 0 {
					t.Errorf("remaining %+v is below zero", rem)
				}
				if !ok {
					return
				}
				spent.Add(1)
			}
		})
	}
	wg.Wait()
	if spent.Load() != 40 {
		t.Errorf("%d spends succeeded, want 40", spent.Load())
	}
	rem, ok, err := first.Spend(ctx, "run", 0, 0.25)
	if err != nil || ok || rem != (Budget{Calls: 60, Cost: 0}) {
		t.Errorf("after the run: %+v ok=%v err=%v; want {60 0} refused", rem, ok, err)
	}
	// A dimension with a negative budget is not limited.
	if _, err := first.InitBudget(ctx, "calls-only", Budget{Calls: 2, Cost: -1}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false} {
		rem, ok, err := first.Spend(ctx, "calls-only", 1, 1e6)
		if err != nil || ok != want || rem.Cost != -1 {
			t.Errorf("spend %d: %+v ok=%v err=%v; want ok=%v and the cost unlimited", i, rem, ok, err, want)
		}
	}
	if _, _, err := first.Spend(ctx, "run", -1, 0); err == nil {
		t.Error("a negative spend was accepted")
	}
}

// The best-so-far does not depend on the order offers arrive in: the best
// value wins, ties going to the lower trial, whether the offers come in
// order, reversed, shuffled, or all at once from several processes.
func TestOfferBestOrder(t *testing.T) {
	url := embedded(t)
	s := openShared(t, url, "best", 1)
	ctx := t.Context()
	offers := []Best{{1, 0.5}, {2, 0.8}, {3, 0.8}, {4, 0.2}, {5, 0.8}, {6, 0.1}, {7, 0.2}}
	for _, maximize := range []bool{true, false} {
		want := Best{2, 0.8}
		if !maximize {
			want = Best{6, 0.1}
		}
		reversed := make([]Best, len(offers))
		for i, o := range offers {
			reversed[len(offers)-1-i] = o
		}
		orders := [][]Best{offers, reversed}
		rng := rand.New(rand.NewPCG(1, 1))
		for range 3 {
			p := append([]Best(nil), offers...)
			rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
			orders = append(orders, p)
		}
		for k, order := range orders {
			key := fmt.Sprintf("best-%v-%d", maximize, k)
			for _, o := range order {
				if _, _, err := s.OfferBest(ctx, key, o.Trial, o.Value, maximize); err != nil {
					t.Fatal(err)
				}
			}
			if got := readBest(t, s, key); got != want {
				t.Errorf("maximize=%v, order %v: best %+v, want %+v", maximize, order, got, want)
			}
		}
		key := fmt.Sprintf("best-%v-concurrent", maximize)
		var wg sync.WaitGroup
		for _, o := range offers {
			p := openShared(t, url, "best", 1)
			wg.Go(func() {
				if _, _, err := p.OfferBest(ctx, key, o.Trial, o.Value, maximize); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := readBest(t, s, key); got != want {
			t.Errorf("maximize=%v, concurrent offers: best %+v, want %+v", maximize, got, want)
		}
	}
	best, improved, err := s.OfferBest(ctx, "best-true-0", 9, 0.9, true)
	if err != nil || !improved || best != (Best{9, 0.9}) {
		t.Errorf("a better offer: %+v improved=%v err=%v", best, improved, err)
	}
	best, improved, err = s.OfferBest(ctx, "best-true-0", 1, 0.3, true)
	if err != nil || improved || best != (Best{9, 0.9}) {
		t.Errorf("a worse offer: %+v improved=%v err=%v", best, improved, err)
	}
}

func readBest(t *testing.T, s *Shared, key string) Best {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	var b Best
	if err := json.Unmarshal(e.Value, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Resolve settles proposals in trial order, whatever order they were
// proposed in, and records each resolution once. The Resolver escalates
// to a coordinator that takes the first claim it is shown, so an outcome
// that followed arrival order would differ between the keys.
func TestResolveOrder(t *testing.T) {
	url := embedded(t)
	s := openShared(t, url, "team", 1)
	ctx := t.Context()
	proposals := []Proposal{
		{Trial: 3, Value: []byte("ring")},
		{Trial: 1, Value: []byte("star")},
		{Trial: 4, Value: []byte("chain")},
		{Trial: 2, Value: []byte("ring")},
	}
	first := coordination.CoordinatorFunc(func(_ context.Context, c coordination.Conflict) (coordination.Resolution, error) {
		return coordination.Resolution{Value: c.Claims[0].Value, Note: "first claim"}, nil
	})
	newResolver := func() *coordination.Resolver {
		return &coordination.Resolver{Strategy: coordination.Escalate, Coordinator: first}
	}
	reversed := []Proposal{proposals[3], proposals[2], proposals[1], proposals[0]}
	var results []Resolution
	for k, order := range [][]Proposal{proposals, reversed, nil} {
		key := "topology-" + strconv.Itoa(k)
		if order == nil { // all at once, from several processes
			var wg sync.WaitGroup
			for _, p := range proposals {
				o := openShared(t, url, "team", 1)
				wg.Go(func() {
					if err := o.Propose(ctx, key, p); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
		for _, p := range order {
			if err := s.Propose(ctx, key, p); err != nil {
				t.Fatal(err)
			}
		}
		res, err := s.Resolve(ctx, key, newResolver())
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
		if string(res.Value) != "star" || !res.Outcome.Escalated || res.Outcome.Note != "first claim" {
			t.Errorf("%s: settled %q (escalated %v, note %q), want trial 1's star", key, res.Value, res.Outcome.Escalated, res.Outcome.Note)
		}
		var trials []int
		for i, p := range res.Proposals {
			trials = append(trials, p.Trial)
			if c := res.Outcome.Conflict.Claims[i]; c.Agent != "trial-"+strconv.Itoa(p.Trial) || c.Value != string(p.Value) {
				t.Errorf("%s: claim %d is %+v for proposal %+v", key, i, c, p)
			}
		}
		if !reflect.DeepEqual(trials, []int{1, 2, 3, 4}) {
			t.Errorf("%s: claims in trial order %v", key, trials)
		}
		recs, err := s.Resolutions(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].Seq != res.Seq || string(recs[0].Value) != "star" || !reflect.DeepEqual(recs[0].Proposals, res.Proposals) {
			t.Errorf("%s: recorded %+v, want the one resolution %+v", key, recs, res)
		}
	}
	for _, r := range results[1:] {
		if !reflect.DeepEqual(r.Proposals, results[0].Proposals) || !reflect.DeepEqual(r.Outcome.Conflict.Claims, results[0].Outcome.Conflict.Claims) {
			t.Errorf("resolutions differ:\n%+v\n%+v", r, results[0])
		}
	}

	// Resolving the same proposals again, here or in another process,
	// records nothing; a new proposal makes a new record.
	other := openShared(t, url, "team", 1)
	again, err := other.Resolve(ctx, "topology-0", nil)
	if err != nil || again.Seq != results[0].Seq || string(again.Value) != "star" {
		t.Errorf("resolving again: %+v, %v; want record %d", again, err, results[0].Seq)
	}
	if err := s.Propose(ctx, "topology-0", Proposal{Trial: 5, Value: []byte("ring")}); err != nil {
		t.Fatal(err)
	}
	res, err := other.Resolve(ctx, "topology-0", nil) // by priority, then weight: ring has 3 of 5
	if err != nil || string(res.Value) != "ring" || res.Seq == results[0].Seq {
		t.Errorf("after a new proposal: %+v, %v", res, err)
	}
	recs, err := s.Resolutions(ctx, "topology-0")
	if err != nil || len(recs) != 2 || string(recs[0].Value) != "star" || string(recs[1].Value) != "ring" {
		t.Errorf("history %+v, %v; want star then ring", recs, err)
	}
	// A trial's new proposal replaces its old one.
	if err := s.Propose(ctx, "topology-0", Proposal{Trial: 5, Value: []byte("chain")}); err != nil {
		t.Fatal(err)
	}
	res, err = s.Resolve(ctx, "topology-0", nil)
	if err != nil || len(res.Proposals) != 5 || string(res.Proposals[4].Value) != "chain" {
		t.Errorf("a replaced proposal: %+v, %v", res.Proposals, err)
	}
	if _, err := s.Resolve(ctx, "nobody", nil); !errors.Is(err, ErrNoProposals) {
		t.Errorf("resolving a key with no proposals: %v", err)
	}
}

// Processes resolving the same proposals at once record one resolution.
func TestResolveConcurrent(t *testing.T) {
	url := embedded(t)
	s := openShared(t, url, "team", 1)
	ctx := t.Context()
	for i, v := range []string{"a", "b", "b"} {
		if err := s.Propose(ctx, "agg", Proposal{Trial: i, Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	seqs := make([]uint64, 6)
	for i := range seqs {
		o := openShared(t, url, "team", 1)
		wg.Go(func() {
			res, err := o.Resolve(ctx, "agg", nil)
			if err != nil || string(res.Value) != "b" {
				t.Errorf("resolver %d: %q, %v", i, res.Value, err)
			}
			seqs[i] = res.Seq
		})
	}
	wg.Wait()
	recs, err := s.Resolutions(ctx, "agg")
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d records (%v), want 1", len(recs), err)
	}
	for i, seq := range seqs {
		if seq != recs[0].Seq {
			t.Errorf("resolver %d returned record %d, want %d", i, seq, recs[0].Seq)
		}
	}
}
