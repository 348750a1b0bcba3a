package simba_test

import (
	"context"
	"fmt"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/simba"
	"github.com/mabeam/mabeam/space"
)

// Improve a two-solver team with SIMBA on the surrogate model: two steps
// of two rollout variants on mini-batches of 8 train examples, then the
// winners scored on validation; the best is scored once on test beside
// the baseline it started from.
func Example() {
	models := []space.Component{{Name: "sim-small"}, {Name: "sim-medium"}, {Name: "sim-large"}}
	solver := func(id string) space.Agent {
		return space.Agent{ID: id, Role: "solver", Vars: []space.Var{
			space.ComponentChoice(space.LocalModel, models...),
			space.Float(space.LocalTemperature, 0, 1).WithStep(0.5),
		}}
	}
	ts, err := space.Team{
		Agents: []space.Agent{solver("s1"), solver("s2"), {ID: "critic", Role: "critic", Optional: true}},
		Vars:   []space.Var{space.Choice(space.TeamTopology, space.TopoMesh, space.TopoChain), space.Int(space.TeamRounds, 0, 2)},
	}.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	data, err := datasets.Builtin("arithmetic", datasets.Sizes{Train: 16, Val: 20, Test: 40}, 1, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	model := sim.New(&sim.Options{Seed: 1})
	p := &optimizer.Problem{
		Space:     ts.Space(),
		Evaluator: &optimizer.TeamEvaluator{Space: ts, Model: model, Metric: datasets.NumericMatch(datasets.DefaultNumericTolerance)},
		Train:     data.Train, Val: data.Val, Test: data.Test,
		Seed:  1,
		Model: model, // for SIMBA's own introspection calls (append_rule)
		Baseline: ts.Space().Complete(space.Assignment{
			"agent/s1/model": "sim-small", "agent/s1/temperature": 0.0,
			"agent/s2/model": "sim-small", "agent/s2/temperature": 0.0,
			"team/active/critic": false, "team/topology": "mesh", "team/rounds": 1,
		}),
	}
	opt := &simba.SIMBA{Settings: simba.Settings{BatchSize: 8, NumCandidates: 2, MaxSteps: 2}}
	ctx := context.Background()
	res, err := opt.Optimize(ctx, p, optimizer.Budget{Calls: 5000})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range res.Trials {
		parent := "-"
		if t.Parent != nil {
			parent = fmt.Sprint(*t.Parent)
		}
		fmt.Printf("trial %2d step %d %-11s parent %-2s %-5s %2d examples: %.3f\n", t.Number, t.Step, t.Strategy, parent, t.Split, t.Batch, t.Value)
	}
	if err := optimizer.Conclude(ctx, p, res); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("best trial %d; test %.3f against the baseline's %.3f; %d calls\n", res.Best.Number, res.Test.Mean, res.Baseline.Mean, res.Spent.Calls)
	// Output:
	// trial  0 step 0 baseline    parent -  train  8 examples: 0.125
	// trial  1 step 1 rollout     parent 0  train  8 examples: 0.125
	// trial  2 step 1 rollout     parent 0  train  8 examples: 0.500
	// trial  3 step 1 team_move   parent 0  train  8 examples: 0.125
	// trial  4 step 1 team_move   parent 0  train  8 examples: 0.125
	// trial  5 step 1 team_move   parent 0  train  8 examples: 0.250
	// trial  6 step 2 rollout     parent 5  train  7 examples: 0.429
	// trial  7 step 2 rollout     parent 0  train  1 examples: 1.000
	// trial  8 step 2 rollout     parent 5  train  5 examples: 0.800
	// trial  9 step 2 rollout     parent 0  train  3 examples: 0.667
	// trial 10 step 2 team_move   parent 0  train  8 examples: 0.375
	// trial 11 step 2 append_rule parent 0  train  8 examples: 0.500
	// trial 12 step 2 append_rule parent 5  train  8 examples: 0.625
	// trial 13 step 3 final       parent 0  val   20 examples: 0.550
	// trial 14 step 3 final       parent 5  val   20 examples: 0.650
	// trial 15 step 3 final       parent 12 val   20 examples: 0.650
	// best trial 14; test 0.500 against the baseline's 0.375; 641 calls
}
