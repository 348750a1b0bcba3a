package experiments

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/store"
	"github.com/mabeam/mabeam/team"
)

// Self-consistency settings: the temperature of the samples and the most
// samples a question gets.
const (
	SelfConsistencyTemperature = 0.7
	SelfConsistencyMaxSamples  = 64
)

// SelfConsistencyResult is a study's cost-matched self-consistency
// baseline: the model of the team space whose single agent (the solver
// role's default instruction, temperature 0) scores best on validation,
// sampled N times at SelfConsistencyTemperature with the plurality answer,
// N the largest (up to SelfConsistencyMaxSamples) whose nominal cost per
// question does not exceed the best team's; N is 1 when even one call
// costs more (OverBudget).
type SelfConsistencyResult struct {
	Model      string
	Val        float64 // the single agent's validation score
	N          int
	OverBudget bool
	PerCall    float64 // the single agent's nominal cost per question on validation
	TeamCost   float64 // the best team's nominal cost per test question
	Test       *evaluation.Report
}

// ErrNoModel is returned by SelfConsistency for a team space whose agents
// name no model (agents of other kinds): there is no single model to
// sample.
var ErrNoModel = errors.New("experiments: the team space names no model to sample")

// SingleModel is the model of a team space whose single agent (the solver
// role's default instruction, temperature 0) scores best on validation:
// what both matched baselines use.
type SingleModel struct {
	Model   string
	Val     float64 // its validation score
	PerCall float64 // its nominal cost a validation question
}

// BestSingleModel scores a single agent of each model of the study's team
// space on validation and returns the best (the first of equals).
// ErrNoModel when the space names none.
func BestSingleModel(ctx context.Context, st *Study) (SingleModel, error) {
	ev := st.Evaluator
	var models []string
	seen := map[string]bool{}
	for _, a := range st.TeamSpace.Team().Agents {
		for _, v := range a.Vars {
			if v.Name != "model" {
				continue
			}
			cands := slices.Clone(v.Choices)
			for _, c := range v.Components {
				cands = append(cands, c.Name)
			}
			if m, ok := v.Fixed.(string); ok {
				cands = []string{m}
			}
			for _, m := range cands {
				if !seen[m] {
					seen[m] = true
					models = append(models, m)
				}
			}
		}
	}
	if len(models) == 0 {
		return SingleModel{}, ErrNoModel
	}
	best := SingleModel{Val: math.Inf(-1)}
	for _, m := range models {
		t, err := team.New(team.Spec{Agents: []team.AgentSpec{{ID: "single", Model: m}}}, ev.Model, ev.Team)
		if err != nil {
			return SingleModel{}, err
		}
		rep, err := evaluation.Evaluate(ctx, t, st.Problem.Val, metricOf(ev), ev.Eval)
		if err != nil {
			return SingleModel{}, fmt.Errorf("the single %s agent on validation: %w", m, err)
		}
		if rep.Mean > best.Val {
			best = SingleModel{Model: m, Val: rep.Mean, PerCall: rep.Cost / float64(rep.N)}
		}
	}
	return best, nil
}

func metricOf(ev *optimizer.TeamEvaluator) datasets.Metric {
	if ev.Metric == nil {
		return datasets.ExactMatch
	}
	return ev.Metric
}

// SelfConsistency scores the cost-matched self-consistency baseline of a
// study whose best team's test report is best, on the model m
// (BestSingleModel).
func SelfConsistency(ctx context.Context, st *Study, best *evaluation.Report, m SingleModel) (*SelfConsistencyResult, error) {
	ev := st.Evaluator
	out := &SelfConsistencyResult{Model: m.Model, Val: m.Val, PerCall: m.PerCall, TeamCost: best.Cost / float64(best.N)}
	out.N = 1
	if out.PerCall > 0 {
		out.N = int(math.Floor(out.TeamCost/out.PerCall + 1e-9))
	}
	out.OverBudget = out.N < 1
	out.N = min(max(out.N, 1), SelfConsistencyMaxSamples)
	sc, err := optimizer.NewSelfConsistency(team.AgentSpec{ID: "single", Model: out.Model, Temperature: SelfConsistencyTemperature}, out.N, ev.Model)
	if err != nil {
		return nil, err
	}
	if out.Test, err = evaluation.Evaluate(ctx, sc, st.Problem.Test, metricOf(ev), ev.Eval); err != nil {
		return nil, fmt.Errorf("self-consistency of %s × %d on test: %w", out.Model, out.N, err)
	}
	return out, nil
}

