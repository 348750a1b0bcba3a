package optimizer_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// Coordinate is a greedy coordinate search, written as any optimizer is:
// from the baseline, it changes one searched variable at a time to each
// of its other values, scores the change on the validation split, and
// keeps it when it scores better.
type Coordinate struct {
	Settings CoordinateSettings
}

// CoordinateSettings are Coordinate's settings; the zero value is the
// default.
type CoordinateSettings struct {
	// Sweeps is the number of passes over the variables; 0 means 1.
	Sweeps int `json:"sweeps,omitempty"`
}

// Registered at init, as the built-in optimizers are, so that a config's
// `optimizers: [{name: coordinate, settings: {sweeps: 2}}]` finds it.
func init() {
	optimizer.Register("coordinate", func(settings map[string]any) (optimizer.Optimizer, error) {
		var s CoordinateSettings
		if err := optimizer.DecodeSettings(settings, &s); err != nil {
			return nil, err // an unknown key or a wrong type
		}
		if s.Sweeps < 0 {
			return nil, fmt.Errorf("sweeps is %d; it must be positive (0 means 1)", s.Sweeps)
		}
		return &Coordinate{Settings: s}, nil
	})
}

var _ optimizer.Optimizer = (*Coordinate)(nil)

// Optimize implements optimizer.Optimizer. The Ledger numbers the trials,
// adds up what they spent, hands each new one to Problem.OnTrial, and
// stands a stored trial of Problem.History in for the evaluation it
// records, so a resumed study continues where it stopped.
func (c *Coordinate) Optimize(ctx context.Context, p *optimizer.Problem, b optimizer.Budget) (*optimizer.Result, error) {
	if err := optimizer.Ready(c, p, b); err != nil {
		return nil, err
	}
	l := optimizer.NewLedger(p)
	return l.Finish(c.search(ctx, p, b, l))
}

func (c *Coordinate) search(ctx context.Context, p *optimizer.Problem, b optimizer.Budget, l *optimizer.Ledger) error {
	cur := p.Baseline
	if cur == nil {
		var err error
		if cur, err = p.Space.Sample(optimizer.TrialRand(p.Seed, 0)); err != nil {
			return err
		}
	}
	parent := -1 // the trial of cur, once scored
	// try scores a on the validation split as the next trial, within what
	// is left of the budget; ok is false when the budget is spent.
	try := func(a space.Assignment, step int, note string) (t optimizer.Trial, ok bool, err error) {
		limit, ok := b.Room(l.Res.Spent, optimizer.Reserve{}, optimizer.Usage{})
		if !ok {
			return t, false, nil
		}
		spec := optimizer.TrialSpec{Program: optimizer.Program{Params: a}, Examples: p.Val,
			Split: optimizer.SplitVal, Strategy: "coordinate", Step: step, Note: note}
		if parent >= 0 {
			from := parent // the trial keeps this pointer
			spec.Parent = &from
		}
		t, err = l.Run(ctx, spec, limit, nil)
		if err == nil && t.Params.Key() != a.Key() { // a replayed trial must be the one this run proposes
			err = l.Mismatch(t, "the trial of "+note)
		}
		return t, err == nil && t.State != optimizer.Stopped, err
	}
	t, ok, err := try(cur, 0, "start")
	if !ok || err != nil {
		return err
	}
	if t.State != optimizer.Complete {
		return errors.New("coordinate: the starting point failed: " + t.Err)
	}
	best := t.Value
	parent = t.Number
	for sweep := 1; sweep <= max(c.Settings.Sweeps, 1); sweep++ {
		for _, v := range p.Space.Vars() {
			if !v.Searched() || !p.Space.Active(v.Name, cur) {
				continue
			}
			for _, x := range values(v) {
				if x == cur[v.Name] {
					continue
				}
				next := fill(p.Space, cur, v.Name, x)
				if p.Space.Validate(next) != nil {
					continue // breaks a constraint
				}
				t, ok, err := try(next, sweep, fmt.Sprintf("%s=%v", v.Name, x))
				if !ok || err != nil {
					return err
				}
				if t.State == optimizer.Complete && p.Direction.Better(t.Value, best) {
					cur, best, parent = next, t.Value, t.Number
				}
			}
		}
	}
	return nil
}

