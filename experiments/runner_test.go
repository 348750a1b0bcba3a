package experiments

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/store"
)

// runnerConfig is a small two-seed config; edit replaces one line.
const runnerConfig = `name: rt
seeds: [1, 2]
lm: {backend: sim, seed: 0}
datasets:
  - {name: arith, family: arithmetic, difficulty: 2, train: 4, val: 10, test: 20, metric: exact}
team:
  agents:
    - id: a1
      role: solver
      model: {choices: [sim-small, sim-medium]}
  aggregation: majority
optimizers:
  - name: random
budget:
  trials: 3
`

func runnerStudies(t *testing.T, src string, model lm.Model) []*Study {
	t.Helper()
	c := mustParse(t, src, "rt.yaml")
	sts, err := c.Studies(model)
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "rt.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestResumeAfterConfigChange(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	r := &Runner{Store: s}
	if _, err := r.Run(ctx, runnerStudies(t, runnerConfig, nil)); err != nil {
		t.Fatal(err)
	}
	r.Resume = true
	// A changed team is refused, naming the field, and touches nothing.
	changed := strings.Replace(runnerConfig, "model: {choices: [sim-small, sim-medium]}", "model: {choices: [sim-small, sim-large]}", 1)
	_, err := r.Run(ctx, runnerStudies(t, changed, nil))
	var ce *ConfigChangedError
	if !errors.Is(err, ErrConfigChanged) || !errors.As(err, &ce) || !strings.Contains(err.Error(), "team.agents[0].model") ||
		!strings.Contains(err.Error(), "--new-experiment") {
		t.Fatalf("changed team: %v", err)
	}
	if sts, _ := s.Studies(ctx, "rt"); len(sts) != 2 || sts[0].Status != store.StatusComplete {
		t.Fatalf("a refused resume changed the store: %+v", sts)
	}
	// A raised budget continues the same studies.
	raised := strings.Replace(runnerConfig, "trials: 3", "trials: 5", 1)
	sums, err := r.Run(ctx, runnerStudies(t, raised, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 2 || sums[0].Trials != 5 || sums[1].Trials != 5 {
		t.Errorf("after raising the budget to 5 trials: %+v", sums)
	}
	// A new experiment name runs the changed config beside the old one.
	c := mustParse(t, changed, "rt.yaml")
	if err := c.Rename("rt2"); err != nil {
		t.Fatal(err)
	}
	sts, err := c.Studies(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(ctx, sts); err != nil {
		t.Fatalf("--new-experiment: %v", err)
	}
	if all, _ := s.Studies(ctx, ""); len(all) != 4 {
		t.Errorf("%d studies, want 2 per experiment", len(all))
	}
	if err := c.Rename("Bad Name"); err == nil {
		t.Error("Rename accepted a name with a space")
	}

	// compare shows the studies of each experiment's latest config: with
	// seeds [1] only, seed 2's study is left out unless --all.
	one := strings.Replace(raised, "seeds: [1, 2]", "seeds: [1]", 1)
	if _, err := r.Run(ctx, runnerStudies(t, one, nil)); err != nil {
		t.Fatal(err)
	}
	rows, err := Compare(ctx, s, CompareOptions{Experiment: "rt"})
	if err != nil || len(rows) != 1 || rows[0].Seeds != 1 {
		t.Fatalf("compare after dropping seed 2: %+v, %v", rows, err)
	}
	rows, _ = Compare(ctx, s, CompareOptions{Experiment: "rt", All: true})
	if len(rows) != 1 || rows[0].Seeds != 2 {
		t.Fatalf("compare --all: %+v", rows)
	}
	// Two seeds give an interval from their test examples too, never a
	// zero-width one; it holds the mean, and the cost columns are per study.
	if c := rows[0]; !(c.TestCI[0] < c.TestMean && c.TestMean < c.TestCI[1]) || !(c.DiffCI[0] < c.DiffCI[1]) || !c.CostIncludesTest || c.CostUSD <= 0 {
		t.Errorf("compare row %+v", c)
	}
}

// TestSecondRunRefused: a study held by a live run is refused at once,
// naming the holder, and left untouched; a stale lease is taken over.
func TestSecondRunRefused(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	sts := runnerStudies(t, runnerConfig, nil)
	first := &Runner{Store: s, Holder: "other-host:1:live"}
	if _, err := s.CreateStudy(ctx, store.Study{Name: sts[0].Name, Experiment: "rt", Config: sts[0].ConfigJSON,
		ConfigHash: sts[0].ConfigHash, Budget: sts[0].Budget}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, sts[0].Name, first.Holder, time.Minute); err != nil {
		t.Fatal(err)
	}
	second := &Runner{Store: s, Resume: true}
	start := time.Now()
	_, err := second.Run(ctx, sts)
	if !errors.Is(err, store.ErrLeased) || !strings.Contains(err.Error(), "other-host:1:live") {
		t.Fatalf("second run: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("refusal took %v", took)
	}
	if trials, _ := s.Trials(ctx, 1); len(trials) != 0 {
		t.Errorf("the refused run wrote %d trials", len(trials))
	}
	// The holder stops renewing: after the ttl the lease is taken over.
	second.LeaseTTL = 50 * time.Millisecond
	time.Sleep(60 * time.Millisecond)
	if _, err := second.Run(ctx, sts); err != nil {
		t.Fatalf("after the lease expired: %v", err)
	}
	st, _ := s.Study(ctx, sts[0].Name)
	if st.Lease.Holder != "" || st.Status != store.StatusComplete {
		t.Errorf("after the run: lease %+v, status %s", st.Lease, st.Status)
	}
}

// TestTwoWorldsOneCache: two configs that differ only in lm.seed, sharing
// one store with the cache on, each get their own results.
func TestTwoWorldsOneCache(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	sums := map[string]Summary{}
	for _, src := range []string{runnerConfig, strings.Replace(strings.Replace(runnerConfig, "seed: 0", "seed: 1", 1), "name: rt", "name: rt1", 1)} {
		c := mustParse(t, src, "rt.yaml")
		model := lm.Cached(sim.New(&sim.Options{Seed: c.LMSeed()}), s)
		sts, err := c.Studies(model)
		if err != nil {
			t.Fatal(err)
		}
		out, err := (&Runner{Store: s}).Run(ctx, sts)
		if err != nil {
			t.Fatal(err)
		}
		// The same world alone, without a cache.
		alone, err := (&Runner{Store: openStore(t)}).Run(ctx, runnerStudies(t, src, sim.New(&sim.Options{Seed: c.LMSeed()})))
		if err != nil {
			t.Fatal(err)
		}
		for i := range out {
			if *out[i].TestScore != *alone[i].TestScore || out[i].CostUSD != alone[i].CostUSD {
				t.Errorf("%s: with the shared cache test %.3f cost %g; alone test %.3f cost %g",
					out[i].Study, *out[i].TestScore, out[i].CostUSD, *alone[i].TestScore, alone[i].CostUSD)
			}
			sums[c.Name+out[i].Study] = out[i]
		}
	}
	if len(sums) != 4 {
		t.Fatalf("summaries %v", sums)
	}
}

// TestRunnerStop: Stop ends the run after the trial in progress, which is
// stored; the study is left interrupted and --resume finishes it.
func TestRunnerStop(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	calls := 0
	r := &Runner{Store: s, Stop: func() bool { calls++; return calls == 2 }}
	_, err := r.Run(ctx, runnerStudies(t, runnerConfig, nil))
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("run with Stop: %v", err)
	}
	st, _ := s.Study(ctx, "rt/arith/random/seed1")
	trials, _ := s.Trials(ctx, st.ID)
	if st.Status != store.StatusInterrupted || len(trials) != 2 {
		t.Fatalf("after Stop: status %s, %d trials; want interrupted after 2", st.Status, len(trials))
	}
	r = &Runner{Store: s, Resume: true}
	sums, err := r.Run(ctx, runnerStudies(t, runnerConfig, nil))
	if err != nil || sums[0].Trials != 3 {
		t.Errorf("resume after Stop: %+v, %v", sums, err)
	}
}
