package optimizer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/team"
)

// Evaluator scores one assignment on a batch of examples.
type Evaluator interface {
	Evaluate(ctx context.Context, a space.Assignment, exs []datasets.Example) (*evaluation.Report, error)
}

// TeamEvaluator evaluates points of a team space: it decodes the assignment,
// builds the team with the model and runs it over the batch.
type TeamEvaluator struct {
	Space     *space.TeamSpace
	Model     lm.Model
	Metric    datasets.Metric // nil means datasets.ExactMatch
	Materials *team.Materials // may be nil
	// Eval and Team are passed to evaluation.Evaluate and team.New; nil
	// means their defaults.
	Eval *evaluation.Options
	Team *team.Options
	// DemoExamples maps the question of each pooled demo to its train
	// example's id, so a stored program names where its demos came from;
	// nil leaves the ids empty.
	DemoExamples map[string]string
}

// Limit bounds one evaluation: what is left of a study's call and cost
// budget; a zero field is no bound.
type Limit struct {
	Calls int64
	Cost  float64
}

// Remaining is what b leaves after s, as a Limit; ok is false when b is
// exhausted.
func (b Budget) Remaining(s Spent) (l Limit, ok bool) {
	if b.Exhausted(s) {
		return Limit{}, false
	}
	if b.Calls > 0 {
		l.Calls = b.Calls - s.Calls
	}
	if b.Cost > 0 {
		l.Cost = b.Cost - s.Cost
	}
	return l, true
}

// Reserve is budget an optimizer keeps back for later work (SIMBA's and
// BEACON's final evaluations on the validation split).
type Reserve struct {
	Calls  int64
	Cost   float64
	Trials int
}

// Room is the Limit of the next evaluation of a study that has spent s and
// keeps r back: what b leaves, less r, less pre (what making the evaluated
// program already spent, charged to the same trial). ok is false when,
// less r, nothing is left; pre can only shrink the limit, to a sliver
// (one call, 1e-12 dollars) that cuts the evaluation short but still
// records the trial that pre is charged to.
func (b Budget) Room(s Spent, r Reserve, pre Usage) (l Limit, ok bool) {
	l, ok = b.Remaining(s)
	if !ok || b.Trials > 0 && s.Trials+1+r.Trials > b.Trials {
		return l, false
	}
	if b.Calls > 0 {
		if l.Calls -= r.Calls; l.Calls <= 0 {
			return l, false
		}
		l.Calls = max(l.Calls-pre.Calls, 1)
	}
	if b.Cost > 0 {
		if l.Cost -= r.Cost; l.Cost <= 0 {
			return l, false
		}
		l.Cost = max(l.Cost-pre.Cost, 1e-12)
	}
	return l, true
}

var _ Evaluator = (*TeamEvaluator)(nil)

// Build returns the team an assignment describes.
func (e *TeamEvaluator) Build(a space.Assignment) (*team.Team, error) {
	spec, err := e.spec(Program{Params: a})
	if err != nil {
		return nil, err
	}
	return team.New(spec, e.Model, e.Team)
}

// Evaluate implements Evaluator.
func (e *TeamEvaluator) Evaluate(ctx context.Context, a space.Assignment, exs []datasets.Example) (*evaluation.Report, error) {
	return e.EvaluateProgram(ctx, Program{Params: a}, exs, EvalOptions{})
}

// TeamSpace returns the team space the evaluator decodes assignments with
// (TeamProgramEvaluator).
func (e *TeamEvaluator) TeamSpace() *space.TeamSpace { return e.Space }

// Score is the evaluator's metric of a prediction against the gold answer
// (TeamProgramEvaluator).
func (e *TeamEvaluator) Score(prediction, gold string) float64 {
	if e.Metric == nil {
		return datasets.ExactMatch(prediction, gold)
	}
	return e.Metric(prediction, gold)
}

// TeamProgramEvaluator is a ProgramEvaluator of a team space that also
// gives its structure and its metric: what an optimizer that reads the
// agents' answers in a trajectory and moves in the team's structure needs
// (SIMBA's team_move and demos). TeamEvaluator implements it.
type TeamProgramEvaluator interface {
	ProgramEvaluator
	TeamSpace() *space.TeamSpace
	Score(prediction, gold string) float64
}

var _ TeamProgramEvaluator = (*TeamEvaluator)(nil)

