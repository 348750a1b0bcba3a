package store

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/mabeam/mabeam/optimizer"
)

func TestLease(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	mustStudy(t, s, "a")
	if from, err := s.AcquireLease(ctx, "a", "p1", time.Minute); err != nil || from != "" {
		t.Fatalf("first acquire: %q, %v", from, err)
	}
	// Another process (another Store on the file) is refused while p1 is live.
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	_, err = s2.AcquireLease(ctx, "a", "p2", time.Minute)
	var le *LeaseError
	if !errors.Is(err, ErrLeased) || !errors.As(err, &le) || le.Lease.Holder != "p1" {
		t.Fatalf("second acquire: %v, want a LeaseError naming p1", err)
	}
	if err := s.RenewLease(ctx, "a", "p1"); err != nil {
		t.Fatal(err)
	}
	if err := s2.RenewLease(ctx, "a", "p2"); !errors.Is(err, ErrLeased) {
		t.Errorf("renewing a lease p2 does not hold: %v", err)
	}
	// A stale lease (heartbeat older than the ttl) is taken over.
	time.Sleep(20 * time.Millisecond)
	if from, err := s2.AcquireLease(ctx, "a", "p2", 10*time.Millisecond); err != nil || from != "p1" {
		t.Fatalf("taking over a stale lease: %q, %v", from, err)
	}
	if st, _ := s.Study(ctx, "a"); st.Lease.Holder != "p2" {
		t.Errorf("holder %q after takeover, want p2", st.Lease.Holder)
	}
	if err := s.RenewLease(ctx, "a", "p1"); !errors.Is(err, ErrLeased) {
		t.Errorf("p1 renewed a lease it lost: %v", err)
	}
	if err := s2.ReleaseLease(ctx, "a", "p2"); err != nil {
		t.Fatal(err)
	}
	if from, err := s.AcquireLease(ctx, "a", "p1", time.Minute); err != nil || from != "" {
		t.Errorf("acquire after release: %q, %v", from, err)
	}
	if _, err := s.AcquireLease(ctx, "nosuch", "p1", time.Minute); !errors.Is(err, ErrNotFound) {
		t.Errorf("lease on a missing study: %v", err)
	}
}

