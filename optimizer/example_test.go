package optimizer_test

import (
	"context"
	"fmt"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// Random search over a three-agent team space on the surrogate model:
// a Problem (space, evaluator, splits, seed), a budget of six trials,
// then the best team on validation scored once on test. The same seed
// gives the same trials.
func Example() {
	models := []space.Component{{Name: "sim-small"}, {Name: "sim-medium"}, {Name: "sim-large"}}
	solver := func(id string, optional bool) space.Agent {
		return space.Agent{ID: id, Role: "solver", Optional: optional, Vars: []space.Var{
			space.ComponentChoice(space.LocalModel, models...),
		}}
	}
	ts, err := space.Team{
		Agents: []space.Agent{solver("a1", false), solver("a2", true), solver("a3", true)},
		Vars: []space.Var{
			space.Choice(space.TeamTopology, space.TopoMesh, space.TopoChain),
			space.Int(space.TeamRounds, 0, 1),
		},
	}.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	data, err := datasets.Builtin("arithmetic", datasets.Sizes{Val: 20, Test: 40}, 1, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	p := &optimizer.Problem{
		Space:     ts.Space(),
		Evaluator: &optimizer.TeamEvaluator{Space: ts, Model: sim.New(&sim.Options{Seed: 1})},
		Val:       data.Val, Test: data.Test,
		Seed: 1,
	}
	opt, err := optimizer.New("random", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	res, err := opt.Optimize(ctx, p, optimizer.Budget{Trials: 6})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range res.Trials {
		team := ""
		for _, id := range []string{"a1", "a2", "a3"} {
			if m, ok := t.Params[space.AgentVar(id, space.LocalModel)]; ok {
				team += fmt.Sprintf("%s=%s ", id, m)
			}
		}
		fmt.Printf("trial %d: %.2f on %d val examples, %3d calls: %s%s, %d rounds\n", t.Number, t.Value, t.Batch, t.Calls,
			team, t.Params[space.TeamVar(space.TeamTopology)], t.Params[space.TeamVar(space.TeamRounds)])
	}
	if err := optimizer.Conclude(ctx, p, res); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("best trial %d: val %.2f, test %.3f; spent %d calls, $%.4f\n",
		res.Best.Number, res.Best.Value, res.Test.Mean, res.Spent.Calls, res.Spent.Cost)
	// Output:
	// trial 0: 0.80 on 20 val examples, 120 calls: a1=sim-large a2=sim-medium a3=sim-large chain, 1 rounds
	// trial 1: 0.80 on 20 val examples,  20 calls: a1=sim-large chain, 0 rounds
	// trial 2: 0.55 on 20 val examples, 120 calls: a1=sim-small a2=sim-small a3=sim-medium chain, 1 rounds
	// trial 3: 0.55 on 20 val examples,  60 calls: a1=sim-large a2=sim-small a3=sim-small mesh, 0 rounds
	// trial 4: 0.80 on 20 val examples,  20 calls: a1=sim-large chain, 0 rounds
	// trial 5: 0.80 on 20 val examples,  80 calls: a1=sim-large a3=sim-large mesh, 1 rounds
	// best trial 0: val 0.80, test 0.725; spent 420 calls, $0.4124
}