// Problem is everything a study needs.
type Problem struct {
	// Space is what is searched; for a team, TeamSpace.Space().
	Space     *space.Space
	Evaluator Evaluator
	// Train is for the optimizer to learn from (minibatches, demos); Val
	// ranks candidates; Test is scored once, on the best candidate, at the
	// end, and never shown to the optimizer.
	Train, Val, Test []datasets.Example
	Direction        Direction
	Seed             uint64
	// Baseline is the unoptimized team, scored on Test for comparison;
	// nil means none. Optimizers that improve a program (SIMBA) start
	// from it.
	Baseline space.Assignment
	// Model is what an optimizer makes its own calls with (SIMBA's
	// introspection, instruction proposals), through a Meter so that they
	// count in the budget; nil means none, and strategies that need it are
	// off.
	Model lm.Model
	// History holds the finished trials of an interrupted run of the same
	// study: the optimizer continues after them without repeating them.
	History []Trial
	// OnTrial, if set, is called with each finished trial and its report
	// (nil for a failed trial) before the next one starts; the store
	// commits the trial here. An error stops the study.
	OnTrial func(ctx context.Context, t Trial, r *evaluation.Report) error
}

// Validate checks the fields every optimizer needs.
func (p *Problem) Validate() error {
	switch {
	case p.Space == nil:
		return errors.New("optimizer: problem has no space")
	case p.Evaluator == nil:
		return errors.New("optimizer: problem has no evaluator")
	case len(p.Val) == 0:
		return errors.New("optimizer: problem has no validation examples")
	}
	for i, t := range p.History {
		if t.Number != i || !t.Finished() {
			return fmt.Errorf("optimizer: history trial at position %d (number %d, state %q) is not the finished trial %d", i, t.Number, t.State, i)
		}
	}
	return nil
}

// Result is the outcome of a study.
type Result struct {
	Trials []Trial // history included
	// Best is the best complete trial by Value; BestOK is false if none.
	Best   Trial
	BestOK bool
	Spent  Spent
	// Test is Best's report on the test split, Baseline the baseline's;
	// nil when there is no test split (or baseline).
	Test, Baseline *evaluation.Report
}

// Optimizer searches a problem's space within a budget.
type Optimizer interface {
	Optimize(ctx context.Context, p *Problem, b Budget) (*Result, error)
}

// ErrHistoryMismatch is matched (errors.Is) by the error of an optimizer
// whose Problem.History is not what replaying its study reaches: the study
// was run with other settings, data or budget than it is resumed with.
var ErrHistoryMismatch = errors.New("optimizer: the stored trials are not this study's replay")

// Checker is an Optimizer that can tell before it runs whether a problem
// suits it (SIMBA needs a train split of one batch): the experiment
// runner checks every study first, so a config it cannot run is refused
// before anything is stored.
type Checker interface {
	Check(p *Problem) error
}

// Ready checks a study before optimizer o runs it: the problem's fields,
// the budget, the evaluator's model names when it is a ModelChecker, and
// o's own Check when it is a Checker. Every optimizer calls it first.
func Ready(o Optimizer, p *Problem, b Budget) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := b.Validate(); err != nil {
		return err
	}
	if mc, ok := p.Evaluator.(ModelChecker); ok {
		if err := mc.CheckModels(); err != nil {
			return err
		}
	}
	if c, ok := o.(Checker); ok {
		return c.Check(p)
	}
	return nil
}

// Search is the generic optimizer that asks a Sampler for each trial and
// scores it on the whole validation split. With the Random sampler it is
// the random-search baseline.
type Search struct {
	Sampler Sampler // nil means Random
	// Note labels the trials; "" means "search".
	Note string
}

var _ Optimizer = (*Search)(nil)

// Optimize implements Optimizer. Each trial is given what is left of the
// call and cost budget (with a ProgramEvaluator): a trial that would pass
// it is cut short, stored as Stopped, and ends the study.
func (s *Search) Optimize(ctx context.Context, p *Problem, b Budget) (*Result, error) {
	if err := Ready(s, p, b); err != nil {
		return nil, err
	}
	smp := s.Sampler
	if smp == nil {
		smp = Random{}
	}
	note := s.Note
	if note == "" {
		note = "search"
	}
	res := &Result{Trials: append([]Trial(nil), p.History...)}
	for i := range res.Trials {
		res.Spent.Add(&res.Trials[i])
	}
	for !b.Exhausted(res.Spent) {
		if err := ctx.Err(); err != nil {
			return res.finish(p), err
		}
		n := len(res.Trials)
		params, data, err := sample(smp, p.Space, p.Direction, res.Trials, TrialRand(p.Seed, n))
		if err != nil {
			return res.finish(p), fmt.Errorf("optimizer: trial %d: %w", n, err)
		}
		left, _ := b.Remaining(res.Spent)
		t, rep, err := RunTrial(ctx, p, n, Program{Params: params}, p.Val, note, left)
		if err != nil {
			return res.finish(p), err
		}
		t.Data = data
		res.Trials = append(res.Trials, t)
		res.Spent.Add(&t)
		if p.OnTrial != nil {
			if err := p.OnTrial(ctx, t, rep); err != nil {
				return res.finish(p), err
			}
		}
		if t.State == Stopped {
			break // the budget is spent
		}
	}
	return res.finish(p), nil
}

