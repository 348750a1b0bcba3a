package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// blockingJob is a handler that says when it has started, then runs until its
// context ends, as a job cut short by its worker's death.
func blockingJob(started chan<- string) func(context.Context, Job) ([]byte, error) {
	return func(ctx context.Context, j Job) ([]byte, error) {
		started <- j.ID
		<-ctx.Done()
		return nil, ctx.Err()
	}
}

// waitJobStart waits up to 5s for a handler to start.
func waitJobStart(t testing.TB, started <-chan string, who string) {
	t.Helper()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not start the job", who)
	}
}

// countingEcho is a handler that counts its runs and echoes.
func countingEcho(calls *atomic.Int64) func(context.Context, Job) ([]byte, error) {
	return func(ctx context.Context, j Job) ([]byte, error) {
		calls.Add(1)
		return echoJob(ctx, j)
	}
}

// A worker that dies mid-job (its context ends, it acknowledges nothing)
// leaves the job to another worker after AckWait; the job has one result.
func TestWorkerDies(t *testing.T) {
	qt := newQueueTest(t)
	q := qt.open("test", QueueOptions{AckWait: time.Second})
	submitJobs(t, q, Job{ID: "a", Payload: []byte("a")})
	started := make(chan string, 1)
	stop := qt.work("test", WorkerOptions{Name: "dies"}, blockingJob(started))
	waitJobStart(t, started, "the first worker")
	stop()
	var calls atomic.Int64
	qt.work("test", WorkerOptions{Name: "lives"}, countingEcho(&calls))
	r := awaitResults(t, q, "a")["a"]
	if string(r.Payload) != "done a" || r.Err != "" || r.Worker != "lives" || r.Attempts != 2 {
		t.Errorf("job a: %+v, want done by the second worker on the second delivery", r)
	}
	s := eventuallyStats(t, q, "the job acknowledged", queueIdle)
	if s.Done != 1 || s.Redelivered != 1 || s.Duplicates != 0 || s.PerWorker["dies"] != 0 || calls.Load() != 1 {
		t.Errorf("stats %+v, %d runs on the second worker", s, calls.Load())
	}
}

// A job that runs three times AckWait is not delivered again while its
// worker heartbeats, though another worker has free slots.
func TestWorkerLongJob(t *testing.T) {
	qt := newQueueTest(t)
	const ackWait = time.Second
	q := qt.open("test", QueueOptions{AckWait: ackWait})
	var calls atomic.Int64
	long := func(ctx context.Context, j Job) ([]byte, error) {
		calls.Add(1)
		time.Sleep(3 * ackWait)
		return echoJob(ctx, j)
	}
	qt.work("test", WorkerOptions{Name: "w0", Concurrency: 2}, long)
	qt.work("test", WorkerOptions{Name: "w1", Concurrency: 2}, long)
	submitJobs(t, q, Job{ID: "a", Payload: []byte("a")})
	r := awaitResults(t, q, "a")["a"]
	if string(r.Payload) != "done a" || r.Attempts != 1 {
		t.Errorf("job a: %+v, want done on the first delivery", r)
	}
	s := eventuallyStats(t, q, "the job acknowledged", queueIdle)
	if c := calls.Load(); c != 1 || s.Redelivered != 0 || s.Duplicates != 0 {
		t.Errorf("the handler ran %d times; stats %+v", c, s)
	}
}

// A job that fails on every try (an error or a panic) is tried MaxDeliver
// times, then reported once as a failure with the handler's reason, and
// not delivered again.
func TestWorkerFails(t *testing.T) {
	for _, c := range []struct {
		name   string
		handle func(n int64) error
		want   string
	}{
		{"error", func(n int64) error { return fmt.Errorf("boom %d", n) }, "boom 3"},
		{"panic", func(n int64) error { panic(fmt.Sprintf("kaboom %d", n)) }, "cluster: the handler panicked: kaboom 3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			qt := newQueueTest(t)
			q := qt.open("test", QueueOptions{MaxDeliver: 3})
			var calls atomic.Int64
			quiet := slog.New(slog.DiscardHandler) // the panics' stacks
			qt.work("test", WorkerOptions{Name: "w", RetryDelay: 50 * time.Millisecond, Logger: quiet}, func(context.Context, Job) ([]byte, error) {
				return nil, c.handle(calls.Add(1))
			})
			submitJobs(t, q, Job{ID: "a"})
			r := awaitResults(t, q, "a")["a"]
			if r.Err != c.want || r.Attempts != 3 || r.Worker != "w" || r.Payload != nil {
				t.Errorf("job a: %+v, want the failure %q on the 3rd delivery", r, c.want)
			}
			s := eventuallyStats(t, q, "the job terminated", queueIdle)
			time.Sleep(200 * time.Millisecond) // four retry delays
			if n := calls.Load(); n != 3 || s.Failed != 1 || s.Done != 1 || s.Duplicates != 0 {
				t.Errorf("the handler ran %d times; stats %+v", n, s)
			}
		})
	}
}

// A slow worker takes no more jobs than it can run: a fast one does the
// rest.
func TestWorkerNoHoarding(t *testing.T) {
	qt := newQueueTest(t)
	q := qt.open("test", QueueOptions{})
	var slow, fast atomic.Int64
	qt.work("test", WorkerOptions{Name: "slow"}, func(ctx context.Context, j Job) ([]byte, error) {
		slow.Add(1)
		time.Sleep(500 * time.Millisecond)
		return echoJob(ctx, j)
	})
	qt.work("test", WorkerOptions{Name: "fast"}, countingEcho(&fast))
	// Both workers wait for jobs before there are any.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ci, err := q.cons.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ci.NumWaiting == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d workers waiting for jobs after 5s, want 2", ci.NumWaiting)
		}
		time.Sleep(10 * time.Millisecond)
	}
	const n = 10
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
		submitJobs(t, q, Job{ID: ids[i]})
	}
	awaitResults(t, q, ids...)
	if s, f := slow.Load(), fast.Load(); s > 1 || s+f != n {
		t.Errorf("the slow worker ran %d jobs, the fast one %d; want at most 1 and the rest", s, f)
	}
}

