package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// queueTest is an embedded server for one test, on which the test opens
// queues and starts workers, each on its own connection as a separate
// process would be.
type queueTest struct {
	t   testing.TB
	url string
}

func newQueueTest(t testing.TB) *queueTest {
	t.Helper()
	s, err := StartEmbedded(EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return &queueTest{t: t, url: s.ClientURL()}
}

// js connects anew.
func (qt *queueTest) js(conn string) jetstream.JetStream {
	qt.t.Helper()
	nc, err := Connect(qt.url, conn)
	if err != nil {
		qt.t.Fatal(err)
	}
	qt.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		qt.t.Fatal(err)
	}
	return js
}

// open opens the queue called name, as a coordinator.
func (qt *queueTest) open(name string, o QueueOptions) *Queue {
	qt.t.Helper()
	q, err := OpenQueue(context.Background(), qt.js("coordinator"), name, o)
	if err != nil {
		qt.t.Fatal(err)
	}
	qt.t.Cleanup(q.Close)
	return q
}

// work starts a worker on the queue called name; stop ends it (as a
// worker that dies: its jobs are not acknowledged) and waits for Work to
// return. The test's end stops it too.
func (qt *queueTest) work(name string, o WorkerOptions, handle func(context.Context, Job) ([]byte, error)) (stop func()) {
	qt.t.Helper()
	js := qt.js("worker " + o.Name)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Work(ctx, js, name, o, handle) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					qt.t.Errorf("worker %s: %v", o.Name, err)
				}
			case <-time.After(10 * time.Second):
				qt.t.Errorf("worker %s: Work did not return within 10s of its context's end", o.Name)
			}
		})
	}
	qt.t.Cleanup(stop)
	return stop
}

// awaitResults waits up to 10s for the results of ids.
func awaitResults(t testing.TB, q *Queue, ids ...string) map[string]Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := q.Await(ctx, ids)
	if err != nil {
		t.Fatalf("%d of %d results: %v", len(res), len(ids), err)
	}
	return res
}

// eventuallyStats waits up to 10s for the queue's stats to satisfy ok, and
// returns the last ones.
func eventuallyStats(t testing.TB, q *Queue, what string, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := q.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %+v after 10s", what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func queueIdle(s Stats) bool { return s.Queued == 0 && s.InFlight == 0 }

func submitJobs(t testing.TB, q *Queue, jobs ...Job) {
	t.Helper()
	for _, j := range jobs {
		if err := q.Submit(context.Background(), j); err != nil {
			t.Fatal(err)
		}
	}
}

// echoJob is a handler whose output is its job's payload, prefixed.
func echoJob(_ context.Context, j Job) ([]byte, error) {
	return append([]byte("done "), j.Payload...), nil
}

// 200 jobs on 3 workers of concurrency 4, started before the queue is
// opened: each job has one result, from one run of the handler, with its
// output; no worker runs more than 4 jobs at once.
func TestQueueManyWorkers(t *testing.T) {
	qt := newQueueTest(t)
	const n, workers, conc = 200, 3, 4
	var calls atomic.Int64
	var mu sync.Mutex // protects running and most
	running, most := map[string]int{}, map[string]int{}
	for w := range workers {
		name := "w" + strconv.Itoa(w)
		qt.work("test", WorkerOptions{Name: name, Concurrency: conc}, func(ctx context.Context, j Job) ([]byte, error) {
			calls.Add(1)
			mu.Lock()
			running[name]++
			most[name] = max(most[name], running[name])
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
			mu.Lock()
			running[name]--
			mu.Unlock()
			return echoJob(ctx, j)
		})
	}
	q := qt.open("test", QueueOptions{})
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("study/%d/0", i)
		submitJobs(t, q, Job{ID: ids[i], Payload: []byte(ids[i])})
	}
	res := awaitResults(t, q, ids...)
	for _, id := range ids {
		r := res[id]
		if r.ID != id || string(r.Payload) != "done "+id || r.Err != "" || r.Attempts != 1 {
			t.Errorf("job %s: %+v", id, r)
		}
	}
	s := eventuallyStats(t, q, "the jobs acknowledged", queueIdle)
	sum := 0
	mu.Lock()
	defer mu.Unlock()
	for w, c := range s.PerWorker {
		sum += c
		if most[w] > conc {
			t.Errorf("worker %s ran %d jobs at once, more than its concurrency %d", w, most[w], conc)
		}
	}
	if s.Done != n || sum != n || s.Duplicates != 0 || s.Failed != 0 || s.Redelivered != 0 {
		t.Errorf("stats %+v, per-worker sum %d, want %d done", s, sum, n)
	}
	if c := calls.Load(); c != n {
		t.Errorf("the handler ran %d times for %d jobs", c, n)
	}
}

