package edges_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/edges"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// Learn which edges of a three-agent debate to keep, with GPTSwarm's edge
// learning and AgentPrune's pruning, on the surrogate model: two solvers
// and one on the adversarial profile, five candidate edges. Each of five
// iterations scores four sampled graphs on a train mini-batch of six; the
// learnt graph is scored on validation, and is the study's best.
func Example() {
	agent := func(id, model string) space.Agent {
		return space.Agent{ID: id, Role: "solver", Vars: []space.Var{space.Const(space.LocalModel, model)}}
	}
	ts, err := space.Team{
		Agents: []space.Agent{agent("s1", "sim-medium"), agent("s2", "sim-medium"), agent("bad", "sim-adversary")},
		Vars:   []space.Var{space.Choice(space.TeamTopology, space.TopoMesh, space.TopoExplicit), space.Const(space.TeamRounds, 1)},
		Edges: []space.Edge{{From: "s1", To: "s2"}, {From: "s2", To: "s1"},
			{From: "bad", To: "s1"}, {From: "bad", To: "s2"}, {From: "s1", To: "bad"}},
		SearchEdges: true, // each candidate edge a searched bool of the explicit topology
	}.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	data, err := datasets.Builtin("arithmetic", datasets.Sizes{Train: 24, Val: 20}, 3, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, method := range []string{edges.GPTSwarm, edges.AgentPrune} {
		p := &optimizer.Problem{
			Space:     ts.Space(),
			Evaluator: &optimizer.TeamEvaluator{Space: ts, Model: sim.New(&sim.Options{Seed: 1})},
			Train:     data.Train, Val: data.Val,
			Seed:     3,
			Baseline: ts.Space().Complete(space.Assignment{"team/topology": "mesh"}),
		}
		opt := &edges.Optimizer{Method: method, Settings: edges.Settings{Minibatch: 6, Iterations: 5}}
		res, err := opt.Optimize(context.Background(), p, optimizer.Budget{Calls: 3000})
		if err != nil {
			fmt.Println(err)
			return
		}
		var kept []string
		for _, name := range res.Best.Params.Names() {
			if e, ok := space.EdgeOf(name); ok && res.Best.Params.Bool(name) {
				kept = append(kept, e.From+"->"+e.To)
			}
		}
		fmt.Printf("%s: %d sampled graphs, %d calls; learnt graph %s scores %.2f on validation\n",
			method, len(res.Trials)-1, res.Spent.Calls, strings.Join(kept, " "), res.Best.Value)
	}
	// Output:
	// gptswarm: 20 sampled graphs, 840 calls; learnt graph bad->s1 bad->s2 s1->s2 scores 0.70 on validation
	// agentprune: 20 sampled graphs, 840 calls; learnt graph bad->s1 s1->bad s1->s2 s2->s1 scores 0.70 on validation
}
