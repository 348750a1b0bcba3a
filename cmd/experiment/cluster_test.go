package main

// The distributed path as a user drives it: `experiment run --nats` and
// `experiment worker` processes behind an embedded NATS server or a
// three-server JetStream cluster, losing a worker, servers or the
// coordinator half-way; each run stores the trial table a local run does.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mabeam/mabeam/cluster"
	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/internal/openaitest"
	"github.com/nats-io/nats.go/jetstream"
)

// clusterConfig is testdata/cluster.yaml: two studies of 30 trials.
var clusterConfig = filepath.Join("testdata", "cluster.yaml")

const clusterTrials = 60 // both studies' budgets

// The local run of cluster.yaml, made once.
var clusterRef struct {
	once sync.Once
	hash string
	err  string
}

func clusterReference(t *testing.T) string {
	t.Helper()
	clusterRef.once.Do(func() {
		db := filepath.Join(t.TempDir(), "local.db")
		code, _, stderr := exe(t, "", "run", clusterConfig, "--db", db, "--no-analysis")
		if code != 0 {
			clusterRef.err = stderr
			return
		}
		clusterRef.hash = trialHash(t, db)
	})
	if clusterRef.err != "" || clusterRef.hash == "" {
		t.Fatalf("the local reference run failed: %s", clusterRef.err)
	}
	return clusterRef.hash
}

// proc is a CLI process the test started.
type proc struct {
	cmd    *exec.Cmd
	done   chan struct{}
	stderr *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for a process writing and the test
// reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start starts the CLI with args; the test's end kills it.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	p := &proc{cmd: command(ctx, "", args...), done: make(chan struct{}), stderr: &syncBuffer{}}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done); cancel() }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

// wait waits for the process to end and returns its exit code.
func (p *proc) wait(t *testing.T, what string) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(cliTimeout):
		t.Fatalf("%s did not end: %s", what, p.stderr)
		return -1
	}
}

// completeTrials counts the complete trials in the store at db; 0 while
// it does not exist yet.
func completeTrials(db string) int {
	conn, err := openRO(db)
	if err != nil {
		return 0
	}
	defer conn.Close()
	var n int
	if conn.QueryRow(`SELECT COUNT(*) FROM trials WHERE state = 'complete'`).Scan(&n) != nil {
		return 0
	}
	return n
}

// awaitTrials waits until the store holds n complete trials; the run must
// not end first.
func awaitTrials(t *testing.T, run *proc, db string, n int) {
	t.Helper()
	deadline := time.Now().Add(cliTimeout)
	for completeTrials(db) < n {
		select {
		case <-run.done:
			t.Fatalf("the run ended (exit %d) before %d trials: %s", run.cmd.ProcessState.ExitCode(), n, run.stderr)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d trials after %v: %s", n, cliTimeout, run.stderr)
		}
	}
}

var redeliveredPattern = regexp.MustCompile(`queue mabeam: .* done \((\d+) redelivered, (\d+) failed\)`)

// lastQueueLine returns the redelivered and failed counts of the last
// queue line a coordinator printed.
func lastQueueLine(t *testing.T, stderr string) (redelivered, failed int) {
	t.Helper()
	m := redeliveredPattern.FindAllStringSubmatch(stderr, -1)
	if m == nil {
		t.Fatalf("the coordinator printed no queue line: %s", stderr)
	}
	last := m[len(m)-1]
	r, _ := strconv.Atoi(last[1])
	f, _ := strconv.Atoi(last[2])
	return r, f
}

