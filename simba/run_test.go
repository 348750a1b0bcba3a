package simba_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/internal/studytest"
	"github.com/mabeam/mabeam/lm"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/simba"
)

const smallTeam = `
name: t
seeds: [3]
lm: {backend: sim, seed: 0}
datasets:
  - {name: arith, family: arithmetic, difficulty: 2, train: 64, val: 40, test: 100, metric: numeric}
team:
  agents:
    - id: s1
      role: solver
      model: {choices: [sim-small, sim-medium, sim-large], default: sim-small}
      temperature: {low: 0, high: 1, step: 0.25}
    - id: s2
      role: solver
      model: {choices: [sim-small, sim-medium], default: sim-small}
    - id: critic
      role: critic
      optional: true
      model: sim-medium
  topology: {choices: [mesh, chain, star]}
  rounds: {low: 0, high: 2, default: 1}
  aggregation: {choices: [majority, weighted]}
optimizers:
  - name: simba
    settings: {batch_size: 16, num_candidates: 3, max_steps: 3}
budget:
  calls: 1000000
`

// TestResumeReplays: a study stopped after any trial and resumed from its
// stored trials (History) ends with the same trial table as an
// uninterrupted run: the pool, winners and random streams are rebuilt
// from the trials, and no stored trial is run again.
func TestResumeReplays(t *testing.T) {
	st := studytest.First(t, smallTeam)
	for _, b := range []optimizer.Budget{st.Budget, {Calls: 1500}, {Calls: 2200}} {
		full, err := st.Opt.Optimize(context.Background(), st.Problem, b)
		if err != nil {
			t.Fatal(err)
		}
		want := studytest.Strip(full.Trials)
		cuts := []int{1, 2, 5, 7, 8, 12, 19, 21, 30, len(want) - 2, len(want) - 1}
		if b.Calls < st.Budget.Calls { // a run the budget cuts: every cut
			cuts = cuts[:0]
			for c := 1; c < len(want); c++ {
				cuts = append(cuts, c)
			}
		}
		for _, cut := range cuts {
			p := *st.Problem
			p.History = slices.Clone(full.Trials[:cut])
			ran := 0
			p.OnTrial = func(_ context.Context, tr optimizer.Trial, _ *evaluation.Report) error {
				if tr.Number < cut {
					t.Errorf("budget %d, cut %d: trial %d ran again", b.Calls, cut, tr.Number)
				}
				ran++
				return nil
			}
			res, err := st.Opt.Optimize(context.Background(), &p, b)
			if err != nil {
				t.Fatalf("budget %d, cut %d: %v", b.Calls, cut, err)
			}
			if got := studytest.Strip(res.Trials); !reflect.DeepEqual(got, want) {
				for i := range min(len(got), len(want)) {
					if !reflect.DeepEqual(got[i], want[i]) {
						t.Fatalf("budget %d, cut %d: trial %d differs:\n got %+v\nwant %+v", b.Calls, cut, i, got[i], want[i])
					}
				}
				t.Fatalf("budget %d, cut %d: %d trials, want %d", b.Calls, cut, len(got), len(want))
			}
			if ran != len(want)-cut || res.Spent != full.Spent {
				t.Errorf("budget %d, cut %d: ran %d trials (want %d), spent %+v (want %+v)", b.Calls, cut, ran, len(want)-cut, res.Spent, full.Spent)
			}
		}
	}
}

// run runs a study, keeping each trial's examples.
func runStudy(t *testing.T, st *experiments.Study, b optimizer.Budget) (*optimizer.Result, map[int][]string) {
	t.Helper()
	exs := map[int][]string{}
	p := *st.Problem
	p.OnTrial = func(_ context.Context, tr optimizer.Trial, rep *evaluation.Report) error {
		if rep != nil {
			for _, e := range rep.Examples {
				exs[tr.Number] = append(exs[tr.Number], e.ID)
			}
		}
		return nil
	}
	res, err := st.Opt.Optimize(context.Background(), &p, b)
	if err != nil {
		t.Fatal(err)
	}
	return res, exs
}