func TestExperimentRecord(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	if _, err := s.Experiment(ctx, "q"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing experiment: %v", err)
	}
	for _, e := range []Experiment{{Name: "q", ConfigHash: "h1", Seeds: []uint64{1, 2}, Config: []byte(`{"a":1}`)},
		{Name: "q", ConfigHash: "h2", Seeds: []uint64{3}}} {
		if err := s.SetExperiment(ctx, e); err != nil {
			t.Fatal(err)
		}
		got, err := s.Experiment(ctx, "q")
		if err != nil || got.ConfigHash != e.ConfigHash || len(got.Seeds) != len(e.Seeds) || got.Seeds[0] != e.Seeds[0] {
			t.Errorf("experiment %+v, %v; want %+v", got, err, e)
		}
	}
	st := mustStudy(t, s, "st")
	if err := s.UpdateStudyConfig(ctx, "st", []byte(`{"b":2}`), "h3", optimizer.Budget{Trials: 40}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Study(ctx, "st"); got.ConfigHash != "h3" || got.Budget.Trials != 40 || string(got.Config) != `{"b":2}` {
		t.Errorf("study after config update: %+v", got)
	}
	rs := []ExampleResult{{Example: "e2", Score: 1, Answer: "x", Calls: 3}, {Example: "e1", Score: 0}}
	if err := s.SaveTestResults(ctx, st.ID, TestBest, rs); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveTestResults(ctx, st.ID, TestBest, rs[:1]); err != nil { // replaces
		t.Fatal(err)
	}
	got, err := s.TestResults(ctx, st.ID, TestBest)
	if err != nil || len(got) != 1 || got[0].Example != "e2" || got[0].Score != 1 || got[0].Calls != 3 {
		t.Errorf("test results %+v, %v", got, err)
	}
	if err := s.SaveTestResults(ctx, st.ID, "other", rs); !errors.Is(err, ErrInvalid) {
		t.Errorf("test results of an unknown team: %v", err)
	}
}

// TestMigrateV1 opens a store written with schema version 1 and checks its
// trials survive the rebuild of schema version 2, with their children.
func TestMigrateV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	old, err := open(ctx, path, migrations()[:1])
	if err != nil {
		t.Fatal(err)
	}
	// Schema 1 has no billed cost or lease: write the rows by hand.
	if _, err := old.db.Exec(`INSERT INTO studies (id, name, created_at, updated_at) VALUES (1, 's', '', '')`); err != nil {
		t.Fatal(err)
	}
	st := Study{ID: 1}
	if _, err := old.db.Exec(`INSERT INTO trials (study_id, number, state, value, cost_usd, params) VALUES (?, 0, 'complete', 0.5, 0.25, '{"x":1}')`, st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := old.db.Exec(`INSERT INTO example_results (study_id, number, example, score) VALUES (?, 0, 'e', 1)`, st.ID); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != len(migrations()) {
		t.Errorf("schema version %d, want %d", v, len(migrations()))
	}
	tr, err := s.Trial(ctx, st.ID, 0)
	if err != nil || tr.Value != 0.5 || tr.Cost != 0.25 || tr.Billed != 0.25 {
		t.Errorf("migrated trial %+v, %v", tr, err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM example_results`); n != 1 {
		t.Errorf("%d example results after the migration, want 1", n)
	}
	// The children still reference trials: deleting the study cascades.
	if _, err := s.db.Exec(`DELETE FROM studies`); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM example_results`); n != 0 {
		t.Errorf("%d example results left after deleting their study", n)
	}
	if err := s.InsertTrials(ctx, mustStudy(t, s, "s2").ID, []TrialRecord{{Trial: optimizer.Trial{Number: 0, State: optimizer.Stopped, Billed: 0.1}}}); err != nil {
		t.Errorf("a stopped trial: %v", err)
	}
}

// TestTrialLineage: a trial's split, parent, strategy and step round-trip,
// and a parent that is not an earlier trial or an unknown split is refused.
func TestTrialLineage(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	st := mustStudy(t, s, "lineage")
	parent := 0
	recs := []TrialRecord{
		{Trial: optimizer.Trial{Number: 0, State: optimizer.Complete, Value: 0.5, Split: optimizer.SplitVal}},
		{Trial: optimizer.Trial{Number: 1, State: optimizer.Complete, Value: 0.9, Split: optimizer.SplitTrain,
			Parent: &parent, Strategy: "append_demo", Step: 2, Agents: map[string]optimizer.AgentProgram{
				"a1": {Demos: []optimizer.Demo{{Example: "ex-3", Question: "q", Answer: "4", Output: "Answer: 4"}}, Rules: []string{"r"}},
			}, Data: json.RawMessage(`{"rollouts":[1,2]}`)}},
	}
	if err := s.InsertTrials(ctx, st.ID, recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Trials(ctx, st.ID)
	if err != nil || got[0].Parent != nil || got[1].Parent == nil || *got[1].Parent != 0 || got[1].Strategy != "append_demo" ||
		got[1].Step != 2 || got[1].Split != optimizer.SplitTrain || got[0].Split != optimizer.SplitVal ||
		got[0].Agents != nil || !reflect.DeepEqual(got[1].Agents, recs[1].Trial.Agents) ||
		got[0].Data != nil || string(got[1].Data) != `{"rollouts":[1,2]}` {
		t.Fatalf("trials %+v, %v", got, err)
	}
	// A validation mini-batch trial is stored and read back, and competes
	// no more than a train one.
	vb := optimizer.Trial{Number: 2, State: optimizer.Complete, Value: 0.95, Split: optimizer.SplitValBatch}
	if err := s.InsertTrials(ctx, st.ID, []TrialRecord{{Trial: vb}}); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.Trials(ctx, st.ID); len(got) != 3 || got[2].Split != optimizer.SplitValBatch {
		t.Fatalf("trials %+v", got)
	}
	// The train mini-batch score is higher, but only validation competes.
	if b, ok := optimizer.Best(got, optimizer.Maximize); !ok || b.Number != 0 {
		t.Errorf("best %+v, want trial 0 (the validation one)", b)
	}
	self := 3
	for _, bad := range []optimizer.Trial{
		{Number: 3, State: optimizer.Complete, Value: 1, Split: "dev"},
		{Number: 3, State: optimizer.Complete, Value: 1, Parent: &self},
		{Number: 3, State: optimizer.Complete, Value: 1, Data: json.RawMessage("{oops")},
	} {
		if err := s.InsertTrials(ctx, st.ID, []TrialRecord{{Trial: bad}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("trial %+v: %v, want ErrInvalid", bad, err)
		}
	}
}