func embeddedServer(t *testing.T) string {
	t.Helper()
	srv, err := cluster.StartEmbedded(cluster.EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv.ClientURL()
}

// A worker process killed mid-job: its job goes to the other worker, and
// the run stores every trial once, the local run's table.
func TestClusterWorkerKilled(t *testing.T) {
	t.Parallel()
	want := clusterReference(t)
	url := embeddedServer(t)
	w1 := start(t, "worker", "--nats", url, "--name", "w1", "--concurrency", "2")
	db := filepath.Join(t.TempDir(), "dist.db")
	run := start(t, "run", clusterConfig, "--db", db, "--nats", url, "--ack-wait", "1s", "--no-analysis")
	awaitTrials(t, run, db, clusterTrials/4)
	// w1 is the only worker: a job delivered and not acknowledged is its.
	js := jetStream(t, url)
	cons, err := js.Consumer(context.Background(), "MABEAM_JOBS_mabeam", "workers")
	if err != nil {
		t.Fatal(err)
	}
	for {
		ci, err := cons.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ci.NumAckPending > 0 {
			break
		}
	}
	if err := w1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	start(t, "worker", "--nats", url, "--name", "w2", "--concurrency", "2")
	if code := run.wait(t, "the run"); code != 0 {
		t.Fatalf("run: exit %d: %s", code, run.stderr)
	}
	if got := trialHash(t, db); got != want {
		t.Errorf("the trials on workers differ from the local run's: %s", run.stderr)
	}
	redelivered, failed := lastQueueLine(t, run.stderr.String())
	if redelivered == 0 || failed != 0 {
		t.Errorf("%d jobs redelivered, %d failed; want the killed worker's job redelivered, none failed: %s", redelivered, failed, run.stderr)
	}
}

// A coordinator killed mid-run: run --resume --nats continues without
// repeating a finished trial, to the local run's table.
func TestClusterCoordinatorKilled(t *testing.T) {
	t.Parallel()
	want := clusterReference(t)
	url := embeddedServer(t)
	start(t, "worker", "--nats", url, "--name", "w1", "--concurrency", "4")
	db := filepath.Join(t.TempDir(), "dist.db")
	run := start(t, "run", clusterConfig, "--db", db, "--nats", url, "--no-analysis")
	awaitTrials(t, run, db, clusterTrials/3)
	if err := run.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	run.wait(t, "the killed run")
	code, _, stderr := exe(t, "", "run", clusterConfig, "--db", db, "--nats", url, "--no-analysis", "--resume")
	if code != 0 {
		t.Fatalf("run --resume: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "resuming after") {
		t.Errorf("--resume did not say where it resumed: %s", stderr)
	}
	if got := trialHash(t, db); got != want {
		t.Errorf("the resumed distributed run's trials differ from the local run's: %s", stderr)
	}
	// Any machine reads each study's shared state.
	code, stdout, stderr := exe(t, "", "status", "--nats", url, "--json")
	var status struct {
		Studies []experiments.StudyState `json:"studies"`
	}
	if err := json.Unmarshal([]byte(stdout), &status); code != 0 || err != nil || len(status.Studies) != 2 {
		t.Fatalf("status: exit %d, %v: %s %s", code, err, stdout, stderr)
	}
	for _, st := range status.Studies {
		if st.Status != "done" || st.Spent.Trials != clusterTrials/2 || st.Best == nil {
			t.Errorf("status of %s: %+v, want done after %d trials with a best", st.Study, st, clusterTrials/2)
		}
	}
}

// A three-server JetStream cluster: with one server stopped the run goes
// on, and the server rejoins; with two stopped it pauses, saying so, and
// goes on when one returns; the trial table is the local run's.
func TestClusterServersDown(t *testing.T) {
	t.Parallel()
	want := clusterReference(t)
	c, err := cluster.StartCluster(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	urls := c.URLs()
	for _, name := range []string{"w1", "w2"} {
		start(t, "worker", "--nats", urls, "--name", name, "--concurrency", "2")
	}
	db := filepath.Join(t.TempDir(), "dist.db")
	run := start(t, "run", clusterConfig, "--db", db, "--nats", urls, "--replicas", "3", "--no-analysis", "--report-every", "200ms", "--ack-wait", "2s")
	awaitTrials(t, run, db, clusterTrials/6)
	c.Stop(0)
	n := completeTrials(db)
	awaitTrials(t, run, db, n+clusterTrials/6) // goes on
	if err := c.Restart(0); err != nil {
		t.Fatal(err)
	}
	awaitTrials(t, run, db, completeTrials(db)+2)
	c.Stop(1)
	c.Stop(2)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(run.stderr.String(), "the run pauses") {
		if time.Now().After(deadline) {
			t.Fatalf("no pause reported with two of three servers down: %s", run.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	paused := completeTrials(db)
	time.Sleep(time.Second)
	if now := completeTrials(db); now > paused+1 {
		t.Errorf("%d trials finished in a second with two of three servers down (from %d)", now-paused, paused)
	}
	if err := c.Restart(1); err != nil {
		t.Fatal(err)
	}
	if code := run.wait(t, "the run"); code != 0 {
		t.Fatalf("run: exit %d: %s", code, run.stderr)
	}
	if !strings.Contains(run.stderr.String(), "the run goes on") {
		t.Errorf("the coordinator did not say the run went on: %s", run.stderr)
	}
	if _, failed := lastQueueLine(t, run.stderr.String()); failed != 0 {
		t.Errorf("%d jobs failed through the outages: %s", failed, run.stderr)
	}
	if got := trialHash(t, db); got != want {
		t.Errorf("the trials differ from the local run's: %s", run.stderr)
	}
}

// A real-model run on two worker processes costs what a local run does:
// the workers use the coordinator's LM cache (a repeated call is paid
// once, whichever worker makes it) and the run's one rate limit; the
// server sees as many requests, the trials are the local run's, and no
// process shows the key.
func TestClusterRealModelCost(t *testing.T) {
	t.Setenv(testKeyEnv, testKey)
	dir := t.TempDir()
	srv := newSimServer(t, openaitest.Options{})
	src := strings.Replace(realConfig(openaiLM(srv, "  requests_per_minute: 60000\n"), 300), "seeds: [1]", "seeds: [1, 2]", 1)
	cfg := writeConfig(t, dir, "real.yaml", src)
	local := filepath.Join(dir, "local.db")
	if code, _, stderr := exe(t, "", "run", cfg, "--db", local, "--no-analysis"); code != 0 {
		t.Fatalf("local run: exit %d: %s", code, stderr)
	}
	localRequests := srv.Requests()
	hits := sqlCount(t, local, `SELECT COUNT(*) FROM example_results e WHERE e.calls > 0`) // the run did evaluate
	if localRequests == 0 || hits == 0 {
		t.Fatalf("the local run sent %d requests", localRequests)
	}

	url := embeddedServer(t)
	w1 := start(t, "worker", "--nats", url, "--name", "w1")
	w2 := start(t, "worker", "--nats", url, "--name", "w2")
	dist := filepath.Join(dir, "dist.db")
	run := start(t, "run", cfg, "--db", dist, "--nats", url, "--no-analysis")
	if code := run.wait(t, "the run"); code != 0 {
		t.Fatalf("distributed run: exit %d: %s", code, run.stderr)
	}
	if d := sameTrials(trialTable(t, dist, "real"), trialTable(t, local, "real")); d != "" {
		t.Errorf("the distributed run's trials differ from the local run's: %s", d)
	}
	if n := srv.Requests() - localRequests; n != localRequests {
		t.Errorf("the distributed run sent %d requests, the local run %d", n, localRequests)
	}
	billed := `SELECT CAST(ROUND(SUM(billed_cost_usd) * 1e9) AS INTEGER) FROM trials`
	if g, w := sqlCount(t, dist, billed), sqlCount(t, local, billed); g != w || w == 0 {
		t.Errorf("billed %d nano-dollars on the workers, %d locally", g, w)
	}
	// Both workers drew on the run's rate limit, one key in the limits' bucket.
	kv, err := jetStream(t, url).KeyValue(context.Background(), "MABEAM_LIMITS")
	if err != nil {
		t.Fatalf("no shared rate limit: %v", err)
	}
	keys, err := kv.Keys(context.Background())
	if err != nil || len(keys) != 1 || !strings.HasPrefix(keys[0], "server_") {
		t.Errorf("the limits' bucket holds %v (%v), want the server's one key", keys, err)
	}
	w1.cmd.Process.Signal(os.Interrupt)
	w2.cmd.Process.Signal(os.Interrupt)
	w1.wait(t, "worker w1")
	w2.wait(t, "worker w2")
	noKey(t, dir, run.stderr.String(), w1.stderr.String(), w2.stderr.String())
	if !strings.Contains(w1.stderr.String()+w2.stderr.String(), "stopped after") {
		t.Errorf("a stopped worker did not say what it did: %s %s", w1.stderr, w2.stderr)
	}
}

// jetStream connects to the server at url for the test's (or benchmark's)
// length.
func jetStream(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := cluster.Connect(url, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