// TestStepStructure pins the structure of every step: the rollouts run
// each (variant, example) pair of the batch once, with distinct sample
// indices; NumCandidates + 1 candidates are scored on that batch; the
// final trials score the evenly spaced winners on the validation split.
func TestStepStructure(t *testing.T) {
	st := studytest.First(t, smallTeam)
	const n, bs, steps = 3, 16, 3
	res, exs := runStudy(t, st, st.Budget)
	train := map[string]bool{}
	for _, ex := range st.Problem.Train {
		train[ex.ID] = true
	}
	batch := map[int][]string{0: exs[0]}
	pairs := map[int]map[string]int{}
	cands := map[int]int{}
	winners := []int{0}
	bestOf := map[int]optimizer.Trial{}
	var finals []optimizer.Trial
	for _, tr := range res.Trials {
		switch tr.Strategy {
		case simba.StrategyBaseline:
			if tr.Number != 0 || tr.Split != optimizer.SplitTrain || len(exs[0]) != bs {
				t.Errorf("baseline trial %+v", tr)
			}
		case simba.StrategyRollout:
			var d struct {
				Variant, Sample int
				Trajectories    []struct{ Example string }
			}
			if err := json.Unmarshal(tr.Data, &d); err != nil || d.Sample != d.Variant+1 || len(d.Trajectories) != tr.Batch {
				t.Fatalf("rollout %d data %s: %v", tr.Number, tr.Data, err)
			}
			if pairs[tr.Step] == nil {
				pairs[tr.Step] = map[string]int{}
			}
			for _, e := range exs[tr.Number] {
				pairs[tr.Step][fmt.Sprintf("%d/%s", d.Variant, e)]++
			}
		case simba.AppendDemo, simba.AppendRule, simba.TeamMove:
			cands[tr.Step]++
			if b, ok := batch[tr.Step]; !ok {
				batch[tr.Step] = exs[tr.Number]
			} else if !slices.Equal(b, exs[tr.Number]) {
				t.Errorf("candidate %d scored on another batch", tr.Number)
			}
			if w, ok := bestOf[tr.Step]; !ok || tr.Value > w.Value {
				bestOf[tr.Step] = tr
			}
			if err := st.TeamSpace.Space().Validate(tr.Params); err != nil {
				t.Errorf("candidate %d (%s) is not a point of the space: %v", tr.Number, tr.Strategy, err)
			}
			for id, a := range tr.Agents {
				for _, d := range a.Demos {
					if !train[d.Example] {
						t.Errorf("candidate %d: agent %s shows a demo of %q, not a train example", tr.Number, id, d.Example)
					}
				}
			}
		case simba.StrategyFinal:
			finals = append(finals, tr)
		default:
			t.Errorf("trial %d: strategy %q", tr.Number, tr.Strategy)
		}
	}
	for s := 1; s <= steps; s++ {
		if cands[s] != n+1 {
			t.Errorf("step %d: %d candidates, want %d", s, cands[s], n+1)
		}
		if len(pairs[s]) != n*bs {
			t.Errorf("step %d: rollouts cover %d (variant, example) pairs, want %d", s, len(pairs[s]), n*bs)
		}
		for k, c := range pairs[s] {
			if c != 1 {
				t.Errorf("step %d: pair %s ran %d times", s, k, c)
			}
		}
		for k := range pairs[s] {
			if _, e, _ := strings.Cut(k, "/"); !slices.Contains(batch[s], e) {
				t.Errorf("step %d: rollout of %s, outside the candidates' batch", s, e)
			}
		}
		winners = append(winners, bestOf[s].Number)
	}
	// 4 winners, 4 final picks: indices 0, 1, 2, 3.
	if len(finals) != n+1 {
		t.Fatalf("%d final trials, want %d", len(finals), n+1)
	}
	for i, f := range finals {
		if f.Split != optimizer.SplitVal || f.Batch != len(st.Problem.Val) || *f.Parent != winners[i] || f.State != optimizer.Complete {
			t.Errorf("final %d: %+v, want winner trial %d on validation", i, f, winners[i])
		}
	}
	if !res.BestOK || res.Best.Strategy != simba.StrategyFinal {
		t.Errorf("best %+v", res.Best)
	}
}

