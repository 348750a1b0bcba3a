package optimizer

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/team"
)

// A Program is what an optimizer proposes: an assignment of the team space
// plus, per agent, the concrete materials the agent shows — its demo list
// and the rules appended to its instruction. Random search picks these
// from the shared pools (the assignment's demos and rules counts);
// SIMBA grows per-agent lists. A Program is self-contained: stored with a
// trial, it runs again without the pools it was drawn from.
type Program struct {
	Params space.Assignment
	// Agents holds each active agent's materials by agent id. An agent
	// missing here (or a nil map) shows what Params selects from the
	// evaluator's pools.
	Agents map[string]AgentProgram `json:",omitempty"`
}

// AgentProgram is one agent's materials.
type AgentProgram struct {
	// Instruction, if set, replaces the instruction the assignment selects
	// (an optimizer's proposal, e.g. BEACON's).
	Instruction string   `json:",omitempty"`
	Demos       []Demo   `json:",omitempty"`
	Rules       []string `json:",omitempty"`
}

// Demo is a worked example an agent shows: a train example's question, its
// gold answer, and the agent's own output on it when the demo was taken
// from a trajectory ("" for a demo of the gold answer alone), which is what
// the agent is shown.
type Demo struct {
	Example  string `json:",omitempty"` // the train example's id
	Question string
	Answer   string
	Output   string `json:",omitempty"`
}

// prompt is the demo as the agent sees it.
func (d Demo) prompt() prompt.Demo {
	a := d.Answer
	if d.Output != "" {
		a = d.Output
	}
	return prompt.Demo{Question: d.Question, Answer: a}
}

// Clone returns a deep copy of p, which an optimizer may change freely.
func (p Program) Clone() Program {
	c := Program{Params: maps.Clone(p.Params)}
	if p.Agents != nil {
		c.Agents = make(map[string]AgentProgram, len(p.Agents))
		for id, a := range p.Agents {
			c.Agents[id] = AgentProgram{Instruction: a.Instruction, Demos: slices.Clone(a.Demos), Rules: slices.Clone(a.Rules)}
		}
	}
	return c
}

// MarshalJSON writes the program with its parameters in the store's
// encoding (sorted keys).
func (p Program) MarshalJSON() ([]byte, error) {
	type plain Program
	return json.Marshal(plain(p))
}

// EvalOptions are the settings of one program evaluation; the zero value
// is a plain evaluation.
type EvalOptions struct {
	// Sample is passed to every call (lm.Request.Sample), so rollouts of one
	// program at temperature > 0 draw different samples.
	Sample int
	// TemperatureFloor, if above 0, runs agents whose temperature is below
	// it at this temperature (SIMBA's rollouts sample even greedy agents,
	// as DSPy's rollout copies run at 1.0).
	TemperatureFloor float64
	// KeepTraces keeps every example's team result, trace included, in the
	// report (evaluation.Options.KeepTraces).
	KeepTraces bool
	// Limit bounds the evaluation: a batch that would pass it is cut to its
	// longest prefix within it (evaluation.Report.Stopped).
	Limit Limit
}

// ProgramEvaluator evaluates programs: the evaluator an optimizer that
// builds materials (SIMBA, BEACON's compiler) needs.
type ProgramEvaluator interface {
	Evaluator
	// Program returns the program an assignment stands for, its materials
	// drawn from the evaluator's pools.
	Program(a space.Assignment) (Program, error)
	// EvaluateProgram scores p on exs.
	EvaluateProgram(ctx context.Context, p Program, exs []datasets.Example, o EvalOptions) (*evaluation.Report, error)
}

var _ ProgramEvaluator = (*TeamEvaluator)(nil)

// spec is the team p describes.
func (e *TeamEvaluator) spec(p Program) (team.Spec, error) {
	ta, err := e.Space.Decode(p.Params)
	if err != nil {
		return team.Spec{}, err
	}
	spec, err := team.FromAssignment(ta, e.Materials)
	if err != nil {
		return team.Spec{}, err
	}
	for i := range spec.Agents {
		a := &spec.Agents[i]
		own, ok := p.Agents[a.ID]
		if !ok {
			continue
		}
		a.Demos = make([]prompt.Demo, len(own.Demos))
		for k, d := range own.Demos {
			a.Demos[k] = d.prompt()
		}
		a.Rules = slices.Clone(own.Rules)
		if own.Instruction != "" {
			a.Instruction = own.Instruction
		}
	}
	return spec, nil
}