// A job submitted twice (a coordinator that restarts) is queued and run
// once, with the first submission's payload.
func TestQueueDuplicateSubmit(t *testing.T) {
	qt := newQueueTest(t)
	q := qt.open("test", QueueOptions{})
	submitJobs(t, q, Job{ID: "a", Payload: []byte("first")}, Job{ID: "a", Payload: []byte("second")}, Job{ID: "b", Payload: []byte("b")})
	if s, err := q.Stats(context.Background()); err != nil || s.Queued != 2 {
		t.Fatalf("after submitting a, a and b: %+v, %v; want 2 queued", s, err)
	}
	var calls atomic.Int64
	qt.work("test", WorkerOptions{Name: "w"}, func(ctx context.Context, j Job) ([]byte, error) {
		calls.Add(1)
		return echoJob(ctx, j)
	})
	res := awaitResults(t, q, "a", "b", "a")
	if len(res) != 2 || string(res["a"].Payload) != "done first" {
		t.Errorf("job a: %+v", res["a"])
	}
	eventuallyStats(t, q, "the jobs acknowledged", queueIdle)
	if c := calls.Load(); c != 2 {
		t.Errorf("the handler ran %d times for 2 jobs", c)
	}
}

// A queue opened again (a coordinator that restarts) knows the results
// already published, and does not submit their jobs again even after the
// server forgot their IDs.
func TestQueueReopen(t *testing.T) {
	qt := newQueueTest(t)
	o := QueueOptions{Duplicates: 200 * time.Millisecond}
	q := qt.open("test", o)
	submitJobs(t, q, Job{ID: "a", Payload: []byte("a")})
	stop := qt.work("test", WorkerOptions{Name: "w"}, echoJob)
	awaitResults(t, q, "a")
	eventuallyStats(t, q, "the job acknowledged", queueIdle)
	stop()
	q.Close()
	time.Sleep(300 * time.Millisecond) // past the duplicates window

	q = qt.open("test", o)
	// Known as soon as the queue is open: no waiting.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := q.Await(ctx, []string{"a"})
	if r := res["a"]; err != nil || string(r.Payload) != "done a" || r.Worker != "w" {
		t.Fatalf("job a in the reopened queue: %+v, %v", r, err)
	}
	submitJobs(t, q, Job{ID: "a", Payload: []byte("a")})
	s, err := q.Stats(context.Background())
	if err != nil || s.Queued != 0 || s.Done != 1 || s.PerWorker["w"] != 1 {
		t.Errorf("job a, done, submitted again: %+v, %v; want none queued, 1 done by w", s, err)
	}
}

