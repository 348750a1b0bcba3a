// Quickstart searches a three-agent team on generated arithmetic with
// random search, offline on the surrogate model, and scores the best team
// once on the test split. Run it with go run ./examples/quickstart.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer) error {
	// The multi-agent space: each agent's model and temperature, an
	// optional critic, and how the team talks (topology, debate rounds).
	models := []space.Component{{Name: "sim-small"}, {Name: "sim-medium"}, {Name: "sim-large"}}
	agents := []space.Agent{
		{ID: "solver1", Role: "solver", Vars: []space.Var{
			space.ComponentChoice(space.LocalModel, models...),
			space.Float(space.LocalTemperature, 0, 1).WithStep(0.25),
		}},
		{ID: "solver2", Role: "solver", Vars: []space.Var{space.ComponentChoice(space.LocalModel, models...)}},
		{ID: "critic", Role: "critic", Optional: true, Vars: []space.Var{space.Const(space.LocalModel, "sim-medium")}},
	}
	teamVars := []space.Var{
		space.Choice(space.TeamTopology, space.TopoMesh, space.TopoChain, space.TopoStar),
		space.Int(space.TeamRounds, 0, 2),
	}
	ts, err := space.Team{Agents: agents, Vars: teamVars}.Compile()
	if err != nil {
		return err
	}

	// Arithmetic word problems with exact answers: train, validation, test.
	s, err := datasets.Builtin("arithmetic", datasets.Sizes{Train: 10, Val: 40, Test: 100}, 1, 2)
	if err != nil {
		return err
	}

	// The evaluator decodes a point of the space into a team and runs it.
	ev := &optimizer.TeamEvaluator{Space: ts, Model: sim.New(nil)}
	p := &optimizer.Problem{Space: ts.Space(), Evaluator: ev, Train: s.Train, Val: s.Val, Test: s.Test, Seed: 1}

	// Or "simba" or "beacon" (import _ "github.com/mabeam/mabeam/simba", or
	// .../beacon), which also need p.Baseline, the team they start from,
	// p.Model for their own calls and, for SIMBA, a train split of 32.
	opt, err := optimizer.New("random", nil)
	if err != nil {
		return err
	}
	res, err := opt.Optimize(ctx, p, optimizer.Budget{Trials: 12})
	if err != nil {
		return err
	}
	for _, t := range res.Trials {
		if t.State == optimizer.Failed {
			fmt.Fprintf(w, "trial %d failed: %s\n", t.Number, t.Err)
		}
	}
	if !res.BestOK {
		return errors.New("no trial completed")
	}

	// The best team on validation, scored once on test.
	if err := optimizer.Conclude(ctx, p, res); err != nil {
		return err
	}
	best, err := ts.Decode(res.Best.Params)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d trials, %d LM calls, $%.4f\n", len(res.Trials), res.Spent.Calls, res.Spent.Cost)
	fmt.Fprintf(w, "best: trial %d, validation %.3f on %d examples\n%v\n", res.Best.Number, res.Best.Value, res.Best.Batch, best)
	fmt.Fprintf(w, "test: %.3f, 95%% CI [%.3f, %.3f], on %d examples\n", res.Test.Mean, res.Test.CI95[0], res.Test.CI95[1], res.Test.N)
	return nil
}