// workerProcEnv, set to a server's URL, makes TestWorkerProcess a worker
// of the queue "test" whose jobs never end, which prints "started ID" when
// it starts one.
const workerProcEnv = "MABEAM_CLUSTER_TEST_WORKER"

// TestWorkerProcess is the worker process of TestWorkerKilled.
func TestWorkerProcess(t *testing.T) {
	url := os.Getenv(workerProcEnv)
	if url == "" {
		t.Skip("the worker process of TestWorkerKilled")
	}
	qt := &queueTest{t: t, url: url}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := Work(ctx, qt.js("worker process"), "test", WorkerOptions{Name: "process"}, func(ctx context.Context, j Job) ([]byte, error) {
		fmt.Printf("started %s\n", j.ID)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A worker process killed mid-job leaves the job to another worker; the
// job has one result.
func TestWorkerKilled(t *testing.T) {
	if os.Getenv(workerProcEnv) != "" {
		t.Skip("in the worker process")
	}
	qt := newQueueTest(t)
	q := qt.open("test", QueueOptions{AckWait: time.Second})
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$")
	cmd.Env = append(os.Environ(), workerProcEnv+"="+qt.url)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var exit error
	exited := make(chan struct{})
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	started := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "started "); ok {
				started <- id
			}
		}
		exit = cmd.Wait()
	}()
	submitJobs(t, q, Job{ID: "a", Payload: []byte("a")})
	waitJobStart(t, started, "the worker process")
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	<-exited
	var ee *exec.ExitError
	if !errors.As(exit, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("the worker process ended with %v, want killed", exit)
	}

	var calls atomic.Int64
	qt.work("test", WorkerOptions{Name: "lives"}, countingEcho(&calls))
	r := awaitResults(t, q, "a")["a"]
	if string(r.Payload) != "done a" || r.Worker != "lives" || r.Attempts != 2 {
		t.Errorf("job a: %+v, want done by the second worker on the second delivery", r)
	}
	s := eventuallyStats(t, q, "the job acknowledged", queueIdle)
	if s.Done != 1 || s.Duplicates != 0 || s.PerWorker["process"] != 0 || calls.Load() != 1 {
		t.Errorf("stats %+v, %d runs on the second worker", s, calls.Load())
	}
}

// BenchmarkWorkers runs 300 I/O-bound jobs (20ms each) on 1 worker and on
// 3, each of concurrency 4; the workers are in this process, each on its
// own connection. It reports the jobs/s of each and the speedup.
func BenchmarkWorkers(b *testing.B) {
	const jobs, conc = 300, 4
	qt := newQueueTest(b)
	handle := func(_ context.Context, j Job) ([]byte, error) {
		time.Sleep(20 * time.Millisecond)
		return j.Payload, nil
	}
	run := func(name string, workers int) time.Duration {
		q := qt.open(name, QueueOptions{})
		defer q.Close()
		for w := range workers {
			defer qt.work(name, WorkerOptions{Name: "w" + strconv.Itoa(w), Concurrency: conc}, handle)()
		}
		for {
			ci, err := q.cons.Info(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if ci.NumWaiting == workers {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		start := time.Now()
		ids := make([]string, jobs)
		for i := range ids {
			ids[i] = strconv.Itoa(i)
			submitJobs(b, q, Job{ID: ids[i], Payload: []byte(ids[i])})
		}
		awaitResults(b, q, ids...)
		return time.Since(start)
	}
	var one, three time.Duration
	n := 0
	for b.Loop() {
		one += run(fmt.Sprintf("one%d", n), 1)
		three += run(fmt.Sprintf("three%d", n), 3)
		n++
	}
	b.ReportMetric(float64(n*jobs)/one.Seconds(), "jobs/s-1worker")
	b.ReportMetric(float64(n*jobs)/three.Seconds(), "jobs/s-3workers")
	b.ReportMetric(one.Seconds()/three.Seconds(), "speedup")
}

// A result larger than the server takes comes back as a failure saying so,
// at once, instead of a job delivered again and again; an embedded server
// takes 8 MiB by default.
func TestWorkerResultTooLarge(t *testing.T) {
	s, err := StartEmbedded(EmbeddedOptions{Dir: t.TempDir(), MaxPayload: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	qt := &queueTest{t: t, url: s.ClientURL()}
	q := qt.open("test", QueueOptions{})
	qt.work("test", WorkerOptions{Name: "w"}, func(context.Context, Job) ([]byte, error) {
		return bytes.Repeat([]byte("x"), 100<<10), nil
	})
	submitJobs(t, q, Job{ID: "big"})
	r := awaitResults(t, q, "big")["big"]
	if !strings.Contains(r.Err, "exceeds the NATS server's max_payload (65536 bytes)") || r.Attempts != 1 {
		t.Errorf("result %+v, want a failure on the first delivery naming max_payload", r)
	}
	d, err := StartEmbedded(EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown()
	nc, err := Connect(d.ClientURL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if nc.MaxPayload() != DefaultMaxPayload {
		t.Errorf("an embedded server takes %d bytes, want %d", nc.MaxPayload(), DefaultMaxPayload)
	}
}
