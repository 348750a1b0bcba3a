package beacon_test

import (
	"context"
	"fmt"
	"math"

	"github.com/mabeam/mabeam/beacon"
	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// Compile a two-agent team with BEACON on the surrogate model: trial 0
// bootstraps demos from the baseline's right answers on train and has the
// model propose instructions; the GP then searches each agent's
// instruction and demo set together with the team space, every trial on
// the whole (small) validation split. The best is scored once on test.
func Example() {
	models := []space.Component{{Name: "sim-small"}, {Name: "sim-medium"}, {Name: "sim-large"}}
	ts, err := space.Team{
		Agents: []space.Agent{
			{ID: "s1", Role: "solver", Vars: []space.Var{space.ComponentChoice(space.LocalModel, models...)}},
			{ID: "s2", Role: "planner", Vars: []space.Var{space.ComponentChoice(space.LocalModel, models...)}},
		},
		Vars: []space.Var{space.Int(space.TeamRounds, 0, 1)},
	}.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	data, err := datasets.Builtin("arithmetic", datasets.Sizes{Train: 8, Val: 20, Test: 40}, 1, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	model := sim.New(&sim.Options{Seed: 1})
	p := &optimizer.Problem{
		Space:     ts.Space(),
		Evaluator: &optimizer.TeamEvaluator{Space: ts, Model: model},
		Train:     data.Train, Val: data.Val, Test: data.Test,
		Seed:  1,
		Model: model, // proposes the instruction candidates
		Baseline: ts.Space().Complete(space.Assignment{
			"agent/s1/model": "sim-small", "agent/s2/model": "sim-small", "team/rounds": 0,
		}),
	}
	opt := &beacon.Compiler{Settings: beacon.Settings{NumCandidates: 3}}
	ctx := context.Background()
	res, err := opt.Optimize(ctx, p, optimizer.Budget{Trials: 8})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range res.Trials {
		fmt.Printf("trial %d %-9s %-5s %2d examples: %.2f  s1=%s s2=%s rounds=%d\n", t.Number, t.Strategy, t.Split, t.Batch, t.Value,
			t.Params["agent/s1/model"], t.Params["agent/s2/model"], t.Params["team/rounds"])
	}
	if err := optimizer.Conclude(ctx, p, res); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("best trial %d; test %.3f against the baseline's %.3f\n", res.Best.Number, res.Test.Mean, res.Baseline.Mean)
	// Output:
	// trial 0 bootstrap train  8 examples: 0.50  s1=sim-small s2=sim-small rounds=0
	// trial 1 search    val   20 examples: 0.70  s1=sim-small s2=sim-small rounds=0
	// trial 2 search    val   20 examples: 0.75  s1=sim-small s2=sim-medium rounds=1
	// trial 3 search    val   20 examples: 0.75  s1=sim-medium s2=sim-medium rounds=0
	// trial 4 search    val   20 examples: 0.90  s1=sim-large s2=sim-small rounds=1
	// trial 5 search    val   20 examples: 0.90  s1=sim-small s2=sim-large rounds=0
	// trial 6 search    val   20 examples: 0.85  s1=sim-small s2=sim-large rounds=0
	// best trial 4; test 0.825 against the baseline's 0.450
}

// BEACON's GP as an ask/tell sampler on a black-box function of one
// variable: five random trials, then each trial where the expected
// improvement is largest.
func ExampleSampler() {
	f := func(x float64) float64 { return (x-0.3)*(x-0.3) + 0.05*math.Sin(15*x) }
	st, err := optimizer.NewStudy(space.MustNew(space.Float("x", 0, 1)), beacon.Sampler{}, optimizer.Minimize, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 15 {
		t, err := st.Ask()
		if err != nil {
			fmt.Println(err)
			return
		}
		if _, err := st.Tell(t.Number, f(t.Params.Float("x"))); err != nil {
			fmt.Println(err)
			return
		}
	}
	best, _ := st.Best()
	fmt.Printf("best of %d trials: f(%.3f) = %.4f\n", len(st.Trials()), best.Params.Float("x"), best.Value)
	// Output:
	// best of 15 trials: f(0.312) = -0.0498
}
