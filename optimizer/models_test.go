package optimizer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/team"
)

// typoProblem is teamProblem with agent a1's model choices replaced by
// models: one misspelt name makes only the trials that draw it fail.
func typoProblem(t *testing.T, models ...string) *optimizer.Problem {
	t.Helper()
	p := teamProblem(t, 1)
	comps := make([]space.Component, len(models))
	for i, m := range models {
		comps[i] = space.Component{Name: m}
	}
	ts, err := space.Team{Agents: []space.Agent{
		{ID: "a1", Role: "solver", Vars: []space.Var{space.ComponentChoice(space.LocalModel, comps...)}},
		{ID: "a2", Role: "solver"},
	}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	p.Space = ts.Space()
	p.Evaluator.(*optimizer.TeamEvaluator).Space = ts
	return p
}

func TestOptimizeRefusesUnknownModelBeforeAnyTrial(t *testing.T) {
	for _, cached := range []bool{false, true} {
		p := typoProblem(t, "sim-small", "sim-lagre")
		if cached {
			ev := p.Evaluator.(*optimizer.TeamEvaluator)
			ev.Model = lm.Cached(ev.Model, lm.NewMemoryCache())
		}
		trials := 0
		p.OnTrial = func(context.Context, optimizer.Trial, *evaluation.Report) error { trials++; return nil }
		opt, err := optimizer.New("random", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := opt.Optimize(context.Background(), p, optimizer.Budget{Trials: 6})
		var ue *optimizer.UnknownModelError
		if !errors.As(err, &ue) || !errors.Is(err, lm.ErrUnknownModel) {
			t.Fatalf("cached %v: err = %v, want an *UnknownModelError matching lm.ErrUnknownModel", cached, err)
		}
		for _, s := range []string{`"a1"`, `"sim-lagre"`, "known: sim-adversary, sim-large, sim-medium, sim-small"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("cached %v: error %q does not name %s", cached, err, s)
			}
		}
		if trials != 0 || res != nil {
			t.Errorf("cached %v: %d trials told, result %v; want none before the check", cached, trials, res)
		}
	}

	// The same space without the typo runs.
	p := typoProblem(t, "sim-small", "sim-large")
	res, err := (&optimizer.Search{}).Optimize(context.Background(), p, optimizer.Budget{Trials: 3})
	if err != nil || len(res.Trials) != 3 || !res.BestOK {
		t.Fatalf("correct names: err %v, result %+v", err, res)
	}
}

func TestCheckModels(t *testing.T) {
	model := func(v space.Var) space.Agent {
		return space.Agent{ID: "a", Role: "solver", Vars: []space.Var{v}}
	}
	comps := func(names ...string) []space.Component {
		var out []space.Component
		for _, n := range names {
			out = append(out, space.Component{Name: n})
		}
		return out
	}
	cases := []struct {
		name     string
		agent    space.Agent
		defaults string // Materials.Defaults.Model
		lm       lm.Model
		bad      []string // the unknown names, in order
	}{
		{"components", model(space.ComponentChoice(space.LocalModel, comps("sim-small", "sim-lagre", "gpt-9")...)), "", nil, []string{"sim-lagre", "gpt-9"}},
		{"choices", model(space.Choice(space.LocalModel, "sim-medium", "sim-meduim")), "", nil, []string{"sim-meduim"}},
		{"const", model(space.Const(space.LocalModel, "sim-lagre")), "", nil, []string{"sim-lagre"}},
		{"fixed component: only the fixed one runs", model(space.ComponentChoice(space.LocalModel, comps("sim-small", "sim-lagre")...).Fix("sim-small")), "", nil, nil},
		{"no model variable: the default", space.Agent{ID: "a", Role: "solver"}, "gpt-9", nil, []string{"gpt-9"}},
		{"no model variable: team.DefaultModel", space.Agent{ID: "a", Role: "solver"}, "", nil, nil},
		{"conditional model variable: the default too", space.Agent{ID: "a", Role: "solver", Vars: []space.Var{
			space.Bool("big"), space.Const(space.LocalModel, "sim-large").When("big", true)}}, "gpt-9", nil, []string{"gpt-9"}},
		{"a model that cannot tell", model(space.Const(space.LocalModel, "anything")), "", lm.ModelFunc(func(context.Context, lm.Request) (lm.Response, error) {
			return lm.Response{}, nil
		}), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, err := space.Team{Agents: []space.Agent{c.agent}}.Compile()
			if err != nil {
				t.Fatal(err)
			}
			ev := &optimizer.TeamEvaluator{Space: ts, Model: c.lm, Materials: &team.Materials{Defaults: team.AgentSpec{Model: c.defaults}}}
			if c.lm == nil {
				ev.Model = sim.New(nil)
			}
			err = ev.CheckModels()
			var got []string
			for _, e := range unjoin(err) {
				var ue *optimizer.UnknownModelError
				if !errors.As(e, &ue) || ue.Agent != "a" || len(ue.Known) != 4 {
					t.Fatalf("error %v is not an *UnknownModelError of agent a with 4 known names", e)
				}
				if ue.Default != (ue.Model == c.defaults) {
					t.Errorf("%q: Default %v", ue.Model, ue.Default)
				}
				got = append(got, ue.Model)
			}
			if strings.Join(got, ",") != strings.Join(c.bad, ",") {
				t.Errorf("unknown names %q, want %q (err %v)", got, c.bad, err)
			}
		})
	}
}

// unjoin returns the errors errors.Join joined into err.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err != nil {
		return []error{err}
	}
	return nil
}
