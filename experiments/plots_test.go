package experiments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/store"
)

// tinyStore runs testdata/plots.yaml into a store in a temporary directory.
func tinyStore(t *testing.T) *store.Store {
	t.Helper()
	return tinyInto(t, openStore(t))
}

// tinyStudies compiles testdata/plots.yaml: random search and SIMBA, two
// seeds each.
func tinyStudies(t *testing.T) (*Config, []*Study) {
	t.Helper()
	c, err := Load(filepath.Join("testdata", "plots.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sts, err := c.Studies(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, sts
}

// tinyInto runs testdata/plots.yaml into s.
func tinyInto(t *testing.T, s *store.Store) *store.Store {
	t.Helper()
	_, sts := tinyStudies(t)
	if _, err := (&Runner{Store: s}).Run(context.Background(), sts); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPlotsOfATinyExperiment(t *testing.T) {
	ctx := context.Background()
	s := tinyStore(t)
	set, err := Plots(ctx, s, PlotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	names := map[string]bool{}
	for _, np := range set.Plots {
		kinds[np.Kind]++
		if names[np.Name] {
			t.Errorf("name %q twice", np.Name)
		}
		names[np.Name] = true
		if strings.ContainsAny(np.Name, "/\\ ") || np.Plot == nil || np.Caption == "" {
			t.Errorf("plot %+v: want a file name, a plot and a caption", np)
		}
	}
	want := map[string]int{
		PlotHistoryCalls: 1, PlotHistoryCost: 1, PlotPareto: 1,
		PlotImportance:    1, // random's; SIMBA has too few validation trials
		PlotContributions: 8, // best and baseline of 4 studies
		PlotTopology:      4,
		PlotSteps:         2, // the SIMBA studies
	}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s plots, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	for _, n := range []string{"tiny_arith_history_calls", "tiny_arith_pareto", "tiny_arith_importance_random",
		"tiny_arith_random_seed1_topology", "tiny_arith_simba_seed2_steps", "tiny_arith_simba_seed1_contributions_baseline"} {
		if !names[n] {
			t.Errorf("no plot %s", n)
		}
	}
	if len(set.Notes) != 1 || !strings.Contains(set.Notes[0], "importance_simba") || !strings.Contains(set.Notes[0], "too few") {
		t.Errorf("notes %q, want one on SIMBA's importance", set.Notes)
	}

	// An in-memory store, read with store.Trials, gives the same plots.
	mem, err := Plots(ctx, tinyInto(t, openStoreMemory(t)), PlotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(mem.Plots) != len(set.Plots) {
		t.Errorf("%d plots of the in-memory store, want %d", len(mem.Plots), len(set.Plots))
	}
	for i := range min(len(mem.Plots), len(set.Plots)) {
		if a, b := mem.Plots[i], set.Plots[i]; a.Name != b.Name || a.Plot.Title.Text != b.Plot.Title.Text {
			t.Errorf("plot %d of the in-memory store: %s %q, want %s %q", i, a.Name, a.Plot.Title.Text, b.Name, b.Plot.Title.Text)
		}
	}

	// One study: its own plots, and the group's from its trials alone.
	one, err := Plots(ctx, s, PlotOptions{Study: "tiny/arith/simba/seed1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, np := range one.Plots {
		if np.Study != "" && np.Study != "tiny/arith/simba/seed1" {
			t.Errorf("--study drew %s of %s", np.Kind, np.Study)
		}
	}
	if _, err := Plots(ctx, s, PlotOptions{Study: "nosuch"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown study: %v, want ErrNotFound", err)
	}
	empty := openStore(t)
	if _, err := Plots(ctx, empty, PlotOptions{}); !errors.Is(err, ErrNoStudies) {
		t.Errorf("empty store: %v, want ErrNoStudies", err)
	}
	if _, err := ReportPage(ctx, empty, ReportOptions{}); !errors.Is(err, ErrNoStudies) {
		t.Errorf("empty store report: %v, want ErrNoStudies", err)
	}
}

// TestTrialOutcomesMatchStore checks that the plots' read of the trials
// gives what store.Trials gives, in the fields the plots use.
func TestTrialOutcomesMatchStore(t *testing.T) {
	ctx := context.Background()
	s := tinyStore(t)
	sts, err := s.Studies(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		want, err := s.Trials(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.TrialOutcomes(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || len(got) == 0 {
			t.Fatalf("%s: %d trials, want %d", st.Name, len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			same := g.Value == w.Value || math.IsNaN(g.Value) && math.IsNaN(w.Value)
			if g.Number != w.Number || g.State != w.State || !same || g.Batch != w.Batch || g.Calls != w.Calls || g.Tokens != w.Tokens ||
				g.Cost != w.Cost || g.Split != w.Split || g.Strategy != w.Strategy || g.Step != w.Step {
				t.Errorf("%s trial %d: %+v, want %+v", st.Name, w.Number, g, w)
			}
			if competes(&w) && !reflect.DeepEqual(g.Params, w.Params) {
				t.Errorf("%s trial %d: params %v, want %v", st.Name, w.Number, g.Params, w.Params)
			}
		}
	}
}

func openStoreMemory(t *testing.T) *store.Store {
	s, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestHistoryRuns checks the best-so-far runs: x the cumulative calls of
// every trial, y the best among complete validation trials only.
func TestHistoryRuns(t *testing.T) {
	ps := &plotStudy{st: store.Study{Direction: optimizer.Maximize}, trials: []optimizer.Trial{
		{Number: 0, State: optimizer.Complete, Split: optimizer.SplitTrain, Value: 0.9, Calls: 10, Cost: 1},
		{Number: 1, State: optimizer.Complete, Split: optimizer.SplitVal, Value: 0.5, Calls: 5, Cost: 0.5},
		{Number: 2, State: optimizer.Complete, Split: optimizer.SplitValBatch, Value: 1, Calls: 5, Cost: 0.5},
		{Number: 3, State: optimizer.Stopped, Split: optimizer.SplitVal, Value: 1, Calls: 5, Cost: 0.5},
		{Number: 4, State: optimizer.Complete, Split: optimizer.SplitVal, Value: 0.7, Calls: 5, Cost: 0.5},
		{Number: 5, State: optimizer.Complete, Split: optimizer.SplitVal, Value: 0.6, Calls: 5, Cost: 0.5},
	}}
	got := ps.bestSoFar(false)
	want := []struct{ x, y float64 }{{15, 0.5}, {30, 0.7}, {35, 0.7}}
	if len(got) != len(want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
	for i, w := range want {
		if got[i].X != w.x || got[i].Y != w.y {
			t.Errorf("point %d = %v, want %v", i, got[i], w)
		}
	}
	if c := ps.bestSoFar(true); c[len(c)-1].X != 3.5 {
		t.Errorf("cost run %v, want to end at 3.5", c)
	}
}

// TestTopologyEdges checks the best team's edges: the searched explicit
// edges that are on, the config's when none is searched, and the named
// topologies over the active agents in team order with the hub.
func TestTopologyEdges(t *testing.T) {
	layout := layoutOf([]byte(`{"team":{"agents":[{"id":"b"},{"id":"a"},{"id":"c"}],"hub":"c","edges":[["a","b","data"],["b","c","feedback"]]}}`))
	if !slices.Equal(layout.order, []string{"b", "a", "c"}) || layout.hub != "c" || len(layout.edges) != 2 || layout.edges[1].Type != space.Feedback {
		t.Fatalf("layout %+v", layout)
	}
	cases := []struct {
		params space.Assignment
		want   []string
	}{
		{space.Assignment{"team/topology": "explicit", "team/edge/a/b/data": true, "team/edge/b/a/data": false, "team/edge/b/a/feedback": true}, []string{"a>b", "b>a"}},
		{space.Assignment{"team/topology": "explicit"}, []string{"a>b", "b>c"}},
		{space.Assignment{"team/topology": "chain"}, []string{"b>a", "a>c"}},
		{space.Assignment{"team/topology": "star"}, []string{"c>b", "b>c", "c>a", "a>c"}},
		{space.Assignment{"team/topology": "star", "team/hub": "a"}, []string{"a>b", "b>a", "a>c", "c>a"}},
	}
	for _, c := range cases {
		ps := &plotStudy{layout: layout, best: &BestTeam{Params: c.params}}
		edges, _, err := ps.teamEdges([]string{"b", "a", "c"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range edges {
			got = append(got, e.From+">"+e.To)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(got, want) {
			t.Errorf("%v: edges %v, want %v", c.params, got, want)
		}
	}
}

func TestReportPageOfATinyExperiment(t *testing.T) {
	ctx := context.Background()
	s := tinyStore(t)
	page, err := ReportPage(ctx, s, ReportOptions{Against: "random"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := page.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	set, err := Plots(ctx, s, PlotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(html, "<svg"); n != len(set.Plots) {
		t.Errorf("%d <svg> elements, want one per plot (%d)", n, len(set.Plots))
	}
	for _, frag := range []string{`id="comparison"`, "TEST (95% CI)", "VS RANDOM (95% CI)", "tiny/arith/simba/seed2",
		"SELF_CONSISTENCY", "coordination_efficiency", "LEAVE-ONE-OUT", "Not drawn: parameter importance of simba"} {
		if !strings.Contains(html, frag) {
			t.Errorf("the page lacks %q", frag)
		}
	}
}

// The benchmark store: 5 optimizers × 5 seeds × 4,000 trials, built once
// per process (outside the timed part) and removed by TestMain.
const (
	benchOptimizers = 5
	benchSeeds      = 5
	benchTrials     = 4000
)

var bench struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// benchSpace is the flat space of the benchmark's three-agent team.
const benchSpace = `{
 "agent/a1/model": {"type": "choice", "choices": ["sim-small", "sim-medium", "sim-large"]},
 "agent/a1/temperature": {"type": "float", "low": 0, "high": 1, "step": 0.25},
 "agent/a1/demos": {"type": "int", "low": 0, "high": 4},
 "agent/a1/instruction": {"type": "choice", "choices": ["Solve step by step.", "Check each quantity, then answer."]},
 "agent/a2/model": {"type": "choice", "choices": ["sim-small", "sim-medium"]},
 "agent/a2/temperature": {"type": "float", "low": 0, "high": 1},
 "agent/a3/model": {"type": "choice", "choices": ["sim-small", "sim-medium", "sim-large"]},
 "team/active/a3": {"type": "bool"},
 "team/topology": {"type": "choice", "choices": ["mesh", "chain", "star", "ring"]},
 "team/rounds": {"type": "int", "low": 0, "high": 3},
 "team/aggregation": {"type": "choice", "choices": ["majority", "judge"]}
}`

// benchStore returns the path of the benchmark store, building it on
// first use.
func benchStore(b *testing.B) string {
	b.Helper()
	bench.once.Do(func() {
		start := time.Now()
		bench.dir, bench.err = os.MkdirTemp("", "mabeam-plots-bench-")
		if bench.err != nil {
			return
		}
		bench.path = filepath.Join(bench.dir, "bench.db")
		bench.err = buildBenchStore(context.Background(), bench.path)
		if bench.err == nil {
			fi, _ := os.Stat(bench.path)
			fmt.Fprintf(os.Stderr, "built the %d-trial benchmark store (%.0f MB) in %v\n",
				benchOptimizers*benchSeeds*benchTrials, float64(fi.Size())/1e6, time.Since(start).Round(time.Second))
		}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.path
}

// buildBenchStore writes an experiment as the runner would leave it:
// complete studies with their trials (parameters, programs, SIMBA-like
// rollout data and the splits of each optimizer), best trials, test
// results of three test teams, contributions and team measures.
// Per-trial agent and example rows are left out: no plot reads them.
func buildBenchStore(ctx context.Context, path string) error {
	s, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer s.Close()
	sp, err := space.ParseJSON([]byte(benchSpace))
	if err != nil {
		return err
	}
	spJSON, err := SpaceJSON(sp)
	if err != nil {
		return err
	}
	cfg := []byte(`{"experiment":"bench","team":{"agents":[{"id":"a1"},{"id":"a2"},{"id":"a3"}]}}`)
	opts := []string{"agentprune", "beacon", "gptswarm", "random", "simba"}[:benchOptimizers]
	var names []string
	var seeds []uint64
	traj := strings.Repeat(`{"Example":"arith-17","Score":1,"Output":"Forty-two apples minus seven is 35. Answer: 35"},`, 100)
	rollout := json.RawMessage(`{"Trajectories":[` + strings.TrimSuffix(traj, ",") + `]}`)
	for seed := uint64(1); seed <= benchSeeds; seed++ {
		seeds = append(seeds, seed)
		for oi, opt := range opts {
			name := fmt.Sprintf("bench/arith/%s/seed%d", opt, seed)
			names = append(names, name)
			st, err := s.CreateStudy(ctx, store.Study{Name: name, Experiment: "bench", Optimizer: opt, Dataset: "arith",
				Seed: seed, Space: spJSON, Config: cfg, ConfigHash: "bench", Budget: optimizer.Budget{Trials: benchTrials}})
			if err != nil {
				return err
			}
			r := rand.New(rand.NewPCG(seed, uint64(oi)))
			recs := make([]store.TrialRecord, benchTrials)
			best, bestVal := -1, math.Inf(-1)
			for n := range recs {
				a, err := sp.Sample(r)
				if err != nil {
					return err
				}
				t := optimizer.Trial{Number: n, Params: a, State: optimizer.Complete, Batch: 50, Split: optimizer.SplitVal,
					Start: time.Unix(1.8e9+int64(n), 0), Duration: time.Second, Note: opt}
				q := map[string]float64{"sim-small": 0.5, "sim-medium": 0.7, "sim-large": 0.85}[a.String("agent/a1/model")]
				t.Value = math.Round(50*min(1, max(0, q+0.04*float64(a.Int("team/rounds"))+0.1*r.NormFloat64()))) / 50
				t.Calls = int64(50 * (2 + a.Int("team/rounds")) * 3)
				t.Cost = float64(t.Calls) * 1e-4 * (1 + 4*q)
				t.Tokens = t.Calls * 400
				switch opt {
				case "simba": // mostly mini-batch candidates and rollouts with trajectories
					t.Split, t.Batch, t.Step, t.Strategy = optimizer.SplitTrain, 32, 1+n/100, "append_demo"
					if n%5 < 2 {
						t.Strategy, t.Data = "rollout", rollout
					}
					if n%50 == 49 {
						t.Split, t.Batch, t.Strategy = optimizer.SplitVal, 50, "final"
					}
				case "beacon": // mini-batches of validation, the best on the full split every 5
					t.Split, t.Batch = optimizer.SplitValBatch, 35
					if n%5 == 4 {
						t.Split, t.Batch = optimizer.SplitVal, 50
					}
				case "gptswarm", "agentprune": // sampled graphs on train mini-batches
					t.Split, t.Batch = optimizer.SplitTrain, 16
					if n%20 == 19 {
						t.Split, t.Batch = optimizer.SplitVal, 50
					}
				}
				if opt != "random" {
					t.Agents = map[string]optimizer.AgentProgram{"a1": {
						Instruction: "Work through each quantity in order, double-check the arithmetic, then state the final number.",
						Demos: []optimizer.Demo{{Example: "arith-3", Question: "Tom has 12 apples and buys 30 more. How many now?", Answer: "42"},
							{Example: "arith-9", Question: "A box holds 8 rows of 6 eggs. How many eggs?", Answer: "48"}},
					}}
				}
				if t.Validation() && t.Value > bestVal {
					best, bestVal = n, t.Value
				}
				recs[n] = store.TrialRecord{Trial: t}
			}
			if err := s.InsertTrials(ctx, st.ID, recs); err != nil {
				return err
			}
			if err := benchConclude(ctx, s, st, best, bestVal); err != nil {
				return err
			}
		}
	}
	return s.SetExperiment(ctx, store.Experiment{Name: "bench", ConfigHash: "bench", Seeds: seeds, Studies: names, Config: cfg})
}

// benchConclude stores what a concluded study has: its result, test
// results, contributions and team measures.
func benchConclude(ctx context.Context, s *store.Store, st store.Study, best int, bestVal float64) error {
	test, base := 0.8, 0.7
	calls, cost := int64(3_000_000), 300.0
	if err := s.UpdateStudyResult(ctx, st.Name, store.Result{BestTrial: &best, BestValScore: &bestVal,
		TestScore: &test, BaselineTestScore: &base, LMCalls: &calls, CostUSD: &cost, BilledCostUSD: &cost}); err != nil {
		return err
	}
	for ti, team := range []string{store.TestBest, store.TestBaseline, store.TestSelfConsistency} {
		rs := make([]store.ExampleResult, 300)
		for i := range rs {
			score := 1.0
			if (i+ti)%5 == 0 {
				score = 0
			}
			rs[i] = store.ExampleResult{Example: fmt.Sprintf("arith-%04d", i), Score: score, Calls: 9, Tokens: 3600, Cost: 0.004}
		}
		if err := s.SaveTestResults(ctx, st.ID, team, rs); err != nil {
			return err
		}
		if err := s.SaveTeamMetrics(ctx, st.ID, team, map[string]float64{"score": 0.8 - 0.05*float64(ti), "tokens_per_question": 3600,
			"coordination_efficiency": 1.05, "communication_tokens": 0.6, "agreement": 0.9, "token_use": math.NaN()}); err != nil {
			return err
		}
	}
	for _, team := range []string{store.TestBest, store.TestBaseline} {
		var cs []store.Contribution
		for i, a := range []string{"a1", "a2", "a3"} {
			for _, m := range []string{evaluation.MethodShapley, evaluation.MethodLOO, evaluation.MethodDyLAN} {
				v := 0.3 - 0.1*float64(i)
				cs = append(cs, store.Contribution{Team: team, Method: m, Agent: a, Value: v, Lo: v - 0.08, Hi: v + 0.08})
			}
		}
		if err := s.SaveContributions(ctx, st.ID, team, cs); err != nil {
			return err
		}
	}
	return s.SetStudyStatus(ctx, st.Name, store.StatusComplete)
}

// BenchmarkPlots100k is `experiment plot` on the 100,000-trial store:
// reading it, drawing every plot and writing each as PNG and SVG (target:
// 5 s). The figure is seconds per run.
func BenchmarkPlots100k(b *testing.B) {
	ctx := context.Background()
	s, err := store.OpenExisting(ctx, benchStore(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	dir := b.TempDir()
	files := 0
	for b.Loop() {
		set, err := Plots(ctx, s, PlotOptions{})
		if err != nil {
			b.Fatal(err)
		}
		files = 0
		if err := SavePlots(ctx, set.Plots, dir, []string{".png", ".svg"}, func(string) { files++ }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
	b.ReportMetric(float64(files), "files")
}

// BenchmarkReport100k is `experiment report` on the 100,000-trial store:
// the comparison, every plot as inline SVG, the tables and the page
// (target: 10 s). The figure is seconds per run.
func BenchmarkReport100k(b *testing.B) {
	ctx := context.Background()
	s, err := store.OpenExisting(ctx, benchStore(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	size := 0
	for b.Loop() {
		page, err := ReportPage(ctx, s, ReportOptions{Against: "random"})
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := page.WriteHTML(&buf); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
	b.ReportMetric(float64(size)/1e6, "MB")
}

// BenchmarkPlotsRead100k is the reading part alone: every study's trials
// with every column (store.Trials), as Plots reads them.
func BenchmarkPlotsRead100k(b *testing.B) {
	ctx := context.Background()
	s, err := store.OpenExisting(ctx, benchStore(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		sts, err := s.Studies(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, st := range sts {
			ts, err := s.Trials(ctx, st.ID)
			if err != nil {
				b.Fatal(err)
			}
			n += len(ts)
		}
		if n != benchOptimizers*benchSeeds*benchTrials {
			b.Fatalf("read %d trials", n)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
}