// TestStoredTrialReplays: a stored candidate trial's program, run again on
// its batch, scores what the trial recorded.
func TestStoredTrialReplays(t *testing.T) {
	st := studytest.First(t, smallTeam)
	res, exs := runStudy(t, st, st.Budget)
	byID := map[string]datasets.Example{}
	for _, ex := range append(slices.Clone(st.Problem.Train), st.Problem.Val...) {
		byID[ex.ID] = ex
	}
	checked := 0
	for _, tr := range res.Trials {
		if tr.Strategy == simba.StrategyRollout || tr.State != optimizer.Complete {
			continue
		}
		var batch []datasets.Example
		for _, id := range exs[tr.Number] {
			batch = append(batch, byID[id])
		}
		rep, err := st.Evaluator.EvaluateProgram(context.Background(), tr.Program(), batch, optimizer.EvalOptions{})
		if err != nil || rep.Mean != tr.Value {
			t.Errorf("trial %d (%s): replays to %v (%v), stored %v", tr.Number, tr.Strategy, rep.Mean, err, tr.Value)
		}
		checked++
	}
	if checked < 10 {
		t.Errorf("only %d trials checked", checked)
	}
}

// TestBudgetEndsWithValidation: a call budget that runs out mid-study
// still ends with the final selection scored on the validation split,
// within the budget.
func TestBudgetEndsWithValidation(t *testing.T) {
	st := studytest.First(t, smallTeam)
	for _, calls := range []int64{900, 1500, 2200} {
		b := optimizer.Budget{Calls: calls}
		res, _ := runStudy(t, st, b)
		if res.Spent.Calls > calls {
			t.Errorf("budget %d: spent %d calls", calls, res.Spent.Calls)
		}
		finals := 0
		for _, tr := range res.Trials {
			if tr.Strategy == simba.StrategyFinal && tr.State == optimizer.Complete {
				finals++
			}
		}
		if finals == 0 || !res.BestOK || res.Best.Split != optimizer.SplitVal {
			t.Errorf("budget %d: %d complete final trials, best %+v", calls, finals, res.Best)
		}
		t.Logf("budget %d: %d trials, %d calls, %d finals", calls, len(res.Trials), res.Spent.Calls, finals)
	}
}

func TestSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		settings map[string]any
		want     string
	}{
		{map[string]any{"batch_size": -1}, "batch_size"},
		{map[string]any{"strategies": []any{"append_demo", "mutate"}}, `strategies[1] is "mutate"`},
		{map[string]any{"rollout_temperature": 3}, "rollout_temperature"},
		{map[string]any{"batch": 3}, "unknown field"},
	} {
		if _, err := optimizer.New("simba", tc.settings); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %q", tc.settings, err, tc.want)
		}
	}
	// A train split smaller than one batch: refused when the config is
	// compiled, naming the optimizer, and by Optimize itself.
	c, err := experiments.Parse([]byte(strings.Replace(smallTeam, "batch_size: 16", "batch_size: 65", 1)), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const want = "64 examples, fewer than one batch (batch_size 65)"
	if _, err := c.Studies(nil); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "optimizers[0]") {
		t.Errorf("a train split smaller than the batch: %v", err)
	}
	st := studytest.First(t, smallTeam)
	big := &simba.SIMBA{Settings: simba.Settings{BatchSize: 65}}
	if _, err := big.Optimize(context.Background(), st.Problem, st.Budget); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Optimize with a train split smaller than the batch: %v", err)
	}
}

