package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mabeam.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func mustStudy(t *testing.T, s *Store, name string) Study {
	t.Helper()
	st, err := s.CreateStudy(context.Background(), Study{Name: name, Experiment: "exp", Optimizer: "random", Dataset: "arithmetic", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// record is a finished trial n with six parameters, three agents and k examples.
func record(n, k int) TrialRecord {
	r := TrialRecord{Trial: optimizer.Trial{
		Number: n, State: optimizer.Complete, Value: float64(n%10) / 10, Batch: k,
		Calls: 12, Tokens: 3400, Cost: 0.0021, Start: time.Now(), Duration: 1500 * time.Millisecond,
		Note: "random",
		Params: space.Assignment{
			"temperature": 0.1 * float64(n%7), "rounds": n % 4, "topology": "ring",
			"agent0.model": "sim-small", "judge": n%2 == 0, "max_tokens": 256,
		},
	}}
	for i, role := range []string{"solver", "critic", "judge"} {
		r.Agents = append(r.Agents, AgentMetric{Agent: fmt.Sprintf("a%d", i), Role: role, Model: "sim-medium",
			Accuracy: 0.5, Round0Accuracy: 0.4, Calls: 4, Tokens: 1000, Cost: 0.0007, Agreement: 0.8, Contribution: math.NaN()})
	}
	for i := range k {
		r.Examples = append(r.Examples, ExampleResult{Example: fmt.Sprintf("ex-%d", i), Score: float64(i % 2), Answer: strconv.Itoa(i), Calls: 3, Tokens: 100, Cost: 0.0001})
	}
	return r
}

func count(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenMigratesOnceAndReopens(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	want := len(migrations())
	if v, err := s.SchemaVersion(ctx); err != nil || v != want {
		t.Fatalf("fresh file: version %d, %v; want %d", v, err, want)
	}
	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q, %v; want wal", mode, err)
	}
	mustStudy(t, s, "kept")
	s.Close()

	for range 2 {
		s2, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if n := count(t, s2, `SELECT COUNT(*) FROM schema_version`); n != want {
			t.Errorf("reopen: %d schema_version rows, want %d", n, want)
		}
		if _, err := s2.Study(ctx, "kept"); err != nil {
			t.Errorf("reopen lost the study: %v", err)
		}
		var fk int
		if err := s2.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
		}
		s2.Close()
	}
}

func TestOpenAppliesNewStepsAndRollsBackAFailedOne(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	mustStudy(t, s, "old")
	s.Close()

	steps := append(migrations(), `ALTER TABLE studies ADD COLUMN tag TEXT NOT NULL DEFAULT 'x'`)
	s2, err := open(ctx, path, steps)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s2.SchemaVersion(ctx); v != len(steps) {
		t.Errorf("version %d after upgrade, want %d", v, len(steps))
	}
	if n := count(t, s2, `SELECT COUNT(*) FROM studies WHERE name = 'old' AND tag = 'x'`); n != 1 {
		t.Errorf("upgrade lost or did not migrate the study (%d rows)", n)
	}
	s2.Close()

	bad := append(steps, `CREATE TABLE half (x INTEGER); INSERT INTO no_such_table VALUES (1)`)
	if _, err := open(ctx, path, bad); err == nil || !strings.Contains(err.Error(), fmt.Sprint("version ", len(bad))) {
		t.Fatalf("failing step: err = %v, want one naming version %d", err, len(bad))
	}
	s3, err := open(ctx, path, steps)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if v, _ := s3.SchemaVersion(ctx); v != len(steps) {
		t.Errorf("version %d after a failed step, want %d", v, len(steps))
	}
	if n := count(t, s3, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`); n != 0 {
		t.Error("the failed step's first statement was kept")
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	if _, err := s.db.Exec(`INSERT INTO schema_version VALUES (99, 'later')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(ctx, path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("err = %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{"99", strconv.Itoa(len(migrations())), path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not mention %q", err, want)
		}
	}
}

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st := mustStudy(t, s, "m")
	if err := s.FinishTrial(ctx, st.ID, record(0, 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(ctx, st.ID, 0); err != nil {
		t.Fatal(err)
	}
}

func TestStudies(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	in := Study{
		Name: "quick/beacon/seed1", Experiment: "quick", Optimizer: "beacon", Dataset: "multihop",
		Seed: 1<<64 - 1, Direction: optimizer.Minimize, Sampler: "beacon",
		Space: []byte(`{"x":{"type":"float","low":0,"high":1}}`), Config: []byte(`{"a":1}`), ConfigHash: "abc",
		Budget: optimizer.Budget{Trials: 30, Calls: 1000, Cost: 2.5},
	}
	got, err := s.CreateStudy(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == 0 || got.Status != StatusRunning || got.Created.IsZero() {
		t.Errorf("CreateStudy did not fill ID, Status, Created: %+v", got)
	}
	back, err := s.Study(ctx, in.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, got) {
		t.Errorf("read back\n%+v\nwant\n%+v", back, got)
	}

	_, err = s.CreateStudy(ctx, Study{Name: in.Name})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), in.Name) {
		t.Errorf("duplicate name: err = %v, want ErrExists naming the study", err)
	}
	if _, err := s.Study(ctx, "nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown study: err = %v, want ErrNotFound naming it", err)
	}
	if _, err := s.CreateStudy(ctx, Study{Name: "bad", Space: []byte(`{x`)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad space JSON: err = %v, want ErrInvalid", err)
	}

	mustStudy(t, s, "other") // experiment "exp"
	all, err := s.Studies(ctx, "")
	if err != nil || len(all) != 2 || all[0].Name != in.Name || all[1].Name != "other" {
		t.Errorf("Studies(\"\") = %d studies, %v; want both in creation order", len(all), err)
	}
	quick, err := s.Studies(ctx, "quick")
	if err != nil || len(quick) != 1 || quick[0].Name != in.Name {
		t.Errorf("Studies(quick) = %v, %v; want only %s", quick, err, in.Name)
	}
}

func TestStudyResultAndStatus(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	mustStudy(t, s, "s")
	best, val, calls := 4, 0.75, int64(1234)
	if err := s.UpdateStudyResult(ctx, "s", Result{BestTrial: &best, BestValScore: &val, LMCalls: &calls}); err != nil {
		t.Fatal(err)
	}
	test := 0.7
	if err := s.UpdateStudyResult(ctx, "s", Result{TestScore: &test}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStudyStatus(ctx, "s", StatusComplete); err != nil {
		t.Fatal(err)
	}
	st, err := s.Study(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	r := st.Result
	if r.BestTrial == nil || *r.BestTrial != 4 || r.BestValScore == nil || *r.BestValScore != 0.75 ||
		r.TestScore == nil || *r.TestScore != 0.7 || r.LMCalls == nil || *r.LMCalls != 1234 {
		t.Errorf("result not stored, or a later update erased it: %+v", r)
	}
	if r.BaselineTestScore != nil || r.CostUSD != nil || r.Tokens != nil || r.WallSeconds != nil {
		t.Errorf("fields never set are not nil: %+v", r)
	}
	if st.Status != StatusComplete || !st.Updated.After(st.Created) {
		t.Errorf("status %q, updated %v (created %v)", st.Status, st.Updated, st.Created)
	}
	if err := s.SetStudyStatus(ctx, "nope", StatusComplete); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown study: %v", err)
	}
	if err := s.SetStudyStatus(ctx, "s", "done"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad status: %v", err)
	}
}

func TestParamsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	st := mustStudy(t, s, "p")
	params := space.Assignment{
		"lr": 0.001, "whole": 2.0, "huge": 1e300, "neg": -7, "zero": 0, "big": 1 << 60,
		"name": `say "hi"` + "\n\u00e9", "empty": "", "on": true, "off": false,
	}
	rec := TrialRecord{Trial: optimizer.Trial{Number: 0, State: optimizer.Complete, Value: 1, Params: params}}
	if err := s.FinishTrial(ctx, st.ID, rec); err != nil {
		t.Fatal(err)
	}
	trials, err := s.Trials(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := trials[0].Params
	for k, v := range params {
		if reflect.TypeOf(got[k]) != reflect.TypeOf(v) || got[k] != v {
			t.Errorf("%s: got %#v (%T), want %#v (%T)", k, got[k], got[k], v, v)
		}
	}
	if len(got) != len(params) {
		t.Errorf("got %d params, want %d", len(got), len(params))
	}
	// The normalised table agrees, with a numeric column for numbers and bools.
	cases := []struct {
		name, kind, text string
		num              any
	}{
		{"lr", "float", "0.001", 0.001}, {"whole", "float", "2", 2.0}, {"big", "int", "1152921504606846976", float64(1 << 60)},
		{"name", "string", `say "hi"` + "\n\u00e9", nil}, {"on", "bool", "true", 1.0},
	}
	for _, c := range cases {
		var kind, text string
		var num any
		err := s.db.QueryRow(`SELECT kind, value, value_num FROM trial_params WHERE study_id = ? AND number = 0 AND name = ?`, st.ID, c.name).Scan(&kind, &text, &num)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if i, ok := num.(int64); ok {
			num = float64(i)
		}
		if kind != c.kind || text != c.text || num != c.num {
			t.Errorf("trial_params %s = (%s, %q, %v), want (%s, %q, %v)", c.name, kind, text, num, c.kind, c.text, c.num)
		}
	}
}

func TestTrialRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	st := mustStudy(t, s, "r")
	rec := record(3, 4)
	rec.Examples[1].Score = math.NaN()
	if err := s.FinishTrial(ctx, st.ID, rec); err != nil {
		t.Fatal(err)
	}
	failed := TrialRecord{Trial: optimizer.Trial{Number: 1, State: optimizer.Failed, Value: math.NaN(), Err: "boom"}}
	if err := s.FinishTrial(ctx, st.ID, failed); err != nil {
		t.Fatal(err)
	}
	got, err := s.Record(ctx, st.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := rec
	want.Trial.Start = want.Trial.Start.UTC().Truncate(time.Microsecond)
	nanEq := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
	if !reflect.DeepEqual(got.Trial.Params, want.Trial.Params) || !got.Trial.Start.Equal(want.Trial.Start) ||
		got.Trial.Duration != want.Trial.Duration || got.Trial.Value != want.Trial.Value ||
		got.Trial.Calls != 12 || got.Trial.Tokens != 3400 || got.Trial.Cost != 0.0021 || got.Trial.Note != "random" || got.Trial.Batch != 4 {
		t.Errorf("trial\n%+v\nwant\n%+v", got.Trial, want.Trial)
	}
	if len(got.Agents) != 3 || !math.IsNaN(got.Agents[1].Contribution) {
		t.Fatalf("agents %+v, want 3 with NaN contribution", got.Agents)
	}
	a1 := got.Agents[1]
	a1.Contribution = 0
	if a1 != (AgentMetric{Agent: "a1", Role: "critic", Model: "sim-medium", Accuracy: 0.5,
		Round0Accuracy: 0.4, Calls: 4, Tokens: 1000, Cost: 0.0007, Agreement: 0.8}) {
		t.Errorf("agent a1 read back as %+v", a1)
	}
	if len(got.Examples) != 4 || !nanEq(got.Examples[1].Score, math.NaN()) || got.Examples[3].Answer != "3" {
		t.Errorf("examples %+v", got.Examples)
	}
	trials, err := s.Trials(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != 2 || trials[0].Number != 1 || trials[1].Number != 3 {
		t.Fatalf("Trials not in number order: %+v", trials)
	}
	if f := trials[0]; f.State != optimizer.Failed || !math.IsNaN(f.Value) || f.Err != "boom" || f.Params == nil || !f.Start.IsZero() {
		t.Errorf("failed trial read back as %+v", f)
	}
	if _, err := s.Trial(ctx, st.ID, 2); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "trial 2") || !strings.Contains(err.Error(), `"r"`) {
		t.Errorf("missing trial: err = %v, want ErrNotFound naming study and trial", err)
	}
}

func TestFinishTrialIsAtomic(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	st := mustStudy(t, s, "atomic")
	started := optimizer.Trial{Number: 0, State: optimizer.Running, Params: space.Assignment{"x": 1.5}}
	if err := s.StartTrial(ctx, st.ID, started); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1} { // a running trial, and a new one
		rec := record(n, 5)
		rec.Examples[3].Example = rec.Examples[1].Example // the fourth example row fails
		err := s.FinishTrial(ctx, st.ID, rec)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "ex-1") {
			t.Fatalf("trial %d: err = %v, want ErrInvalid naming the duplicate example", n, err)
		}
		for _, table := range []string{"agent_metrics", "example_results"} {
			if c := count(t, s, `SELECT COUNT(*) FROM `+table+` WHERE number = ?`, n); c != 0 {
				t.Errorf("trial %d: %d rows left in %s", n, c, table)
			}
		}
	}
	got, err := s.Trial(ctx, st.ID, 0)
	if err != nil || got.State != optimizer.Running || !reflect.DeepEqual(got.Params, started.Params) {
		t.Errorf("running trial after a failed finish: %+v, %v; want it unchanged", got, err)
	}
	if c := count(t, s, `SELECT COUNT(*) FROM trial_params WHERE number = 0`); c != 1 {
		t.Errorf("running trial has %d param rows, want its 1", c)
	}
	if _, err := s.Trial(ctx, st.ID, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("half-written trial 1 exists: %v", err)
	}
	if c := count(t, s, `SELECT COUNT(*) FROM trial_params WHERE number = 1`); c != 0 {
		t.Errorf("trial 1 left %d param rows", c)
	}
}

func TestAskTellLifeCycle(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	st := mustStudy(t, s, "ask")
	for n := range 3 {
		tr := optimizer.Trial{Number: n, Params: space.Assignment{"x": float64(n), "c": "a"}, Start: time.Now()}
		if err := s.StartTrial(ctx, st.ID, tr); err != nil {
			t.Fatal(err)
		}
	}
	err := s.StartTrial(ctx, st.ID, optimizer.Trial{Number: 1})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "trial 1") {
		t.Errorf("second start: err = %v, want ErrExists naming trial 1", err)
	}
	tell := TrialRecord{Trial: optimizer.Trial{Number: 1, State: optimizer.Complete, Value: 0.25, Params: space.Assignment{"x": 1.0, "c": "a"}}}
	if err := s.FinishTrial(ctx, st.ID, tell); err != nil {
		t.Fatal(err)
	}
	err = s.FinishTrial(ctx, st.ID, tell)
	if !errors.Is(err, ErrFinished) || !errors.Is(err, optimizer.ErrFinished) || !strings.Contains(err.Error(), "trial 1") || !strings.Contains(err.Error(), `"ask"`) {
		t.Errorf("second tell: err = %v, want ErrFinished naming study and trial", err)
	}
	got, _ := s.Trial(ctx, st.ID, 1)
	if got.State != optimizer.Complete || got.Value != 0.25 {
		t.Errorf("told trial reads %+v", got)
	}
	if c := count(t, s, `SELECT COUNT(*) FROM trial_params WHERE number = 1`); c != 2 {
		t.Errorf("told trial has %d param rows, want 2 (not duplicated)", c)
	}
	n, err := s.DeleteUnfinished(ctx, st.ID)
	if err != nil || n != 2 {
		t.Errorf("DeleteUnfinished = %d, %v; want 2", n, err)
	}
	trials, _ := s.Trials(ctx, st.ID)
	if len(trials) != 1 || trials[0].Number != 1 {
		t.Errorf("after DeleteUnfinished: %+v", trials)
	}
	if c := count(t, s, `SELECT COUNT(*) FROM trial_params`); c != 2 {
		t.Errorf("%d param rows after deleting running trials, want 2", c)
	}
	if err := s.FinishTrial(ctx, st.ID, TrialRecord{Trial: optimizer.Trial{Number: 5, State: optimizer.Running}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("finishing with state running: %v, want ErrInvalid", err)
	}
}

func TestInsertTrialsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	st := mustStudy(t, s, "batch")
	if err := s.FinishTrial(ctx, st.ID, record(2, 1)); err != nil {
		t.Fatal(err)
	}
	batch := []TrialRecord{record(0, 1), record(1, 1), record(2, 1), record(3, 1)}
	if err := s.InsertTrials(ctx, st.ID, batch); !errors.Is(err, ErrFinished) || !strings.Contains(err.Error(), "trial 2") {
		t.Fatalf("err = %v, want ErrFinished for trial 2", err)
	}
	if c := count(t, s, `SELECT COUNT(*) FROM trials`); c != 1 {
		t.Errorf("%d trials after a failed batch, want the 1 from before", c)
	}
	batch = append(batch[:2], batch[3])
	if err := s.InsertTrials(ctx, st.ID, batch); err != nil {
		t.Fatal(err)
	}
	trials, _ := s.Trials(ctx, st.ID)
	if len(trials) != 4 {
		t.Errorf("%d trials, want 4", len(trials))
	}
}