// Spec returns the team p describes.
func (e *TeamEvaluator) Spec(p Program) (team.Spec, error) { return e.spec(p) }

// Program implements ProgramEvaluator: every active agent's demos and
// rules as the assignment selects them from the pools, with the demo's
// example id where the pool came from the train split.
func (e *TeamEvaluator) Program(a space.Assignment) (Program, error) {
	spec, err := e.spec(Program{Params: a})
	if err != nil {
		return Program{}, err
	}
	p := Program{Params: maps.Clone(a), Agents: map[string]AgentProgram{}}
	for _, as := range spec.Agents {
		ap := AgentProgram{Rules: slices.Clone(as.Rules)}
		for _, d := range as.Demos {
			ap.Demos = append(ap.Demos, Demo{Example: e.DemoExamples[d.Question], Question: d.Question, Answer: d.Answer})
		}
		p.Agents[as.ID] = ap
	}
	return p, nil
}

// EvaluateProgram implements ProgramEvaluator.
func (e *TeamEvaluator) EvaluateProgram(ctx context.Context, p Program, exs []datasets.Example, o EvalOptions) (*evaluation.Report, error) {
	spec, err := e.spec(p)
	if err != nil {
		return nil, err
	}
	return e.run(ctx, spec, exs, o)
}

// run scores the team spec on exs.
func (e *TeamEvaluator) run(ctx context.Context, spec team.Spec, exs []datasets.Example, o EvalOptions) (*evaluation.Report, error) {
	if o.TemperatureFloor < 0 || o.TemperatureFloor > 2 {
		return nil, fmt.Errorf("optimizer: temperature floor %g outside [0, 2]", o.TemperatureFloor)
	}
	for i := range spec.Agents {
		spec.Agents[i].Temperature = max(spec.Agents[i].Temperature, o.TemperatureFloor)
	}
	var topts team.Options
	if e.Team != nil {
		topts = *e.Team
	}
	if o.Sample != 0 {
		topts.Sample = o.Sample
	}
	t, err := team.New(spec, e.Model, &topts)
	if err != nil {
		return nil, err
	}
	m := e.Metric
	if m == nil {
		m = datasets.ExactMatch
	}
	var opts evaluation.Options
	if e.Eval != nil {
		opts = *e.Eval
	}
	opts.KeepTraces = opts.KeepTraces || o.KeepTraces
	opts.MaxCalls, opts.MaxCost = o.Limit.Calls, o.Limit.Cost
	return evaluation.Evaluate(ctx, t, exs, m, &opts)
}

// Coalitions gives what evaluation.Contribute measures of the team p
// describes on exs: the ids of its agents, and the scores of the team of
// any of them on exs (a removed agent's edges removed, team.Spec.Subteam),
// every coalition run with the same options, so with the same samples.
// spent, when not nil, adds up what the coalitions' calls cost.
func (e *TeamEvaluator) Coalitions(p Program, exs []datasets.Example, spent *Usage) ([]string, evaluation.CoalitionFunc, error) {
	spec, err := e.spec(p)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(spec.Agents))
	for i, a := range spec.Agents {
		ids[i] = a.ID
	}
	var mu sync.Mutex // protects spent
	v := func(ctx context.Context, members []bool) ([]float64, error) {
		sub, err := spec.Subteam(members)
		if err != nil {
			return nil, err
		}
		rep, err := e.run(ctx, sub, exs, EvalOptions{})
		if err != nil {
			return nil, err
		}
		if spent != nil {
			mu.Lock()
			spent.Calls += int64(rep.Calls)
			spent.Tokens += int64(rep.Usage.Total())
			spent.Cost += rep.Cost
			spent.Billed += rep.Billed
			mu.Unlock()
		}
		return rep.Scores(), nil
	}
	return ids, v, nil
}
