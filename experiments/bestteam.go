package experiments

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/store"
)

// BestTeam is a study's best team as a researcher reads it: the trial, its
// parameters, its test score beside the baseline's, each agent's
// contributions on test (Analysis) and the team's measures.
type BestTeam struct {
	Study     string           `json:"study"`
	Optimizer string           `json:"optimizer"`
	Seed      uint64           `json:"seed"`
	Trial     int              `json:"trial"`
	Params    space.Assignment `json:"params"`
	Val       *float64         `json:"best_val_score"`
	Test      *float64         `json:"test_score"`
	Baseline  *float64         `json:"baseline_test_score"`
	// Agents are the team's active agents (from Params), in id order.
	Agents []TeamAgent `json:"agents"`
	// Metrics are the best team's measures (team_metrics) that are
	// defined for it; nil when the study was not analysed.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// TeamAgent is one agent of a best team with its contributions (by
// method: shapley or shapley_mc, loo, dylan); none when not analysed.
type TeamAgent struct {
	ID            string                  `json:"id"`
	Params        map[string]any          `json:"params"`
	Contributions map[string]Contribution `json:"contributions,omitempty"`
}

// Contribution is an agent's contribution by one method: its value, its
// 95% interval (null in JSON when not defined) and its Monte Carlo
// standard error (0 for exact methods).
type Contribution struct {
	Value float64  `json:"value"`
	CI    Interval `json:"ci"`
	SE    float64  `json:"se"`
}

// BestTeams returns the best team of every study o selects (as Compare
// does), in the store's order.
func BestTeams(ctx context.Context, s *store.Store, o CompareOptions) ([]BestTeam, error) {
	sts, err := selected(ctx, s, o)
	if err != nil {
		return nil, err
	}
	var out []BestTeam
	for _, st := range sts {
		b, err := StudyBestTeam(ctx, s, st)
		if err != nil {
			return nil, err
		}
		if b != nil {
			out = append(out, *b)
		}
	}
	return out, nil
}

// StudyBestTeam returns the best team of one study; nil when it has no
// best trial.
func StudyBestTeam(ctx context.Context, s *store.Store, st store.Study) (*BestTeam, error) {
	if st.Result.BestTrial == nil {
		return nil, nil
	}
	tr, err := s.Trial(ctx, st.ID, *st.Result.BestTrial)
	if err != nil {
		return nil, err
	}
	b := &BestTeam{Study: st.Name, Optimizer: st.Optimizer, Seed: st.Seed, Trial: tr.Number, Params: tr.Params,
		Val: st.Result.BestValScore, Test: st.Result.TestScore, Baseline: st.Result.BaselineTestScore}
	cs, err := s.Contributions(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	byAgent := map[string]map[string]Contribution{}
	for _, c := range cs {
		if c.Team != store.TestBest || math.IsNaN(c.Value) {
			continue
		}
		if byAgent[c.Agent] == nil {
			byAgent[c.Agent] = map[string]Contribution{}
		}
		byAgent[c.Agent][c.Method] = Contribution{Value: c.Value, CI: Interval{c.Lo, c.Hi}, SE: orZero(c.SE)}
	}
	ms, err := s.TeamMetrics(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	for name, v := range ms[store.TestBest] {
		if math.IsNaN(v) {
			continue // not defined for this team
		}
		if b.Metrics == nil {
			b.Metrics = map[string]float64{}
		}
		b.Metrics[name] = v
	}
	agents := map[string]map[string]any{}
	for name, v := range tr.Params {
		rest, ok := strings.CutPrefix(name, "agent/")
		if !ok {
			continue
		}
		id, field, ok := strings.Cut(rest, "/")
		if !ok {
			continue
		}
		if agents[id] == nil {
			agents[id] = map[string]any{}
		}
		agents[id][field] = v
	}
	for _, id := range slices.Sorted(maps.Keys(agents)) {
		if on, ok := tr.Params["team/active/"+id].(bool); ok && !on {
			continue
		}
		b.Agents = append(b.Agents, TeamAgent{ID: id, Params: agents[id], Contributions: byAgent[id]})
	}
	return b, nil
}

// Lines describe the team in a few readable lines: the study, the trial
// and the scores; the team's structure; each agent with its model and
// Shapley value; the team's measures.
func (b *BestTeam) Lines() []string {
	score := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.3f", *p)
	}
	out := []string{fmt.Sprintf("%s: best trial %d, val %s, test %s (baseline %s)", b.Study, b.Trial, score(b.Val), score(b.Test), score(b.Baseline))}
	var team []string
	for _, k := range []string{"topology", "hub", "rounds", "aggregation", "budget"} {
		if v, ok := b.Params["team/"+k]; ok {
			team = append(team, fmt.Sprintf("%s %v", k, v))
		}
	}
	edges := 0
	for name, v := range b.Params {
		if on, _ := v.(bool); on && isEdge(name) {
			edges++
		}
	}
	if b.Params.String("team/topology") == space.TopoExplicit {
		team = append(team, fmt.Sprintf("%d edges", edges))
	}
	out = append(out, "  team: "+strings.Join(team, ", "))
	var ags []string
	for _, a := range b.Agents {
		desc := a.ID
		var bits []string
		if v, ok := a.Params["model"]; ok {
			bits = append(bits, fmt.Sprint(v))
		}
		for _, f := range []string{"temperature", "weight", "instruction", "demos", "rules"} {
			if v, ok := a.Params[f]; ok {
				bits = append(bits, fmt.Sprintf("%s %v", f, v))
			}
		}
		if len(bits) > 0 {
			desc += " (" + strings.Join(bits, ", ") + ")"
		}
		if c, ok := a.Shapley(); ok {
			desc += fmt.Sprintf(" %+.3f [%+.3f, %+.3f]", c.Value, c.CI[0], c.CI[1])
		}
		ags = append(ags, desc)
	}
	out = append(out, "  agents (Shapley value on test, 95% CI): "+strings.Join(ags, "; "))
	if m := b.Metrics; m != nil {
		out = append(out, fmt.Sprintf("  %.0f tokens a question, %.3f a 1k tokens; best member alone %.3f (efficiency %.2f); %.0f%% of tokens on peer messages",
			m["tokens_per_question"], m["score_per_1k_tokens"], m["best_single"], m["coordination_efficiency"], 100*orZero(m["communication_tokens"])))
	}
	return out
}

func orZero(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

func isEdge(name string) bool { _, ok := space.EdgeOf(name); return ok }

// Shapley is the agent's Shapley value, exact or Monte Carlo; ok is false
// when it was not measured.
func (a TeamAgent) Shapley() (Contribution, bool) {
	for _, m := range []string{evaluation.MethodShapley, evaluation.MethodShapleyMC} {
		if c, ok := a.Contributions[m]; ok {
			return c, true
		}
	}
	return Contribution{}, false
}