func TestUnknownStudyID(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "study id 999") {
			t.Errorf("%s: err = %v, want ErrNotFound naming study id 999", what, err)
		}
	}
	_, err := s.Trials(ctx, 999)
	check("Trials", err)
	check("FinishTrial", s.FinishTrial(ctx, 999, record(0, 1)))
	check("StartTrial", s.StartTrial(ctx, 999, optimizer.Trial{}))
	_, err = s.DeleteUnfinished(ctx, 999)
	check("DeleteUnfinished", err)
	check("Event", s.Event(ctx, 999, "x", "", nil))
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	calls := 0
	model := lm.ModelFunc(func(_ context.Context, req lm.Request) (lm.Response, error) {
		calls++
		return lm.Response{Text: "42", Usage: lm.Usage{PromptTokens: 30, CompletionTokens: 2}, Cost: 0.003}, nil
	})
	cached := lm.Cached(model, s)
	req := lm.Request{Model: "sim-small", Messages: []lm.Message{{Role: lm.RoleUser, Content: "6*7?"}}}
	first, err := cached.Generate(ctx, req)
	if err != nil || first.Cached || first.Cost != 0.003 {
		t.Fatalf("miss: %+v, %v", first, err)
	}
	second, err := cached.Generate(ctx, req)
	if err != nil || !second.Cached || second.Cost != 0.003 || second.Billed() != 0 || second.Text != "42" || second.Usage != first.Usage {
		t.Fatalf("hit: %+v, %v", second, err)
	}
	if calls != 1 {
		t.Errorf("model called %d times, want 1", calls)
	}
	other := req
	other.Temperature = 0.7
	if _, ok, _ := s.Get(ctx, lm.Key(lm.IdentityOf(model), other)); ok {
		t.Error("a different request hit the cache")
	}
	stats, err := s.CacheStats(ctx)
	if err != nil || stats != (CacheStats{Entries: 1, Hits: 1, Misses: 2, SavedCost: 0.003}) {
		t.Errorf("stats %+v, %v", stats, err)
	}
	// A second put of the same key keeps the first response.
	if err := s.Put(ctx, lm.Key(lm.IdentityOf(model), req), req, lm.Response{Text: "41"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2, err := Open(ctx, path) // the next run shares the cache
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	r, ok, err := s2.Get(ctx, lm.Key(lm.IdentityOf(model), req))
	if err != nil || !ok || r.Text != "42" {
		t.Errorf("after reopen: %+v, %v, %v; want the first response", r, ok, err)
	}
}

func TestEvents(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	st := mustStudy(t, s, "ev")
	if err := s.Event(ctx, 0, "run.start", "starting", map[string]int{"studies": 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.Event(ctx, st.ID, "resume", "deleted 1 running trial", nil); err != nil {
		t.Fatal(err)
	}
	var data string
	if err := s.db.QueryRow(`SELECT data FROM events WHERE study_id IS NULL AND kind = 'run.start'`).Scan(&data); err != nil || data != `{"studies":3}` {
		t.Errorf("data %q, %v", data, err)
	}
	if c := count(t, s, `SELECT COUNT(*) FROM events WHERE study_id = ? AND data IS NULL`, st.ID); c != 1 {
		t.Errorf("%d study events, want 1", c)
	}
	if err := s.Event(ctx, 0, "x", "", func() {}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unencodable data: %v", err)
	}
}

func TestConcurrentOpenOfNewFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	stores := make([]*Store, 4)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, path)
		}()
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		defer s.Close()
	}
	if n := count(t, stores[0], `SELECT COUNT(*) FROM schema_version`); n != len(migrations()) {
		t.Errorf("%d schema_version rows, want %d (each step once)", n, len(migrations()))
	}
	mustStudy(t, stores[1], "one")
	if _, err := stores[3].Study(ctx, "one"); err != nil {
		t.Error(err)
	}
}