// TestResumeWithAnotherBudget: a study whose steps its budget cut, resumed
// with another budget (which would have taken it elsewhere), is refused
// with ErrHistoryMismatch, naming the way out, and runs nothing; resumed
// with the same budget it replays.
func TestResumeWithAnotherBudget(t *testing.T) {
	st := studytest.First(t, smallTeam)
	small := optimizer.Budget{Calls: 1500}
	res, _ := runStudy(t, st, small)
	p := *st.Problem
	p.History = res.Trials
	ran := 0
	p.OnTrial = func(context.Context, optimizer.Trial, *evaluation.Report) error { ran++; return nil }
	if _, err := st.Opt.Optimize(context.Background(), &p, small); err != nil || ran != 0 {
		t.Fatalf("same budget: %v, %d trials ran", err, ran)
	}
	for _, b := range []optimizer.Budget{{Calls: 1600}, {Calls: 100000}, {Calls: 1000}} {
		_, err := st.Opt.Optimize(context.Background(), &p, b)
		if !errors.Is(err, optimizer.ErrHistoryMismatch) || !strings.Contains(err.Error(), "--new-experiment") || ran != 0 {
			t.Errorf("budget %d instead of %d: %v (%d trials ran), want ErrHistoryMismatch", b.Calls, small.Calls, err, ran)
		}
	}
	// A study its budget never cut replays under a larger one.
	full, _ := runStudy(t, st, st.Budget)
	p.History = full.Trials
	if _, err := st.Opt.Optimize(context.Background(), &p, optimizer.Budget{Calls: 2 * st.Budget.Calls}); err != nil || ran != 0 {
		t.Errorf("a larger budget on a study it never cut: %v, %d trials ran", err, ran)
	}
}

// mumbler answers every introspection call with text that holds no rule.
type mumbler struct{}

func (mumbler) Generate(context.Context, lm.Request) (lm.Response, error) {
	return lm.Response{Text: "I cannot say.", Usage: lm.Usage{PromptTokens: 50, CompletionTokens: 4}, Cost: 0.001}, nil
}

// TestDroppedCandidates: a strategy error drops the candidate, which is
// stored as a failed trial charged with its introspection call; the step
// still scores NumCandidates + 1 candidates, and a resume replays the
// drops.
func TestDroppedCandidates(t *testing.T) {
	st := studytest.First(t, strings.Replace(smallTeam, "max_steps: 3}", "max_steps: 2, strategies: [append_rule, team_move]}", 1))
	st.Problem.Model = mumbler{}
	res, _ := runStudy(t, st, st.Budget)
	drops, scored := 0, map[int]int{}
	for _, tr := range res.Trials {
		switch {
		case tr.State == optimizer.Failed:
			if tr.Strategy != simba.AppendRule || tr.Calls != 1 || tr.Cost != 0.001 || !strings.Contains(tr.Err, "Rule for") {
				t.Errorf("dropped trial %+v", tr)
			}
			drops++
		case tr.Strategy == simba.AppendRule || tr.Strategy == simba.TeamMove:
			scored[tr.Step]++
		}
	}
	if drops == 0 || scored[1] != 4 || scored[2] != 4 {
		t.Fatalf("%d drops, scored candidates per step %v, want some drops and 4 a step", drops, scored)
	}
	want := studytest.Strip(res.Trials)
	for cut := 1; cut < len(want); cut++ {
		p := *st.Problem
		p.History = slices.Clone(res.Trials[:cut])
		got, err := st.Opt.Optimize(context.Background(), &p, st.Budget)
		if err != nil || !reflect.DeepEqual(studytest.Strip(got.Trials), want) {
			t.Fatalf("cut %d: the resumed run differs (%v)", cut, err)
		}
	}
}
