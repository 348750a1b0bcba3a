package experiments_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// Every registered optimizer (random, SIMBA, BEACON, the edge learners)
// refuses a team whose model name is misspelt before its first trial, as
// the config's validation does for the CLI.
func TestOptimizersRefuseUnknownModel(t *testing.T) {
	comps := []space.Component{{Name: "sim-small"}, {Name: "sim-lagre"}}
	ts, err := space.Team{
		Agents: []space.Agent{
			{ID: "a1", Role: "solver", Vars: []space.Var{space.ComponentChoice(space.LocalModel, comps...)}},
			{ID: "a2", Role: "solver"},
		},
		Vars:        []space.Var{space.Choice(space.TeamTopology, space.TopoExplicit)},
		Edges:       []space.Edge{{From: "a1", To: "a2"}, {From: "a2", To: "a1"}},
		SearchEdges: true,
	}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	problem := modelProblem(t, ts, func(base space.Assignment) { base[space.AgentVar("a1", space.LocalModel)] = "sim-small" })
	names := optimizer.Names()
	if len(names) < 5 {
		t.Fatalf("registered optimizers %v; want random, simba, beacon, gptswarm and agentprune", names)
	}
	for _, name := range names {
		opt, err := optimizer.New(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		p, trials := problem()
		res, err := opt.Optimize(context.Background(), p, optimizer.Budget{Trials: 4})
		var ue *optimizer.UnknownModelError
		if !errors.As(err, &ue) || ue.Agent != "a1" || ue.Model != "sim-lagre" || !strings.Contains(err.Error(), "known: sim-adversary") {
			t.Errorf("%s: err = %v, want agent a1's unknown model sim-lagre", name, err)
		}
		if *trials != 0 || res != nil && len(res.Trials) != 0 {
			t.Errorf("%s: %d trials told before the error", name, *trials)
		}
	}
}

// The model of an optimizer's own calls is checked too: SIMBA's
// advice_model and BEACON's proposal_model, misspelt, fail before any trial.
func TestOptimizerModelSettingChecked(t *testing.T) {
	ts, err := space.Team{Agents: []space.Agent{{ID: "a1", Role: "solver"}, {ID: "a2", Role: "solver"}}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	problem := modelProblem(t, ts, nil)
	for name, settings := range map[string]map[string]any{
		"simba":  {"advice_model": "sim-lagre"},
		"beacon": {"proposal_model": "sim-lagre"},
	} {
		opt, err := optimizer.New(name, settings)
		if err != nil {
			t.Fatal(err)
		}
		p, trials := problem()
		_, err = opt.Optimize(context.Background(), p, optimizer.Budget{Trials: 4})
		if !errors.Is(err, lm.ErrUnknownModel) || !strings.Contains(err.Error(), `unknown model "sim-lagre"`) || *trials != 0 {
			t.Errorf("%s with a misspelt model setting: %v after %d trials; want the unknown model before any", name, err, *trials)
		}
	}
}

// modelProblem returns a maker of fresh problems over the team space ts on
// arithmetic, with the sim model behind a cache as the CLI runs it, whose
// OnTrial counts the trials told; edit, if set, adjusts the baseline.
func modelProblem(t *testing.T, ts *space.TeamSpace, edit func(space.Assignment)) func() (*optimizer.Problem, *int) {
	t.Helper()
	sp, err := datasets.Builtin("arithmetic", datasets.Sizes{Train: 40, Val: 10, Test: 10}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	base, err := ts.Space().Sample(optimizer.TrialRand(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(base)
	}
	model := lm.Cached(sim.New(nil), lm.NewMemoryCache())
	return func() (*optimizer.Problem, *int) {
		trials := new(int)
		return &optimizer.Problem{
			Space: ts.Space(), Evaluator: &optimizer.TeamEvaluator{Space: ts, Model: model},
			Train: sp.Train, Val: sp.Val, Test: sp.Test, Seed: 1, Baseline: base, Model: model,
			OnTrial: func(context.Context, optimizer.Trial, *evaluation.Report) error { *trials++; return nil },
		}, trials
	}
}
