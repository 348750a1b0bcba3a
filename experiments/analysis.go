package experiments

import (
	"context"
	"fmt"
	"math"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/store"
)

// Analysis is the team analytics of a concluded study, measured on the
// test examples for the best team and the baseline and stored with the
// study (tables contributions and team_metrics):
//
//   - each agent's contribution to the team's mean score: Shapley values
//     (exact up to 10 agents, every coalition scored on the same examples
//     and samples, a removed agent's edges removed; permutation Monte Carlo
//     beyond), leave-one-out, and DyLAN's importance from the traces, each
//     with a 95% interval from resampling the examples;
//   - the team's measures, by name in team_metrics: "score" (mean test
//     score), "tokens_per_question", "score_per_1k_tokens",
//     "best_single" (the best member's score alone) and
//     "coordination_efficiency" (score over best_single),
//     "communication_calls" and "communication_tokens" (the share of calls
//     and tokens spent after round 0: the debate rounds and the judge,
//     which read peers' messages), "agreement" (the share of voters whose
//     final answer is the team's) and "agreement_round_<r>" (the share of
//     round r's calls that gave the team answer), "token_use" (debate
//     tokens over the team's token budget; NULL without one), and
//     "analysis_calls" and "analysis_cost_usd" (what measuring the
//     contributions cost; not part of the study's budget).
type Analysis struct {
	Team          string // store.TestBest or store.TestBaseline
	Contributions *evaluation.Contributions
	Report        *evaluation.Report // the team's test report (DyLAN and the measures)
	Metrics       map[string]float64
	Spent         optimizer.Usage
}

// analyze measures the test teams of a concluded study (res, Conclude'd)
// and stores what it measured.
func (r *Runner) analyze(ctx context.Context, st *Study, id int64, res *optimizer.Result) error {
	p := st.Problem
	if len(p.Test) == 0 || st.Evaluator == nil {
		return nil
	}
	type teamOf struct {
		name string
		prog optimizer.Program
		rep  *evaluation.Report
	}
	var teams []teamOf
	if res.BestOK && res.Test != nil {
		teams = append(teams, teamOf{store.TestBest, res.Best.Program(), res.Test})
	}
	if p.Baseline != nil && res.Baseline != nil {
		teams = append(teams, teamOf{store.TestBaseline, optimizer.Program{Params: p.Baseline}, res.Baseline})
	}
	for _, tm := range teams {
		a, err := Analyze(ctx, st.Evaluator, tm.prog, p.Test, tm.rep, st.Seed)
		if err != nil {
			return fmt.Errorf("study %s: analysing the %s team: %w", st.Name, tm.name, err)
		}
		a.Team = tm.name
		if err := r.Store.SaveContributions(ctx, id, tm.name, a.Records()); err != nil {
			return err
		}
		if err := r.Store.SaveTeamMetrics(ctx, id, tm.name, a.Metrics); err != nil {
			return err
		}
	}
	return nil
}

// Analyze measures the team prog describes on the test examples exs,
// given its test report rep (with per-agent figures); seed seeds the
// resampling. Team is left empty.
func Analyze(ctx context.Context, ev *optimizer.TeamEvaluator, prog optimizer.Program, exs []datasets.Example, rep *evaluation.Report, seed uint64) (*Analysis, error) {
	a := &Analysis{Report: rep}
	ids, v, err := ev.Coalitions(prog, exs, &a.Spent)
	if err != nil {
		return nil, err
	}
	a.Contributions, err = evaluation.Contribute(ctx, ids, v, &evaluation.ContributeOptions{Seed: seed})
	if err != nil {
		return nil, err
	}
	a.Metrics = teamMetrics(rep, a.Contributions)
	a.Metrics["analysis_calls"] = float64(a.Spent.Calls)
	a.Metrics["analysis_cost_usd"] = a.Spent.Cost
	spec, err := ev.Spec(prog)
	if err != nil {
		return nil, err
	}
	a.Metrics["token_use"] = math.NaN()
	if spec.TokenBudget > 0 && spec.Rounds > 0 {
		debate := 0
		for k := 1; k <= spec.Rounds && k < len(rep.Rounds); k++ {
			debate += rep.Rounds[k].Tokens
		}
		a.Metrics["token_use"] = float64(debate) / float64(spec.TokenBudget*rep.N)
	}
	return a, nil
}

// teamMetrics are the measures documented at Analysis.
func teamMetrics(rep *evaluation.Report, c *evaluation.Contributions) map[string]float64 {
	m := map[string]float64{"score": rep.Mean, "agreement": rep.Agreement}
	tokens := float64(rep.Usage.Total()) / float64(rep.N)
	m["tokens_per_question"] = tokens
	m["score_per_1k_tokens"] = math.NaN()
	if tokens > 0 {
		m["score_per_1k_tokens"] = rep.Mean / (tokens / 1000)
	}
	best := math.Inf(-1)
	for _, x := range c.Alone {
		best = max(best, x)
	}
	m["best_single"] = best
	m["coordination_efficiency"] = math.NaN()
	if best > 0 {
		m["coordination_efficiency"] = rep.Mean / best
	}
	calls, toks, later, laterTok := 0, 0, 0, 0
	for k, rs := range rep.Rounds {
		calls += rs.Calls
		toks += rs.Tokens
		if k > 0 {
			later += rs.Calls
			laterTok += rs.Tokens
		}
		m[fmt.Sprintf("agreement_round_%d", k)] = rs.Agreement
	}
	m["communication_calls"], m["communication_tokens"] = math.NaN(), math.NaN()
	if calls > 0 {
		m["communication_calls"] = float64(later) / float64(calls)
	}
	if toks > 0 {
		m["communication_tokens"] = float64(laterTok) / float64(toks)
	}
	return m
}

// Records are what the store keeps of the contributions: Shapley,
// leave-one-out and DyLAN's importance, by agent.
func (a *Analysis) Records() []store.Contribution {
	var out []store.Contribution
	for _, cs := range [][]evaluation.Contribution{a.Contributions.Shapley, a.Contributions.LOO} {
		for _, c := range cs {
			out = append(out, store.Contribution{Team: a.Team, Method: c.Method, Agent: c.Agent,
				Value: c.Value, Lo: c.CI95[0], Hi: c.CI95[1], SE: c.SE})
		}
	}
	for _, s := range a.Report.Agents {
		if math.IsNaN(s.Importance) {
			continue
		}
		out = append(out, store.Contribution{Team: a.Team, Method: evaluation.MethodDyLAN, Agent: s.Agent,
			Value: s.Importance, Lo: s.ImportanceCI[0], Hi: s.ImportanceCI[1]})
	}
	return out
}