// RunTrial evaluates prog on exs (the validation split) as trial n. With a
// ProgramEvaluator it runs within limit l, and a program without materials
// gets those its parameters select, which the trial records; a plain
// Evaluator gets the parameters only and no limit. A failed evaluation gives a Failed
// trial and no error, unless ctx ended: then the error is returned and the
// trial is not finished. An evaluation cut short by l gives a Stopped
// trial, whose Value is the mean on the examples it ran and whose Batch
// counts them.
func RunTrial(ctx context.Context, p *Problem, n int, prog Program, exs []datasets.Example, note string, l Limit) (Trial, *evaluation.Report, error) {
	return Run(ctx, p, TrialSpec{Number: n, Program: prog, Examples: exs, Note: note, Split: SplitVal, Options: EvalOptions{Limit: l}})
}

// TrialSpec is one trial an optimizer runs: a program, the examples it is
// scored on, the evaluation options, and the trial's lineage.
type TrialSpec struct {
	Number   int
	Program  Program
	Examples []datasets.Example
	Options  EvalOptions
	// Split, Note, Parent, Strategy and Step label the trial (Trial's
	// fields of those names).
	Split, Note, Strategy string
	Parent                *int
	Step                  int
}

// Run evaluates a trial as RunTrial does, with s's options and labels;
// a plain Evaluator gets the parameters only, and no options.
func Run(ctx context.Context, p *Problem, s TrialSpec) (Trial, *evaluation.Report, error) {
	prog, exs, n := s.Program, s.Examples, s.Number
	t := Trial{Number: n, Params: prog.Params, Agents: prog.Agents, State: Running, Value: math.NaN(), Batch: len(exs),
		Start: time.Now(), Note: s.Note, Split: s.Split, Parent: s.Parent, Strategy: s.Strategy, Step: s.Step}
	var rep *evaluation.Report
	var err error
	pe, isProgram := p.Evaluator.(ProgramEvaluator)
	if isProgram && prog.Agents == nil {
		full, perr := pe.Program(prog.Params)
		if perr == nil {
			prog, t.Agents = full, full.Agents
		}
	}
	if isProgram {
		rep, err = pe.EvaluateProgram(ctx, prog, exs, s.Options)
	} else {
		rep, err = p.Evaluator.Evaluate(ctx, prog.Params, exs)
	}
	t.Duration = time.Since(t.Start)
	if err != nil {
		if ctx.Err() != nil {
			return t, nil, fmt.Errorf("optimizer: trial %d interrupted: %w", n, ctx.Err())
		}
		if lm.Fatal(err) {
			// No other trial would fare better: stop the study.
			return t, nil, fmt.Errorf("optimizer: trial %d: %w", n, err)
		}
		t.State, t.Err = Failed, err.Error()
		return t, nil, nil
	}
	t.State, t.Value = Complete, rep.Mean
	if rep.Stopped {
		t.State, t.Batch = Stopped, rep.N
		t.Err = fmt.Sprintf("stopped by the budget after %d of %d examples", rep.N, len(exs))
	}
	t.Calls, t.Tokens, t.Cost, t.Billed = int64(rep.Calls), int64(rep.Usage.Total()), rep.Cost, rep.Billed
	t.Retries = int64(rep.Retries)
	return t, rep, nil
}

func (r *Result) finish(p *Problem) *Result {
	r.Best, r.BestOK = Best(r.Trials, p.Direction)
	return r
}

// Conclude scores the best trial (its program, materials included) and
// the baseline once on the test split, filling r.Test and r.Baseline. These calls are not part of the budget.
func Conclude(ctx context.Context, p *Problem, r *Result) error {
	if len(p.Test) == 0 {
		return nil
	}
	if r.BestOK {
		var rep *evaluation.Report
		var err error
		if pe, ok := p.Evaluator.(ProgramEvaluator); ok && r.Best.Agents != nil {
			rep, err = pe.EvaluateProgram(ctx, r.Best.Program(), p.Test, EvalOptions{})
		} else {
			rep, err = p.Evaluator.Evaluate(ctx, r.Best.Params, p.Test)
		}
		if err != nil {
			return fmt.Errorf("optimizer: scoring best trial %d on test: %w", r.Best.Number, err)
		}
		r.Test = rep
	}
	if p.Baseline != nil {
		rep, err := p.Evaluator.Evaluate(ctx, p.Baseline, p.Test)
		if err != nil {
			return fmt.Errorf("optimizer: scoring the baseline on test: %w", err)
		}
		r.Baseline = rep
	}
	return nil
}