// values lists the values coordinate search tries for v: every option of
// a choice, component, bool or int, and the grid (or the bounds) of a
// float.
func values(v space.Var) []any {
	var out []any
	switch v.Kind {
	case space.KindChoice:
		for _, c := range v.Choices {
			out = append(out, c)
		}
	case space.KindComponent:
		for _, c := range v.Components {
			out = append(out, c.Name)
		}
	case space.KindBool:
		out = []any{false, true}
	case space.KindInt:
		for i := int(v.Low); i <= int(v.High); i++ {
			out = append(out, i)
		}
	case space.KindFloat:
		out = []any{v.Low, v.High}
		if v.Step > 0 {
			out = out[:0]
			for i := 0; v.Low+float64(i)*v.Step <= v.High+v.Step/2; i++ {
				out = append(out, v.Low+float64(i)*v.Step)
			}
		}
	}
	return out
}

// fill returns a with name set to x, the variables that change switches
// on set to their first value, and the ones it switches off removed.
func fill(s *space.Space, a space.Assignment, name string, x any) space.Assignment {
	next := a.Clone()
	next[name] = x
	for changed := true; changed; {
		changed = false
		for _, v := range s.Vars() {
			if _, has := next[v.Name]; v.Searched() && !has && s.Active(v.Name, next) {
				next[v.Name], changed = values(v)[0], true
			}
		}
	}
	return s.Complete(next)
}

// Register an optimizer under a name, build it with optimizer.New as a
// config's optimizers list does, and run it on a two-agent team: once
// cut short by its budget, then resumed from the stored trials with a
// larger one.
func ExampleRegister() {
	models := []space.Component{{Name: "sim-small"}, {Name: "sim-medium"}, {Name: "sim-large"}}
	ts, err := space.Team{
		Agents: []space.Agent{
			{ID: "a1", Role: "solver", Vars: []space.Var{space.ComponentChoice(space.LocalModel, models...)}},
			{ID: "a2", Role: "critic", Optional: true, Vars: []space.Var{space.ComponentChoice(space.LocalModel, models...)}},
		},
		Vars: []space.Var{space.Int(space.TeamRounds, 0, 1)},
	}.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	data, err := datasets.Builtin("arithmetic", datasets.Sizes{Val: 20}, 1, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	problem := func() *optimizer.Problem {
		return &optimizer.Problem{
			Space:     ts.Space(),
			Evaluator: &optimizer.TeamEvaluator{Space: ts, Model: sim.New(&sim.Options{Seed: 1})},
			Val:       data.Val,
			Seed:      1,
			Baseline: ts.Space().Complete(space.Assignment{
				"agent/a1/model": "sim-small", "team/active/a2": false, "team/rounds": 0,
			}),
		}
	}

	if _, err := optimizer.New("coordinate", map[string]any{"sweep": 2}); err != nil {
		fmt.Println(err)
	}
	opt, err := optimizer.New("coordinate", map[string]any{"sweeps": 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	first, err := opt.Optimize(ctx, problem(), optimizer.Budget{Trials: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := problem()
	p.History = first.Trials // as the store gives them back on resume
	ran := map[int]bool{}
	p.OnTrial = func(_ context.Context, t optimizer.Trial, _ *evaluation.Report) error {
		ran[t.Number] = true // the store commits the trial here
		return nil
	}
	res, err := opt.Optimize(ctx, p, optimizer.Budget{Trials: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range res.Trials {
		from, parent := "stored", "-"
		if ran[t.Number] {
			from = "new"
		}
		if t.Parent != nil {
			parent = fmt.Sprint(*t.Parent)
		}
		fmt.Printf("%-6s trial %d: sweep %d, parent %s, %-26s %.2f\n", from, t.Number, t.Step, parent, t.Note, t.Value)
	}
	fmt.Printf("best trial %d: %.2f\n", res.Best.Number, res.Best.Value)
	// Output:
	// optimizer "coordinate": settings: json: unknown field "sweep"
	// stored trial 0: sweep 0, parent -, start                      0.45
	// stored trial 1: sweep 1, parent 0, team/rounds=1              0.45
	// stored trial 2: sweep 1, parent 0, team/active/a2=true        0.50
	// new    trial 3: sweep 1, parent 2, agent/a1/model=sim-medium  0.70
	// new    trial 4: sweep 1, parent 3, agent/a1/model=sim-large   0.90
	// new    trial 5: sweep 1, parent 4, agent/a2/model=sim-medium  0.90
	// new    trial 6: sweep 1, parent 4, agent/a2/model=sim-large   0.90
	// new    trial 7: sweep 2, parent 4, team/rounds=1              0.90
	// new    trial 8: sweep 2, parent 4, team/active/a2=false       0.90
	// new    trial 9: sweep 2, parent 4, agent/a1/model=sim-small   0.50
	// best trial 4: 0.90
}