// A job run twice (submitted again once the server forgot its ID, before
// it had a result) has one result, the first; the second is counted as a
// duplicate.
func TestQueueDuplicateResult(t *testing.T) {
	qt := newQueueTest(t)
	q := qt.open("test", QueueOptions{Duplicates: 200 * time.Millisecond})
	submitJobs(t, q, Job{ID: "a"})
	time.Sleep(300 * time.Millisecond)
	submitJobs(t, q, Job{ID: "a"})
	if s, err := q.Stats(context.Background()); err != nil || s.Queued != 2 {
		t.Fatalf("job a submitted past the duplicates window: %+v, %v; want 2 queued", s, err)
	}
	var calls atomic.Int64
	qt.work("test", WorkerOptions{Name: "w"}, func(context.Context, Job) ([]byte, error) {
		return []byte("run " + strconv.Itoa(int(calls.Add(1)))), nil
	})
	s := eventuallyStats(t, q, "both runs reported", func(s Stats) bool { return s.Duplicates == 1 })
	if s.Done != 1 || s.PerWorker["w"] != 1 {
		t.Errorf("stats %+v, want 1 done and 1 duplicate", s)
	}
	if r := awaitResults(t, q, "a")["a"]; string(r.Payload) != "run 1" {
		t.Errorf("job a: %+v, want the first run's result", r)
	}
}

// The same jobs give the same results on 1 worker as on 3, failures
// included.
func TestQueueWorkerCount(t *testing.T) {
	qt := newQueueTest(t)
	handle := func(_ context.Context, j Job) ([]byte, error) {
		i, _ := strconv.Atoi(string(j.Payload))
		if i%7 == 0 {
			return nil, fmt.Errorf("%d is a multiple of 7", i)
		}
		return []byte(strconv.Itoa(i * i)), nil
	}
	const n = 60
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "j" + strconv.Itoa(i)
	}
	run := func(name string, workers int) map[string]Result {
		q := qt.open(name, QueueOptions{MaxDeliver: 1})
		for w := range workers {
			qt.work(name, WorkerOptions{Name: "w" + strconv.Itoa(w), Concurrency: 2}, handle)
		}
		for i, id := range ids {
			submitJobs(t, q, Job{ID: id, Payload: []byte(strconv.Itoa(i))})
		}
		res := awaitResults(t, q, ids...)
		for id, r := range res {
			r.Worker = "" // the one thing that may differ
			res[id] = r
		}
		return res
	}
	one, three := run("one", 1), run("three", 3)
	failed := 0
	for _, id := range ids {
		if a, b := one[id], three[id]; a.ID != b.ID || !bytes.Equal(a.Payload, b.Payload) || a.Err != b.Err || a.Attempts != b.Attempts {
			t.Errorf("job %s: %+v on 1 worker, %+v on 3", id, a, b)
		}
		if one[id].Err != "" {
			failed++
		}
	}
	if failed != (n+6)/7 {
		t.Errorf("%d failures, want %d", failed, (n+6)/7)
	}
}

// A job whose every delivery is lost (its worker dies each time, so none
// reports a failure) becomes a failure once MaxDeliver deliveries have
// timed out, instead of being waited for forever: the worker that gets the
// next delivery reports it without running it, so it is reported even
// while its coordinator is down (closed here), and read when it returns.
func TestQueueLostJob(t *testing.T) {
	qt := newQueueTest(t)
	o := QueueOptions{AckWait: time.Second, MaxDeliver: 2, MaxLost: 2}
	q := qt.open("test", o)
	submitJobs(t, q, Job{ID: "a"})
	q.Close() // its coordinator is gone too, until the job is lost
	for _, w := range []string{"w0", "w1"} {
		started := make(chan string, 1)
		stop := qt.work("test", WorkerOptions{Name: w}, blockingJob(started))
		waitJobStart(t, started, "worker "+w)
		stop()
	}
	var calls atomic.Int64
	qt.work("test", WorkerOptions{Name: "w2"}, countingEcho(&calls))
	time.Sleep(1500 * time.Millisecond) // past AckWait: w2 gets the third delivery
	q = qt.open("test", o)
	r := awaitResults(t, q, "a")["a"]
	if r.Err == "" || r.Attempts != 2 || r.Worker != "" {
		t.Errorf("job a: %+v, want a failure after 2 deliveries", r)
	}
	s := eventuallyStats(t, q, "the job deleted", queueIdle)
	if s.Done != 1 || s.Failed != 1 || s.Duplicates != 0 || calls.Load() != 0 {
		t.Errorf("stats %+v; the job ran %d times on a third worker", s, calls.Load())
	}
}