// selfConsistency scores and stores a study's self-consistency baseline:
// its per-example test results (store.TestSelfConsistency), its measures
// (score, samples, cost_per_question, team_cost_per_question, over_budget,
// val_score, tokens_per_question) and an event naming the model.
func (r *Runner) selfConsistency(ctx context.Context, st *Study, id int64, res *optimizer.Result) error {
	if res.Test == nil || res.Test.N == 0 || st.Evaluator == nil || st.TeamSpace == nil {
		return nil
	}
	// The model depends on the space and the validation split, which the
	// optimizers of a dataset and seed share: chosen once for them.
	key := st.Experiment + "\x00" + st.Dataset + "\x00" + strconv.FormatUint(st.Seed, 10)
	r.singlesMu.Lock() // studies run in parallel (Runner.Parallel) choose it once
	m, ok := r.singles[key]
	if !ok {
		var err error
		m, err = BestSingleModel(ctx, st)
		if errors.Is(err, ErrNoModel) {
			r.singlesMu.Unlock()
			return r.Store.Event(ctx, id, "baseline", "no self-consistency baseline: the team space names no model", nil)
		}
		if err != nil {
			r.singlesMu.Unlock()
			return fmt.Errorf("study %s: the single model: %w", st.Name, err)
		}
		if r.singles == nil {
			r.singles = map[string]SingleModel{}
		}
		r.singles[key] = m
	}
	r.singlesMu.Unlock()
	sc, err := SelfConsistency(ctx, st, res.Test, m)
	if err != nil {
		return fmt.Errorf("study %s: the self-consistency baseline: %w", st.Name, err)
	}
	if err := r.Store.SaveTestResults(ctx, id, store.TestSelfConsistency, Record(optimizer.Trial{}, sc.Test).Examples); err != nil {
		return err
	}
	over := 0.0
	if sc.OverBudget {
		over = 1
	}
	ms := map[string]float64{"score": sc.Test.Mean, "samples": float64(sc.N), "over_budget": over, "val_score": sc.Val,
		"cost_per_question": sc.Test.Cost / float64(sc.Test.N), "team_cost_per_question": sc.TeamCost,
		"tokens_per_question": float64(sc.Test.Usage.Total()) / float64(sc.Test.N)}
	if err := r.Store.SaveTeamMetrics(ctx, id, store.TestSelfConsistency, ms); err != nil {
		return err
	}
	msg := fmt.Sprintf("self-consistency: %s × %d at temperature %g, test %.3f", sc.Model, sc.N, SelfConsistencyTemperature, sc.Test.Mean)
	if sc.OverBudget {
		msg += " (one call costs more than the best team's question)"
	}
	if err := r.Store.Event(ctx, id, "baseline", msg, map[string]any{"team": store.TestSelfConsistency, "model": sc.Model, "samples": sc.N, "over_budget": sc.OverBudget}); err != nil {
		return err
	}
	if !r.SingleAgent {
		return nil
	}
	return r.singleAgent(ctx, st, id, sc.Model)
}

