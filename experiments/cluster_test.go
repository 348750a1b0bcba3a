package experiments

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mabeam/mabeam/cluster"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A study whose evaluations run on two workers behind a JetStream queue
// (cluster.Evaluator, cluster.EvalHandler) finds the trials the same study
// finds locally, number for number, and the same test scores.
func TestStudyOnWorkers(t *testing.T) {
	ctx := context.Background()
	load := func() []*Study {
		_, sts := tinyStudies(t)
		return []*Study{sts[0], sts[2]} // random search and SIMBA, seed 1
	}
	url := embeddedNATS(t)
	js := func(name string) jetstream.JetStream {
		j, err := jetstream.New(natsConn(t, url, name))
		if err != nil {
			t.Fatal(err)
		}
		return j
	}

	// The workers compile the config themselves.
	workerStudies := map[string]*cluster.Study{}
	for _, st := range load() {
		workerStudies[st.Name] = &cluster.Study{Evaluator: st.Evaluator, Examples: examplesByID(st)}
	}
	lookup := func(name, _ string) (*cluster.Study, error) {
		if s, ok := workerStudies[name]; ok {
			return s, nil
		}
		return nil, cluster.ErrUnknownStudy
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	q, err := cluster.OpenQueue(ctx, js("coordinator"), "study-on-workers", cluster.QueueOptions{AckWait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for i, name := range []string{"w1", "w2"} {
		j := js(name)
		go cluster.Work(wctx, j, "study-on-workers", cluster.WorkerOptions{Concurrency: 2 + i, Name: name}, cluster.EvalHandler(lookup))
	}

	locals, remotes := load(), load()
	for k := range locals {
		local, remote := locals[k], remotes[k]
		want, err := local.Opt.Optimize(ctx, local.Problem, local.Budget)
		if err != nil {
			t.Fatal(err)
		}
		if err := optimizer.Conclude(ctx, local.Problem, want); err != nil {
			t.Fatal(err)
		}
		p := *remote.Problem
		p.Evaluator = &cluster.Evaluator{Queue: q, Study: remote.Name, Local: remote.Evaluator}
		got, err := remote.Opt.Optimize(ctx, &p, remote.Budget)
		if err != nil {
			t.Fatal(err)
		}
		if err := optimizer.Conclude(ctx, &p, got); err != nil {
			t.Fatal(err)
		}
		if len(got.Trials) != len(want.Trials) || len(want.Trials) < 10 {
			t.Fatalf("%d trials on the workers, %d locally", len(got.Trials), len(want.Trials))
		}
		for i := range want.Trials {
			g, w := got.Trials[i], want.Trials[i]
			if g.Number != w.Number || g.State != w.State || g.Value != w.Value || g.Calls != w.Calls ||
				g.Tokens != w.Tokens || g.Cost != w.Cost || !reflect.DeepEqual(g.Params, w.Params) || !reflect.DeepEqual(g.Agents, w.Agents) ||
				string(g.Data) != string(w.Data) {
				t.Fatalf("%s: trial %d on the workers:\n%+v\nlocally:\n%+v", local.Name, i, g, w)
			}
		}
		if got.Test.Mean != want.Test.Mean || got.Baseline.Mean != want.Baseline.Mean {
			t.Errorf("test %v (baseline %v) on the workers, %v (%v) locally", got.Test.Mean, got.Baseline.Mean, want.Test.Mean, want.Baseline.Mean)
		}
	}
	st, err := q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.PerWorker["w1"] == 0 || st.PerWorker["w2"] == 0 || st.Failed != 0 {
		t.Errorf("queue stats %+v: want both workers used, no failure", st)
	}
}

// A run distributed over two workers (Distribute, Work: the workers compile
// the config from the bundle the coordinator published) stores the trial
// table a local run stores, studies in parallel.
func TestDistributedRun(t *testing.T) {
	ctx := context.Background()
	url := embeddedNATS(t)
	connect := func(name string) *nats.Conn { return natsConn(t, url, name) }
	local := openStore(t)
	_, sts := tinyStudies(t)
	if _, err := (&Runner{Store: local}).Run(ctx, sts); err != nil {
		t.Fatal(err)
	}

	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, name := range []string{"w1", "w2"} {
		nc := connect(name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Work(wctx, nc, WorkerOptions{Name: name, Concurrency: 2}); err != nil {
				t.Errorf("worker %s: %v", name, err)
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()
	cfg, sts := tinyStudies(t)
	d, err := Distribute(ctx, connect("coordinator"), cfg, sts, ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	dist := openStore(t)
	if _, err := (&Runner{Store: dist, Parallel: 4, Progress: d.Track(nil)}).Run(ctx, sts); err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		wrec, want := storedTrials(t, local, st.Name)
		grec, got := storedTrials(t, dist, st.Name)
		if diff := sameTrials(got, want); diff != "" || len(want) < 10 {
			t.Errorf("%s: %d trials on the workers, %d locally: %s", st.Name, len(got), len(want), diff)
		}
		if *grec.Result.TestScore != *wrec.Result.TestScore {
			t.Errorf("%s: test %v on the workers, %v locally", st.Name, *grec.Result.TestScore, *wrec.Result.TestScore)
		}
	}
	s, err := d.Queue.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.PerWorker["w1"] == 0 || s.PerWorker["w2"] == 0 || s.Failed != 0 || s.Done < 40 {
		t.Errorf("queue stats %+v: want both workers used, no failure", s)
	}
	d.Close() // writes the studies' last shared states
	// Each study's shared state says what the store says.
	states, err := StudyStates(ctx, connect("status"))
	if err != nil || len(states) != len(sts) {
		t.Fatalf("%d study states (%v), want %d", len(states), err, len(sts))
	}
	for _, s := range states {
		rec, trials := storedTrials(t, dist, s.Study)
		if s.Status != "done" || s.Spent.Trials != len(trials) || s.Best == nil || *s.Best != *rec.Result.BestValScore ||
			s.Budget.Calls != rec.Budget.Calls || s.Spent.Calls != *rec.Result.LMCalls {
			t.Errorf("shared state %+v; the store has %d trials, best %v, %d calls", s, len(trials), *rec.Result.BestValScore, *rec.Result.LMCalls)
		}
	}
}

// A job that fails on every try is a failed trial with the worker's reason;
// here every worker compiles the study to another config hash than its
// coordinator's (another build of experiment, say), so every trial fails,
// and the study stops after MaxFailedInARow of them, naming the cause.
func TestDistributedJobsFail(t *testing.T) {
	ctx := context.Background()
	nc := natsConn(t, embeddedNATS(t), "test")
	c := mustParse(t, runnerConfig, "rt.yaml")
	sts, err := c.Studies(nil)
	if err != nil {
		t.Fatal(err)
	}
	sts = sts[:1]
	sts[0].Budget.Trials = 3 * MaxFailedInARow
	d, err := Distribute(ctx, nc, c, sts, ClusterOptions{Queue: "fail", MaxDeliver: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// The published manifest, as another build would compile it.
	js, _ := jetstream.New(nc)
	objs, err := js.ObjectStore(ctx, configsBucket)
	if err != nil {
		t.Fatal(err)
	}
	data, err := objs.GetBytes(ctx, d.ConfigID)
	if err != nil {
		t.Fatal(err)
	}
	var man manifest
	if err := json.Unmarshal(data, &man); err != nil {
		t.Fatal(err)
	}
	man.Studies[sts[0].Name] = "0123abcd"
	data, _ = json.Marshal(man)
	if _, err := objs.PutBytes(ctx, d.ConfigID, data); err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); Work(wctx, nc, WorkerOptions{Queue: "fail", Name: "w"}) }()
	defer func() { stop(); <-done }()

	s := openStore(t)
	_, err = (&Runner{Store: s, NoAnalysis: true}).Run(ctx, sts)
	if err == nil || !strings.Contains(err.Error(), "trials in a row failed") || !strings.Contains(err.Error(), "run one version of experiment on every machine") {
		t.Fatalf("Run = %v, want the study stopped naming the workers' reason", err)
	}
	_, trials := storedTrials(t, s, sts[0].Name)
	if len(trials) != MaxFailedInARow {
		t.Fatalf("%d trials stored, want %d failed ones", len(trials), MaxFailedInARow)
	}
	for _, tr := range trials {
		if tr.State != optimizer.Failed || !strings.Contains(tr.Err, "compiles study "+sts[0].Name+" to config hash") {
			t.Errorf("trial %d: %s %q, want failed with the worker's reason", tr.Number, tr.State, tr.Err)
		}
	}
}

// embeddedNATS starts an embedded server for the test and returns its URL.
func embeddedNATS(t *testing.T) string {
	t.Helper()
	srv, err := cluster.StartEmbedded(cluster.EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv.ClientURL()
}

// natsConn connects to url for the test's length.
func natsConn(t *testing.T, url, name string) *nats.Conn {
	t.Helper()
	nc, err := cluster.Connect(url, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
