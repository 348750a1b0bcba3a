package optimizer_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// teamProblem is a small 3-agent team space on generated arithmetic.
func teamProblem(t *testing.T, seed uint64) *optimizer.Problem {
	t.Helper()
	models := []space.Component{{Name: "sim-small"}, {Name: "sim-medium"}, {Name: "sim-large"}}
	agent := func(id string, optional bool) space.Agent {
		return space.Agent{ID: id, Role: "solver", Optional: optional, Vars: []space.Var{
			space.ComponentChoice(space.LocalModel, models...),
			space.Float(space.LocalTemperature, 0, 1).WithStep(0.5),
		}}
	}
	ts, err := space.Team{
		Agents: []space.Agent{agent("a1", false), agent("a2", true), agent("a3", true)},
		Vars: []space.Var{
			space.Choice(space.TeamTopology, space.TopoMesh, space.TopoChain),
			space.Int(space.TeamRounds, 0, 2),
		},
	}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	sp, err := datasets.Builtin("arithmetic", datasets.Sizes{Train: 10, Val: 30, Test: 40}, seed, 2)
	if err != nil {
		t.Fatal(err)
	}
	return &optimizer.Problem{
		Space:     ts.Space(),
		Evaluator: &optimizer.TeamEvaluator{Space: ts, Model: sim.New(&sim.Options{Seed: seed})},
		Train:     sp.Train, Val: sp.Val, Test: sp.Test,
		Seed: seed,
	}
}

func TestRandomSearchReproducibleAndResumable(t *testing.T) {
	ctx := context.Background()
	opt, err := optimizer.New("random", nil)
	if err != nil {
		t.Fatal(err)
	}
	full, err := opt.Optimize(ctx, teamProblem(t, 3), optimizer.Budget{Trials: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Trials) != 8 || !full.BestOK {
		t.Fatalf("got %d trials, best %v", len(full.Trials), full.BestOK)
	}
	for _, tr := range full.Trials {
		if tr.State != optimizer.Complete || tr.Calls == 0 || tr.Batch != 30 {
			t.Errorf("trial %d: state %s calls %d batch %d", tr.Number, tr.State, tr.Calls, tr.Batch)
		}
		if full.Best.Value < tr.Value {
			t.Errorf("best %g below trial %d's %g", full.Best.Value, tr.Number, tr.Value)
		}
	}

	// Stop after 3 trials (as a killed run would), resume from the history.
	p := teamProblem(t, 3)
	part, err := opt.Optimize(ctx, p, optimizer.Budget{Trials: 3})
	if err != nil {
		t.Fatal(err)
	}
	p2 := teamProblem(t, 3)
	p2.History = part.Trials
	var told []int
	p2.OnTrial = func(_ context.Context, tr optimizer.Trial, r *evaluation.Report) error {
		told = append(told, tr.Number)
		return nil
	}
	resumed, err := opt.Optimize(ctx, p2, optimizer.Budget{Trials: 8})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(told, []int{3, 4, 5, 6, 7}) {
		t.Errorf("resumed run evaluated trials %v, want 3..7", told)
	}
	for i := range full.Trials {
		a, b := full.Trials[i], resumed.Trials[i]
		if !reflect.DeepEqual(a.Params, b.Params) || a.Value != b.Value || a.Calls != b.Calls {
			t.Fatalf("trial %d differs: %v=%g vs %v=%g", i, a.Params, a.Value, b.Params, b.Value)
		}
	}
	if err := optimizer.Conclude(ctx, p2, resumed); err != nil {
		t.Fatal(err)
	}
	if resumed.Test == nil || resumed.Test.N != 40 || math.IsNaN(resumed.Test.Mean) {
		t.Fatalf("test report %+v", resumed.Test)
	}
}

func TestSearchStopsOnCallBudgetAndContext(t *testing.T) {
	p := teamProblem(t, 1)
	res, err := (&optimizer.Search{}).Optimize(context.Background(), p, optimizer.Budget{Calls: 200})
	if err != nil {
		t.Fatal(err)
	}
	// The budget is enforced inside the trial that would pass it: that
	// trial ran on a prefix of its batch, is Stopped, and is never best.
	lastT := res.Trials[len(res.Trials)-1]
	if res.Spent.Calls > 200 || lastT.State != optimizer.Stopped || lastT.Batch >= len(p.Val) {
		t.Errorf("call budget 200: spent %d; last trial %s on %d of %d examples", res.Spent.Calls, lastT.State, lastT.Batch, len(p.Val))
	}
	if res.BestOK && res.Best.State != optimizer.Complete {
		t.Errorf("best trial is %s", res.Best.State)
	}
	for _, b := range []optimizer.Budget{{Cost: 0.05}, {Calls: 777}} {
		res, err := (&optimizer.Search{}).Optimize(context.Background(), teamProblem(t, 2), b)
		if err != nil {
			t.Fatal(err)
		}
		if (b.Cost > 0 && res.Spent.Cost > b.Cost) || (b.Calls > 0 && res.Spent.Calls > b.Calls) {
			t.Errorf("budget %+v: spent %+v", b, res.Spent)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&optimizer.Search{}).Optimize(ctx, p, optimizer.Budget{Trials: 5}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
}

func TestRegistry(t *testing.T) {
	if _, err := optimizer.New("nope", nil); err == nil {
		t.Error("unknown optimizer accepted")
	}
	if _, err := optimizer.New("random", map[string]any{"bsize": 3}); err == nil {
		t.Error("unknown setting accepted")
	}
}