// Two Stores on one file stand for two CLI processes (ask in one, tell in
// the next, a run beside them).
func TestTwoStoresOnOneFile(t *testing.T) {
	ctx := context.Background()
	a, path := openTemp(t)
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st := mustStudy(t, a, "shared")
	bst, err := b.Study(ctx, "shared")
	if err != nil || bst.ID != st.ID {
		t.Fatalf("second store: %+v, %v", bst, err)
	}
	for n := range 10 {
		asker, teller := a, b
		if n%2 == 1 {
			asker, teller = b, a
		}
		if err := asker.StartTrial(ctx, st.ID, optimizer.Trial{Number: n, Params: space.Assignment{"n": n}}); err != nil {
			t.Fatal(err)
		}
		if err := teller.FinishTrial(ctx, st.ID, record(n, 2)); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*Store{a, b} {
		trials, err := s.Trials(ctx, st.ID)
		if err != nil || len(trials) != 10 || trials[9].State != optimizer.Complete {
			t.Errorf("%d trials, %v", len(trials), err)
		}
	}
}

func TestConcurrentReadersOneWriter(t *testing.T) {
	ctx := context.Background()
	w, path := openTemp(t)
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	st := mustStudy(t, w, "conc")
	const total = 150
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i, r := range []*Store{w, w, other, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				trials, err := r.Trials(ctx, st.ID)
				if err != nil {
					errs <- err
					return
				}
				if len(trials) < last {
					errs <- fmt.Errorf("reader %d: %d trials after %d", i, len(trials), last)
					return
				}
				last = len(trials)
				for _, tr := range trials {
					if tr.State != optimizer.Complete || len(tr.Params) != 6 {
						errs <- fmt.Errorf("reader %d: saw trial %d %s with %d params", i, tr.Number, tr.State, len(tr.Params))
						return
					}
				}
				if last > 0 {
					rec, err := r.Record(ctx, st.ID, last-1)
					if err != nil || len(rec.Agents) != 3 || len(rec.Examples) != 8 {
						errs <- fmt.Errorf("reader %d: record %d: %d agents, %d examples, %v", i, last-1, len(rec.Agents), len(rec.Examples), err)
						return
					}
				}
			}
		}()
	}
	for n := range total {
		if err := w.FinishTrial(ctx, st.ID, record(n, 8)); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestKilledWriter kills a writing process with SIGKILL and checks that
// every trial it reported is there in full, and no trial is there in part.
func TestKilledWriter(t *testing.T) {
	if os.Getenv("STORE_KILL_HELPER") != "" {
		return
	}
	ctx := context.Background()
	s, path := openTemp(t)
	st := mustStudy(t, s, "killed")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$")
	cmd.Env = append(os.Environ(), "STORE_KILL_HELPER="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reported := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "done "))
		if err != nil {
			continue
		}
		if reported = n; n >= 40 {
			break
		}
	}
	cmd.Process.Kill() // SIGKILL: no deferred cleanup runs
	cmd.Wait()
	if reported < 40 {
		t.Fatalf("helper reported only %d trials; its stderr:\n%s", reported, stderr.String())
	}

	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	trials, err := s2.Trials(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	finished := 0
	for _, tr := range trials {
		if tr.State == optimizer.Running {
			continue
		}
		finished++
		rec, err := s2.Record(ctx, st.ID, tr.Number)
		if err != nil || len(rec.Agents) != 3 || len(rec.Examples) != 20 || len(rec.Trial.Params) != 6 {
			t.Errorf("trial %d: %d agents, %d examples, %d params (%v); want 3, 20, 6", tr.Number, len(rec.Agents), len(rec.Examples), len(rec.Trial.Params), err)
		}
	}
	if finished < reported+1 {
		t.Errorf("%d finished trials after the kill, but %d were reported committed", finished, reported+1)
	}
	if n, err := s2.DeleteUnfinished(ctx, st.ID); err != nil || n > 1 {
		t.Errorf("DeleteUnfinished = %d, %v; want at most the one trial in progress", n, err)
	}
}

// TestKillHelper is the process TestKilledWriter kills: it writes trials
// until it is killed (ask/tell style on even numbers), printing each commit.
func TestKillHelper(t *testing.T) {
	path := os.Getenv("STORE_KILL_HELPER")
	if path == "" {
		t.Skip("run by TestKilledWriter")
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Study(ctx, "killed")
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; ; n++ {
		rec := record(n, 20)
		if n%2 == 0 {
			if err := s.StartTrial(ctx, st.ID, optimizer.Trial{Number: n, Params: rec.Trial.Params}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.FinishTrial(ctx, st.ID, rec); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("done %d\n", n)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs 50%?#1.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the store is not at the path given: %v", err)
	}
}
