package experiments

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/store"
)

// TestFigures runs the figure configs (quickstart, team composition,
// adversarial topology, cost-aware, the six-agent mesh) with every seed and
// prints what the optimizer issues report: each optimizer's test score,
// its gain over the baseline and its paired difference to random search
// (compare --against random); on the adversarial topology, in how many
// seeds the returned team's adversary cannot reach the team answer
// (team.Spec.Reaches) and, for the edge optimizers, the learnt
// probabilities of the adversary's edges; on the mesh, the tokens a test
// question costs the returned team and the baseline. It runs only with
// MABEAM_FIGURES=1 (`make figures`); MABEAM_FIGURES_DIR keeps the stores
// there, MABEAM_FIGURES_LMSEED runs the configs in another simulated world
// (lm.seed), and MABEAM_FIGURES_SINGLE=1 adds the optimized single agent.
func TestFigures(t *testing.T) {
	if os.Getenv("MABEAM_FIGURES") == "" {
		t.Skip("set MABEAM_FIGURES=1 (make figures)")
	}
	dir := os.Getenv("MABEAM_FIGURES_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	ctx := context.Background()
	for _, name := range []string{"quickstart", "team_composition", "topology_adversary", "cost_aware", "mesh_prune"} {
		c, err := Load(name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if v := os.Getenv("MABEAM_FIGURES_LMSEED"); v != "" { // another simulated world
			if c.LM.Seed, err = strconv.ParseUint(v, 10, 64); err != nil {
				t.Fatalf("MABEAM_FIGURES_LMSEED=%s: %v", v, err)
			}
		}
		s := openStoreAt(t, filepath.Join(dir, name+".db"))
		sts, err := c.Studies(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&Runner{Store: s, SingleAgent: os.Getenv("MABEAM_FIGURES_SINGLE") != ""}).Run(ctx, sts); err != nil {
			t.Fatal(err)
		}
		rows, err := Compare(ctx, s, CompareOptions{Experiment: c.Name, Against: "random"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			vs := ""
			if r.VsSeeds > 0 {
				vs = fmt.Sprintf("  vs random %+.3f [%.3f, %.3f]", r.VsMean, r.VsCI[0], r.VsCI[1])
			}
			t.Logf("%-18s %-8s %-6s %d seeds: test %.3f [%.3f, %.3f], baseline %.3f, gain %+.3f [%.3f, %.3f]%s, %.0f calls/study",
				r.Experiment, r.Dataset, r.Optimizer, r.Seeds, r.TestMean, r.TestCI[0], r.TestCI[1], r.BaselineMean,
				r.DiffMean, r.DiffCI[0], r.DiffCI[1], vs, r.LMCalls)
			for _, team := range []string{store.TestSelfConsistency, store.TestSingleAgent} {
				if m, ok := r.Matched[team]; ok {
					t.Logf("%-18s %-8s %-6s against %s %.3f: %+.3f [%.3f, %.3f]", r.Experiment, r.Dataset, r.Optimizer, team,
						m.Mean, m.DiffMean, m.DiffCI[0], m.DiffCI[1])
				}
			}
		}
		if name == "mesh_prune" {
			logTokens(t, ctx, s, sts)
		}
		if name != "topology_adversary" {
			continue
		}
		logAdversaryEdges(t, ctx, s, sts)
		logAdversaryShapley(t, ctx, s, sts)
		cut := map[string][]string{}
		for _, st := range sts {
			rec, err := s.Study(ctx, st.Name)
			if err != nil || rec.Result.BestTrial == nil {
				t.Fatalf("%s: %v", st.Name, err)
			}
			tr, err := s.Trial(ctx, rec.ID, *rec.Result.BestTrial)
			if err != nil {
				t.Fatal(err)
			}
			tm, err := st.Evaluator.Build(tr.Params)
			if err != nil {
				t.Fatal(err)
			}
			spec := tm.Spec()
			mark := "reaches"
			if !spec.Reaches("adversary") {
				mark = "cut off"
			}
			cut[st.Optimizer] = append(cut[st.Optimizer], fmt.Sprintf("seed %d %s (%s, %s, weight %v)", st.Seed, mark,
				spec.Aggregation, tr.Params.String("team/topology"), tr.Params["agent/adversary/weight"]))
		}
		for opt, seeds := range cut {
			n := strings.Count(strings.Join(seeds, "|"), "cut off")
			t.Logf("topology_adversary %s: the adversary cannot reach the team answer in %d of %d seeds: %s", opt, n, len(seeds), strings.Join(seeds, "; "))
		}
	}
}

// logTokens prints, per optimizer, the mean tokens of a test question for
// the returned teams and the baselines.
func logTokens(t *testing.T, ctx context.Context, s *store.Store, sts []*Study) {
	type sum struct{ best, base, n float64 }
	by := map[string]*sum{}
	var opts []string
	for _, st := range sts {
		rec, err := s.Study(ctx, st.Name)
		if err != nil {
			t.Fatal(err)
		}
		if by[st.Optimizer] == nil {
			by[st.Optimizer] = &sum{}
			opts = append(opts, st.Optimizer)
		}
		for team, dst := range map[string]*float64{"best": &by[st.Optimizer].best, "baseline": &by[st.Optimizer].base} {
			rs, err := s.TestResults(ctx, rec.ID, team)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				*dst += float64(r.Tokens)
			}
		}
		by[st.Optimizer].n += float64(len(st.Problem.Test))
	}
	for _, o := range opts {
		b := by[o]
		t.Logf("mesh_prune %s: %.0f tokens a test question against the baseline's %.0f (%+.1f%%)", o, b.best/b.n, b.base/b.n, 100*(b.best/b.base-1))
	}
}

// logAdversaryEdges prints, for the edge optimizers, the learnt
// probability of each edge out of the adversary (the final trial's
// logits), and in how many seeds every one is below 0.1.
func logAdversaryEdges(t *testing.T, ctx context.Context, s *store.Store, sts []*Study) {
	rows := map[string][]string{}
	below := map[string]int{}
	var opts []string
	for _, st := range sts {
		if st.Optimizer != "gptswarm" && st.Optimizer != "agentprune" {
			continue
		}
		rec, err := s.Study(ctx, st.Name)
		if err != nil || rec.Result.BestTrial == nil {
			t.Fatalf("%s: %v", st.Name, err)
		}
		tr, err := s.Trial(ctx, rec.ID, *rec.Result.BestTrial)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Edges []string  `json:"edges"`
			Theta []float64 `json:"theta"`
		}
		if err := json.Unmarshal(tr.Data, &d); err != nil {
			t.Fatalf("%s: trial %d: %v", st.Name, tr.Number, err)
		}
		if _, ok := rows[st.Optimizer]; !ok {
			opts = append(opts, st.Optimizer)
		}
		var ps []string
		all := true
		for i, e := range d.Edges {
			if strings.HasPrefix(e, "team/edge/adversary/") {
				p := 1 / (1 + math.Exp(-d.Theta[i]))
				all = all && p < 0.1
				ps = append(ps, fmt.Sprintf("%.2f", p))
			}
		}
		if all {
			below[st.Optimizer]++
		}
		rows[st.Optimizer] = append(rows[st.Optimizer], fmt.Sprintf("seed %d [%s]", st.Seed, strings.Join(ps, " ")))
	}
	for _, o := range opts {
		t.Logf("topology_adversary %s: every edge out of the adversary below p = 0.1 in %d of %d seeds: %s", o, below[o], len(rows[o]), strings.Join(rows[o], "; "))
	}
}

// logAdversaryShapley prints the adversary's contributions: on each seed's
// baseline team, whether its Shapley value is negative and the team's
// lowest and leave-one-out agrees in sign; on each best team that cuts it
// off from the team answer, whether its Shapley value is zero within its
// interval.
func logAdversaryShapley(t *testing.T, ctx context.Context, s *store.Store, sts []*Study) {
	seen := map[uint64]bool{}
	var base []string
	lowest := 0
	var cut []string
	zero := 0
	for _, st := range sts {
		rec, err := s.Study(ctx, st.Name)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := s.Contributions(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]map[string]store.Contribution{} // team/method → agent
		for _, c := range cs {
			k := c.Team + "/" + c.Method
			if by[k] == nil {
				by[k] = map[string]store.Contribution{}
			}
			by[k][c.Agent] = c
		}
		if !seen[st.Seed] {
			seen[st.Seed] = true
			sh, loo := by["baseline/shapley"], by["baseline/loo"]
			a := sh["adversary"]
			low := a.Value < 0 && loo["adversary"].Value < 0
			for id, c := range sh {
				low = low && (id == "adversary" || c.Value > a.Value)
			}
			if low {
				lowest++
			}
			base = append(base, fmt.Sprintf("seed %d %+.3f [%.3f, %.3f] loo %+.3f", st.Seed, a.Value, a.Lo, a.Hi, loo["adversary"].Value))
		}
		tr, err := s.Trial(ctx, rec.ID, *rec.Result.BestTrial)
		if err != nil {
			t.Fatal(err)
		}
		tm, err := st.Evaluator.Build(tr.Params)
		if err != nil {
			t.Fatal(err)
		}
		if spec := tm.Spec(); !spec.Reaches("adversary") {
			a := by["best/shapley"]["adversary"]
			if a.Lo <= 0 && 0 <= a.Hi {
				zero++
			}
			cut = append(cut, fmt.Sprintf("%s seed %d %+.3f [%.3f, %.3f]", st.Optimizer, st.Seed, a.Value, a.Lo, a.Hi))
		}
	}
	t.Logf("topology_adversary baselines: the adversary's Shapley value negative, the team's lowest and leave-one-out negative in %d of %d seeds: %s",
		lowest, len(base), strings.Join(base, "; "))
	t.Logf("topology_adversary best teams that cut the adversary off: its Shapley value zero within its interval in %d of %d: %s",
		zero, len(cut), strings.Join(cut, "; "))
}

func openStoreAt(t *testing.T, path string) *store.Store {
	t.Helper()
	_ = os.Remove(path)
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
