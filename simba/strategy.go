package simba

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// candidate builds the candidate of bucket k of step: a source program by
// softmax, its demos dropped, then one strategy. A strategy error drops
// it: the candidate is returned with the error (its data and what its
// calls used), so the drop is recorded.
func (r *run) candidate(step, k int, ex datasets.Example, bucket []outcome, p10, p90 float64) (cand, error) {
	rng := r.rng(step, streamCandidate, k)
	src := r.pool.softmaxPick(rng, r.pool.topKPlusBaseline(r.s.NumCandidates), r.s.TemperatureForCandidates)
	prog := r.members[src].prog.Clone()
	d := 0
	for _, a := range prog.Agents {
		d = max(d, len(a.Demos))
	}
	drop := demosToDrop(rng, d, r.s.MaxDemos)
	if len(drop) > 0 {
		for id, a := range prog.Agents {
			var keep []optimizer.Demo
			for i, demo := range a.Demos {
				if !slices.Contains(drop, i) {
					keep = append(keep, demo)
				}
			}
			a.Demos = keep
			prog.Agents[id] = a
		}
	}
	c := cand{parent: r.members[src].trial, strategy: r.strategies[rng.IntN(len(r.strategies))]}
	data := candidateData{Bucket: k, Example: ex.ID, Source: c.parent, Dropped: drop}
	var err error
	switch c.strategy {
	case AppendDemo:
		data.Change, data.Skipped = r.appendDemo(&prog, ex, bucket, p10)
	case AppendRule:
		data.Change, data.Skipped, c.usage, err = r.appendRule(&prog, ex, bucket, p10, p90)
	case TeamMove:
		data.Change, err = r.teamMove(&prog, bucket, rng)
	}
	if c.usage != (optimizer.Usage{}) {
		// Nominal only: what was billed and retried depends on the cache
		// and the server, and the stored data must not (a resumed study
		// stores the same data as an uninterrupted one).
		nominal := c.usage
		nominal.Billed, nominal.Retries = 0, 0
		data.Charged = &nominal
	}
	if err != nil {
		data.Error = err.Error()
	}
	c.prog = prog
	var merr error
	if c.data, merr = json.Marshal(data); merr != nil {
		return c, merr
	}
	return c, err
}

// appendDemo is DSPy's append_a_demo for a team: the bucket's best
// trajectory, unless it scores at or below the batch's 10th percentile,
// gives each agent of the program whose own final answer in it was right
// its last call as a demo (question, gold answer and the agent's reply).
func (r *run) appendDemo(prog *optimizer.Program, ex datasets.Example, bucket []outcome, p10 float64) (change, skipped string) {
	good := bucket[0].t
	if good.Score <= p10 {
		return "", fmt.Sprintf("the best score %g is at or below the 10th percentile %g", good.Score, p10)
	}
	q := ex.Question
	if max := r.s.DemoInputFieldMaxLen; len(q) > max {
		q = q[:max] + "\n\t\t... <TRUNCATED FOR BREVITY>"
	}
	var added []string
	for _, c := range good.Calls {
		a, ok := prog.Agents[c.Agent]
		if c.Output == "" || !c.Right || !ok {
			continue
		}
		a.Demos = append(a.Demos, optimizer.Demo{Example: ex.ID, Question: q, Answer: ex.Answer, Output: c.Output})
		prog.Agents[c.Agent] = a
		added = append(added, c.Agent)
	}
	if len(added) == 0 {
		return "", "no agent of the program was right in the best trajectory"
	}
	return "demo of " + ex.ID + " for " + strings.Join(added, ", "), ""
}

// appendRule is DSPy's append_a_rule for a team: one introspection call
// comparing the bucket's best and worst trajectories returns advice per
// agent, appended to that agent's rules.
func (r *run) appendRule(prog *optimizer.Program, ex datasets.Example, bucket []outcome, p10, p90 float64) (change, skipped string, u optimizer.Usage, err error) {
	good, bad := bucket[0].t, bucket[len(bucket)-1].t
	if good.Score <= p10 || bad.Score >= p90 {
		return "", fmt.Sprintf("the best score %g is at or below the 10th percentile %g, or the worst %g at or above the 90th %g",
			good.Score, p10, bad.Score, p90), u, nil
	}
	better, worse := render(good), render(bad)
	if good.Score <= bad.Score { // DSPy: show one side only
		if good.Score > p90 {
			worse = "N/A"
		} else {
			better = "N/A"
		}
	}
	targets := r.agentOrder(prog)
	p := prompt.Prompt{Task: prompt.TaskAdvise, Role: "introspection", Instruction: r.describe(prog),
		Question: ex.Question, Gold: ex.Answer, Better: better, Worse: worse, Targets: targets}
	r.meter.Take()
	resp, err := r.meter.Generate(r.ctx, lm.Request{Model: r.adviceModel(), Messages: prompt.Render(&p)})
	u = r.meter.Take()
	if err != nil {
		return "", "", u, err
	}
	advice, err := prompt.ParseAdvice(resp.Text)
	if err != nil {
		return "", "", u, err
	}
	var got []string
	for _, id := range targets {
		rule, ok := advice[id]
		if !ok || strings.TrimSpace(rule) == "" {
			continue
		}
		a := prog.Agents[id]
		a.Rules = append(a.Rules, rule)
		prog.Agents[id] = a
		got = append(got, id)
	}
	if len(got) == 0 {
		return "", "the advice named no agent of the program", u, nil
	}
	return "rules for " + strings.Join(got, ", "), "", u, nil
}

// render is a trajectory as the introspection call reads it.
func render(t trajectory) string {
	pt := prompt.Trajectory{Score: t.Score, Answer: t.Answer}
	for _, c := range t.Calls {
		pt.Steps = append(pt.Steps, prompt.Step{Agent: c.Agent, Round: c.Round, Answer: c.Answer, Confidence: c.Confidence})
	}
	return prompt.RenderTrajectory(pt)
}

// agentOrder lists the program's agents with materials, in team order
// when the team is known, else sorted.
func (r *run) agentOrder(prog *optimizer.Program) []string {
	var ids []string
	if r.team != nil {
		for _, a := range r.team.TeamSpace().Team().Agents {
			if _, ok := prog.Agents[a.ID]; ok {
				ids = append(ids, a.ID)
			}
		}
		return ids
	}
	for id := range prog.Agents {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// describe is the program as the introspection call is shown it: the team
// and each agent's rules so far.
func (r *run) describe(prog *optimizer.Program) string {
	var b strings.Builder
	if r.team != nil {
		if ta, err := r.team.TeamSpace().Decode(prog.Params); err == nil {
			b.WriteString("Team: ")
			b.WriteString(ta.String())
		}
	}
	for _, id := range r.agentOrder(prog) {
		if rules := prog.Agents[id].Rules; len(rules) > 0 {
			fmt.Fprintf(&b, "\nAgent %s follows: %s", id, strings.Join(rules, " "))
		}
	}
	return b.String()
}

// adviceModel is the model name of the introspection call.
func (r *run) adviceModel() string {
	if r.s.AdviceModel != "" {
		return r.s.AdviceModel
	}
	if r.team != nil {
		for _, a := range r.team.TeamSpace().Team().Agents {
			if m, ok := r.p.Baseline[space.AgentVar(a.ID, space.LocalModel)].(string); ok {
				return m
			}
		}
	}
	return ""
}