// Bad names and IDs are refused.
func TestQueueBadInput(t *testing.T) {
	qt := newQueueTest(t)
	js := qt.js("test")
	for _, name := range []string{"", "a.b", "a b", "a>", "a/b"} {
		if _, err := OpenQueue(context.Background(), js, name, QueueOptions{}); err == nil {
			t.Errorf("a queue named %q opened", name)
		}
		if err := Work(context.Background(), js, name, WorkerOptions{}, echoJob); err == nil {
			t.Errorf("a worker of a queue named %q started", name)
		}
	}
	q := qt.open("test", QueueOptions{})
	for _, id := range []string{"", "a\nb"} {
		if err := q.Submit(context.Background(), Job{ID: id}); err == nil {
			t.Errorf("a job with ID %q was submitted", id)
		}
	}
}

func ExampleOpenQueue() {
	dir, err := os.MkdirTemp("", "mabeam-queue")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	s, err := StartEmbedded(EmbeddedOptions{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer s.Shutdown()
	nc, err := Connect(s.ClientURL(), "example")
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// The coordinator.
	q, err := OpenQueue(ctx, js, "example", QueueOptions{})
	if err != nil {
		panic(err)
	}
	defer q.Close()
	for _, id := range []string{"a", "b"} {
		if err := q.Submit(ctx, Job{ID: id, Payload: []byte(id)}); err != nil {
			panic(err)
		}
	}

	// A worker, usually in another process.
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		done <- Work(wctx, js, "example", WorkerOptions{Concurrency: 2}, func(ctx context.Context, j Job) ([]byte, error) {
			return bytes.ToUpper(j.Payload), nil
		})
	}()

	res, err := q.Await(ctx, []string{"a", "b"})
	if err != nil {
		panic(err)
	}
	stop()
	<-done
	fmt.Println(string(res["a"].Payload), string(res["b"].Payload))
	// Output: A B
}

// Two runs share a queue and its workers, each its own group: each reads
// its own results only, also when it is reopened, so a coordinator does
// not load every result the queue's other runs left.
func TestQueueGroups(t *testing.T) {
	qt := newQueueTest(t)
	a := qt.open("test", QueueOptions{Group: "run-a"})
	b := qt.open("test", QueueOptions{Group: "run-b/x y"}) // any text names a group
	qt.work("test", WorkerOptions{Name: "w"}, echoJob)
	submitJobs(t, a, Job{ID: "a1", Payload: []byte("1")}, Job{ID: "a2", Payload: []byte("2")})
	submitJobs(t, b, Job{ID: "b1", Payload: []byte("3")})
	if r := awaitResults(t, a, "a1", "a2"); string(r["a2"].Payload) != "done 2" {
		t.Errorf("a2: %+v", r["a2"])
	}
	awaitResults(t, b, "b1")
	for _, q := range []*Queue{a, b} {
		want := map[*Queue]int{a: 2, b: 1}[q]
		if s := eventuallyStats(t, q, "idle", queueIdle); s.Done != want {
			t.Errorf("group %q: %d results read, want its %d", q.group, s.Done, want)
		}
	}
	a.Close()
	re := qt.open("test", QueueOptions{Group: "run-a"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res, err := re.Await(ctx, []string{"a1", "a2"}); err != nil || len(res) != 2 {
		t.Errorf("reopened group run-a: %d results, %v; want its 2 at once", len(res), err)
	}
	if res, _ := re.Await(ctx, []string{"b1"}); len(res) != 0 {
		t.Errorf("reopened group run-a read run-b's result: %+v", res)
	}
}
