package experiments

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/store"
)

// TestFigures runs the figure configs (quickstart, team composition,
// adversarial topology, cost-aware) with every seed and prints what the
// SIMBA issue reports: each optimizer's test score, its gain over the
// baseline and its paired difference to random search (compare --against
// random), and, on the adversarial topology, in how many seeds the
// returned team's adversary cannot reach the team answer
// (team.Spec.Reaches). It runs only with MABEAM_FIGURES=1 (`make
// figures`); MABEAM_FIGURES_DIR keeps the stores there.
func TestFigures(t *testing.T) {
	if os.Getenv("MABEAM_FIGURES") == "" {
		t.Skip("set MABEAM_FIGURES=1 (make figures)")
	}
	dir := os.Getenv("MABEAM_FIGURES_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	ctx := context.Background()
	for _, name := range []string{"quickstart", "team_composition", "topology_adversary", "cost_aware"} {
		c, err := Load(name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		s := openStoreAt(t, filepath.Join(dir, name+".db"))
		sts, err := c.Studies(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&Runner{Store: s}).Run(ctx, sts); err != nil {
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
		}
		if name != "topology_adversary" {
			continue
		}
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
