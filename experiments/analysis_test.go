package experiments

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/store"
)

// teamConfig is a config of n agents (the last one sim-adversary when adv)
// on arithmetic, with the given test examples.
func teamConfig(n, test int, adv bool, rounds int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `name: contrib
seeds: [1]
lm: {backend: sim, seed: 4}
datasets:
  - {name: arith, family: arithmetic, difficulty: 2, train: 10, val: 10, test: %d, metric: numeric}
team:
  agents:
`, test)
	for i := range n {
		model := []string{"sim-medium", "sim-large", "sim-small"}[i%3]
		if adv && i == n-1 {
			model = "sim-adversary"
		}
		fmt.Fprintf(&b, "    - {id: a%d, model: %s}\n", i+1, model)
	}
	fmt.Fprintf(&b, "  topology: mesh\n  rounds: %d\noptimizers:\n  - name: random\nbudget:\n  trials: 1\n", rounds)
	return b.String()
}

func compiled(t testing.TB, yaml string) *Study {
	t.Helper()
	c, err := Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sts, err := c.Studies(nil)
	if err != nil {
		t.Fatal(err)
	}
	return sts[0]
}

// TestAnalyzeAdversary: on a baseline team with one confidently wrong
// agent, the adversary's Shapley value and leave-one-out are negative with
// their intervals below zero, it is the team's lowest, the honest agents'
// are positive, and the team's measures are in their ranges.
func TestAnalyzeAdversary(t *testing.T) {
	st := compiled(t, teamConfig(4, 300, true, 1))
	ctx := context.Background()
	prog := optimizer.Program{Params: st.Problem.Baseline}
	rep, err := st.Evaluator.EvaluateProgram(ctx, prog, st.Problem.Test, optimizer.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(ctx, st.Evaluator, prog, st.Problem.Test, rep, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := a.Contributions
	if c.Coalitions != 15 || c.Shapley[0].Method != evaluation.MethodShapley {
		t.Errorf("%d coalitions scored, method %s", c.Coalitions, c.Shapley[0].Method)
	}
	adv := c.Shapley[3]
	if adv.Agent != "a4" || adv.CI95[1] >= 0 || c.LOO[3].CI95[1] >= 0 {
		t.Errorf("the adversary: Shapley %+v, LOO %+v", adv, c.LOO[3])
	}
	for i := range 3 {
		if c.Shapley[i].CI95[0] <= 0 {
			t.Errorf("honest agent %s: Shapley %+v", c.Shapley[i].Agent, c.Shapley[i])
		}
	}
	if got := a.Metrics["score"]; got != rep.Mean || a.Metrics["best_single"] <= 0 || a.Metrics["communication_calls"] != 0.5 {
		t.Errorf("metrics %v", a.Metrics)
	}
	dylan := 0
	for _, r := range a.Records() {
		if r.Method == evaluation.MethodDyLAN {
			dylan++
			if r.Agent == "a4" && r.Value >= 0.25 {
				t.Errorf("the adversary's DyLAN importance %g is not below an equal share", r.Value)
			}
		}
	}
	if dylan != 4 || a.Spent.Calls == 0 {
		t.Errorf("%d DyLAN records, %d analysis calls", dylan, a.Spent.Calls)
	}
}

// BenchmarkShapley8 measures exact Shapley values of an 8-agent team (no
// debate rounds) on 200 test examples on the surrogate model: 255
// coalitions.
func BenchmarkShapley8(b *testing.B) {
	benchContrib(b, 8, nil)
}

// BenchmarkShapleyMC30 measures permutation Monte Carlo Shapley values of a
// 30-agent team on 200 test examples to a standard error of 0.01.
func BenchmarkShapleyMC30(b *testing.B) {
	benchContrib(b, 30, &evaluation.ContributeOptions{TargetSE: 0.01})
}

func benchContrib(b *testing.B, n int, o *evaluation.ContributeOptions) {
	st := compiled(b, teamConfig(n, 200, true, 0))
	ctx := context.Background()
	prog := optimizer.Program{Params: st.Problem.Baseline}
	var c *evaluation.Contributions
	for b.Loop() {
		ids, v, err := st.Evaluator.Coalitions(prog, st.Problem.Test, nil)
		if err != nil {
			b.Fatal(err)
		}
		if c, err = evaluation.Contribute(ctx, ids, v, o); err != nil {
			b.Fatal(err)
		}
	}
	se := 0.0
	for _, s := range c.Shapley {
		se = max(se, s.SE)
	}
	b.ReportMetric(float64(c.Coalitions), "coalitions")
	b.ReportMetric(float64(c.Permutations), "permutations")
	b.ReportMetric(se, "max-SE")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}

// TestSelfConsistency: the baseline takes the model whose single agent
// scores best on validation, as many samples as the best team's cost a
// question pays for (one, flagged, when a call costs more), and makes that
// many calls a test question.
func TestSelfConsistency(t *testing.T) {
	st := compiled(t, teamConfig(3, 60, false, 1))
	ctx := context.Background()
	best, err := st.Evaluator.EvaluateProgram(ctx, optimizer.Program{Params: st.Problem.Baseline}, st.Problem.Test, optimizer.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := BestSingleModel(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := SelfConsistency(ctx, st, best, m)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Model != "sim-large" || sc.OverBudget {
		t.Errorf("model %s (val %.3f), over budget %v", sc.Model, sc.Val, sc.OverBudget)
	}
	want := int(math.Floor(sc.TeamCost / sc.PerCall))
	if sc.N != want || sc.N < 2 || sc.Test.Calls != sc.N*len(st.Problem.Test) || sc.Test.Cost/float64(sc.Test.N) > sc.TeamCost*1.05 {
		t.Errorf("%d samples (want %d), %d calls, %.5f a question against the team's %.5f", sc.N, want, sc.Test.Calls, sc.Test.Cost/float64(sc.Test.N), sc.TeamCost)
	}
	if sc.Test.Agreement >= 1 {
		t.Errorf("the samples always agree (%.3f): they are not distinct samples", sc.Test.Agreement)
	}
	cheap := *best
	cheap.Cost = sc.PerCall * float64(best.N) / 2
	sc, err = SelfConsistency(ctx, st, &cheap, m)
	if err != nil {
		t.Fatal(err)
	}
	if sc.N != 1 || !sc.OverBudget {
		t.Errorf("a team cheaper than one call: %d samples, over budget %v", sc.N, sc.OverBudget)
	}
}

// TestSingleAgent: the matched single agent keeps the team's first
// solver with its own searched variables, fixes its model, and runs the
// same optimizer at the same budget; the edge optimizers do not apply.
func TestSingleAgent(t *testing.T) {
	cfg := strings.Replace(teamConfig(3, 20, false, 1), "    - {id: a1, model: sim-medium}", "    - {id: a1, model: {choices: [sim-small, sim-medium]}, temperature: {low: 0, high: 1}}", 1)
	st := compiled(t, cfg)
	one, err := st.SingleAgent("sim-large")
	if err != nil {
		t.Fatal(err)
	}
	names := one.Problem.Space.Names()
	if one.Budget != st.Budget || one.Optimizer != st.Optimizer || !slices.Contains(names, "agent/a1/temperature") || slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, "a2") }) {
		t.Errorf("single-agent study: budget %+v, optimizer %s, space %v", one.Budget, one.Optimizer, names)
	}
	if m := one.Problem.Baseline.String("agent/a1/model"); m != "sim-large" {
		t.Errorf("the single agent's model %q", m)
	}
	if len(one.Problem.Test) != len(st.Problem.Test) || one.Problem.Test[0].ID != st.Problem.Test[0].ID {
		t.Error("the single agent is not scored on the study's test split")
	}
	edge := strings.Replace(strings.Replace(teamConfig(3, 20, false, 1), "topology: mesh", "topology: {choices: [mesh, explicit]}\n  edges: [[a1, a2], [a2, a1]]\n  search_edges: true", 1), "name: random", "name: gptswarm", 1)
	if _, err := compiled(t, edge).SingleAgent("sim-large"); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("gptswarm on one agent: %v", err)
	}
}