// singleAgent runs and stores a study's optimized single agent (on the
// model the self-consistency baseline chose): its test results
// (store.TestSingleAgent), its measures (score, val_score, calls,
// cost_usd: what its optimization and test cost, not part of the study's
// budget) and an event. Its trials are not kept: a study interrupted
// before it ends runs it again on resume.
func (r *Runner) singleAgent(ctx context.Context, st *Study, id int64, model string) error {
	one, err := st.SingleAgent(model)
	if errors.Is(err, ErrNotApplicable) {
		return r.Store.Event(ctx, id, "baseline", "no optimized single agent: "+err.Error(), nil)
	}
	if err != nil {
		return fmt.Errorf("study %s: the single agent: %w", st.Name, err)
	}
	res, err := one.Opt.Optimize(ctx, one.Problem, one.Budget)
	if err == nil {
		err = optimizer.Conclude(ctx, one.Problem, res)
	}
	if err == nil && res.Test == nil {
		err = errors.New("no best trial to score on test")
	}
	if err != nil {
		return fmt.Errorf("study %s: the optimized single agent: %w", st.Name, err)
	}
	if err := r.Store.SaveTestResults(ctx, id, store.TestSingleAgent, Record(optimizer.Trial{}, res.Test).Examples); err != nil {
		return err
	}
	m := map[string]float64{"score": res.Test.Mean, "val_score": res.Best.Value,
		"calls": float64(res.Spent.Calls + int64(res.Test.Calls)), "cost_usd": res.Spent.Cost + res.Test.Cost,
		"tokens_per_question": float64(res.Test.Usage.Total()) / float64(res.Test.N)}
	if err := r.Store.SaveTeamMetrics(ctx, id, store.TestSingleAgent, m); err != nil {
		return err
	}
	return r.Store.Event(ctx, id, "baseline", fmt.Sprintf("optimized single agent: %s, %d trials, test %.3f", model, len(res.Trials), res.Test.Mean),
		map[string]any{"team": store.TestSingleAgent, "model": model, "params": res.Best.Params})
}

// SingleAgent returns the study of the matched single agent: the same
// optimizer, dataset, seed and budget over a one-agent space, the team's
// first solver (else its first agent) with its own instruction, demos,
// rules and temperature variables as the config gives them, its model
// fixed to model, no debate rounds. The optimized single agent is what
// studies of multi-agent systems report against. ErrNotApplicable when
// the optimizer cannot run on one agent (the edge optimizers).
func (st *Study) SingleAgent(model string) (*Study, error) {
	c := st.config
	if c == nil {
		return nil, fmt.Errorf("study %s was not compiled from a config", st.Name)
	}
	one := *c
	one.Name = c.Name + "-single"
	one.Baseline = nil
	ag := c.Team.Agents[0]
	for _, a := range c.Team.Agents {
		if a.Role == "" || a.Role == team.RoleSolver {
			ag = a
			break
		}
	}
	ag.Optional = false
	ag.Vars = slices.Clone(ag.Vars)
	found := false
	for i := range ag.Vars {
		switch ag.Vars[i].Name {
		case "model":
			ag.Vars[i] = Param{Name: "model", Kind: ag.Vars[i].Kind, Fixed: model}
			found = true
		case "weight":
			ag.Vars[i] = Param{Name: "weight", Kind: ag.Vars[i].Kind, Fixed: 1.0}
		}
	}
	if !found {
		ag.Vars = append([]Param{{Name: "model", Kind: space.KindComponent, Fixed: model}}, ag.Vars...)
	}
	one.Team = TeamConfig{Agents: []AgentConfig{ag}, Vars: []Param{{Name: "rounds", Kind: space.KindInt, Fixed: 0}}}
	one.Datasets = slices.Clone(c.Datasets)
	sts, err := one.singleStudy(st)
	if err != nil {
		return nil, err
	}
	return sts, nil
}

// ErrNotApplicable is returned by Study.SingleAgent when the study's
// optimizer cannot search a one-agent space.
var ErrNotApplicable = errors.New("experiments: the optimizer does not apply to a single agent")

func (c *Config) singleStudy(parent *Study) (*Study, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("the single-agent config: %w", err)
	}
	sp := datasets.Splits{Train: parent.Problem.Train, Val: parent.Problem.Val, Test: parent.Problem.Test}
	st, err := c.study(parent.dataset, parent.optimizer, parent.Seed, sp, parent.Evaluator.Model, parent.Evaluator.Metric, "")
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%w: %v", ErrNotApplicable, err)
		}
		return nil, err
	}
	st.Name = parent.Name + ":single"
	return st, nil
}