// TestRunnerBaselines: a run stores the analytics and the matched
// baselines of every study, and Compare pairs the best team with them.
func TestRunnerBaselines(t *testing.T) {
	c, err := Parse([]byte(strings.Replace(teamConfig(3, 40, true, 1), "trials: 1", "trials: 4", 1)), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sts, err := c.Studies(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := openStoreAt(t, filepath.Join(t.TempDir(), "b.db"))
	if _, err := (&Runner{Store: s, SingleAgent: true}).Run(ctx, sts); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Study(ctx, sts[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, team := range []string{store.TestSelfConsistency, store.TestSingleAgent} {
		if rs, err := s.TestResults(ctx, rec.ID, team); err != nil || len(rs) != 40 {
			t.Errorf("%s: %d test results, %v", team, len(rs), err)
		}
	}
	cs, err := s.Contributions(ctx, rec.ID)
	if err != nil || len(cs) != 2*3*3 { // two teams × three agents × (shapley, loo, dylan)
		t.Errorf("%d contributions stored, %v", len(cs), err)
	}
	rows, err := Compare(ctx, s, CompareOptions{})
	if err != nil || len(rows) != 1 || len(rows[0].Matched) != 2 {
		t.Fatalf("compare: %+v, %v", rows, err)
	}
}

// TestBestAt: the best-so-far at a cost is the last point within it, and
// undefined before the first validation trial.
func TestBestAt(t *testing.T) {
	nan := math.NaN()
	c := []costPoint{{1, nan}, {2, 0.5}, {3, 0.5}, {4, 0.8}}
	for _, tc := range []struct{ at, want float64 }{{0.5, nan}, {1, nan}, {2, 0.5}, {3.9, 0.5}, {4, 0.8}, {9, 0.8}} {
		if got := bestAt(c, tc.at); !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("bestAt(%g) = %g, want %g", tc.at, got, tc.want)
		}
	}
}
