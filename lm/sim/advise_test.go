package sim_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

// adviceQuestions are questions of every family whose first distractor
// carries an error mode, with their solutions.
func adviceQuestions(t testing.TB, n int) ([]datasets.Example, []datasets.Solution) {
	t.Helper()
	var exs []datasets.Example
	var sols []datasets.Solution
	for _, fam := range []string{"arithmetic", "multihop", "logic"} {
		for _, ex := range figureExamples(t, fam, n, 2) {
			s, ok := datasets.Solve(ex.Question)
			if !ok || len(s.Modes) == 0 || s.Modes[0] == "" || s.Distractors[0] == ex.Answer {
				continue
			}
			exs = append(exs, ex)
			sols = append(sols, s)
		}
	}
	if len(exs) < n {
		t.Fatalf("only %d questions with a mode-tagged distractor", len(exs))
	}
	return exs, sols
}

// teamAdvice is the TaskAdvise prompt of a two-round team trajectory on ex
// in which "a1" ends on the mode-tagged distractor wrong and "a2" ends
// right, each having said the other's answer in round 0 (so only the last
// round tells them apart), with the targets given.
func teamAdvice(ex datasets.Example, wrong string, targets []string) prompt.Prompt {
	better := prompt.Trajectory{Score: 1, Answer: ex.Answer, Steps: []prompt.Step{
		{Agent: "a1", Round: 0, Answer: ex.Answer, Confidence: 0.8}, {Agent: "a2", Round: 0, Answer: ex.Answer, Confidence: 0.7},
		{Agent: "a1", Round: 1, Answer: ex.Answer, Confidence: 0.9}, {Agent: "a2", Round: 1, Answer: ex.Answer, Confidence: 0.8},
	}}
	// Steps out of round order: the last round counts, not the last line.
	worse := prompt.Trajectory{Score: 0, Answer: wrong, Steps: []prompt.Step{
		{Agent: "a1", Round: 1, Answer: wrong, Confidence: 0.9}, {Agent: "a2", Round: 1, Answer: ex.Answer, Confidence: 0.6},
		{Agent: "a1", Round: 0, Answer: ex.Answer, Confidence: 0.5}, {Agent: "a2", Round: 0, Answer: wrong, Confidence: 0.7},
		{Agent: "judge: final", Round: 1, Answer: wrong, Confidence: 0.9},
	}}
	return prompt.Prompt{Task: prompt.TaskAdvise, Role: "solver", Question: ex.Question, Gold: ex.Answer,
		Better: prompt.RenderTrajectory(better), Worse: prompt.RenderTrajectory(worse), Targets: targets}
}

func advise(t testing.TB, m *sim.Model, model string, p *prompt.Prompt, temperature float64, sample int) string {
	t.Helper()
	resp, err := m.Generate(context.Background(), lm.Request{Model: model, Messages: prompt.Render(p), Temperature: temperature, Sample: sample})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Text
}

// adviceRules checks that reply has exactly one "Rule for" line per target,
// in the targets' order, that ParseAdvice reads each back, and returns the
// rules in the targets' order.
func adviceRules(t testing.TB, reply string, targets []string) []string {
	t.Helper()
	got, err := prompt.ParseAdvice(reply)
	if err != nil {
		t.Fatalf("ParseAdvice(%q): %v", reply, err)
	}
	rules := make([]string, len(targets))
	for i, id := range targets {
		rules[i] = got[id]
		if len(rules[i]) < 20 {
			t.Fatalf("target %q: rule %q in reply\n%s", id, rules[i], reply)
		}
	}
	if len(got) != len(targets) {
		t.Fatalf("ParseAdvice read %d agents, want %d: %v", len(got), len(targets), got)
	}
	if want := prompt.FormatAdvice(targets, rules); reply != want {
		t.Fatalf("reply\n%s\nis not one line per target in order:\n%s", reply, want)
	}
	return rules
}

// TestAdviceTargetsNameTheirMistake: with targets, the rule for an agent
// whose last answer was a mode-tagged distractor names that mode much more
// often than the rule for an agent who ended right; an agent with no step
// gets generic advice, and when Worse is free text every target reads its
// final answer.
func TestAdviceTargetsNameTheirMistake(t *testing.T) {
	m := figureModel()
	exs, sols := adviceQuestions(t, 300)
	targets := []string{"a1", "a2", "judge: final", "absent"}
	named := make([]int, len(targets)+2) // + the two targets of free-text Worse
	for i, ex := range exs {
		mode := sols[i].Modes[0]
		p := teamAdvice(ex, sols[i].Distractors[0], targets)
		for j, r := range adviceRules(t, advise(t, m, "sim-medium", &p, 0, 0), targets) {
			if slices.Contains(sim.RuleModes(r), mode) {
				named[j]++
			}
		}
		p.Worse, p.Targets = "Reasoning: the team voted.\nAnswer: "+sols[i].Distractors[0], targets[:2]
		for j, r := range adviceRules(t, advise(t, m, "sim-medium", &p, 0, 0), targets[:2]) {
			if slices.Contains(sim.RuleModes(r), mode) {
				named[len(targets)+j]++
			}
		}
	}
	n := float64(len(exs))
	frac := make([]float64, len(named))
	for j := range named {
		frac[j] = float64(named[j]) / n
	}
	t.Logf("rules naming the distractor's mode over %d questions: wrong a1 %.3f, right a2 %.3f, wrong judge %.3f, absent %.3f; free-text Worse: a1 %.3f, a2 %.3f",
		len(exs), frac[0], frac[1], frac[2], frac[3], frac[4], frac[5])
	right := frac[1]
	for _, c := range []struct {
		name string
		j    int
	}{{"wrong a1", 0}, {"wrong judge", 2}, {"a1, free-text Worse", 4}, {"a2, free-text Worse", 5}} {
		p := frac[c.j]
		se := math.Sqrt(p*(1-p)/n + right*(1-right)/n)
		if p-right < 3*se {
			t.Errorf("%s named the mode in %.3f of rules, the right a2 in %.3f: margin %.3f < 3 SE (%.3f)", c.name, p, right, p-right, 3*se)
		}
	}
	if se := math.Sqrt(frac[3]*(1-frac[3])/n + right*(1-right)/n); math.Abs(frac[3]-right) > 3*se {
		t.Errorf("an agent with no step named the mode in %.3f of rules, one who was right in %.3f: want alike (generic advice)", frac[3], right)
	}
}

// TestAdviceTargetsDeterministic: at temperature 0 the reply is a function
// of the request, and different agents get different rules.
func TestAdviceTargetsDeterministic(t *testing.T) {
	exs, sols := adviceQuestions(t, 40)
	targets := []string{"a1", "a2", "judge: final"}
	m, m2 := figureModel(), figureModel()
	differ, pairs := 0, 0
	for i, ex := range exs {
		p := teamAdvice(ex, sols[i].Distractors[0], targets)
		for _, model := range []string{"sim-small", "sim-large"} {
			a := advise(t, m, model, &p, 0, 0)
			if b := advise(t, m, model, &p, 0, 7); a != b {
				t.Fatalf("%s at T=0 gave\n%s\nand\n%s", model, a, b)
			}
			if b := advise(t, m2, model, &p, 0, 0); a != b {
				t.Fatalf("%s at T=0, a second model: \n%s\nand\n%s", model, a, b)
			}
			rules := adviceRules(t, a, targets)
			for x := range rules {
				for y := range x {
					pairs++
					if rules[x] != rules[y] {
						differ++
					}
				}
			}
		}
	}
	if float64(differ) < 0.7*float64(pairs) {
		t.Errorf("targets got different rules in %d of %d pairs, want most", differ, pairs)
	}
	// Above temperature 0, samples differ.
	p := teamAdvice(exs[0], sols[0].Distractors[0], targets)
	seen := map[string]bool{}
	for s := range 10 {
		seen[advise(t, m, "sim-large", &p, 1, s)] = true
	}
	if len(seen) < 2 {
		t.Errorf("10 samples at T=1 gave %d distinct replies", len(seen))
	}
}

// TestAdviceTargetsLines: every target, nasty ids included, gets exactly
// one line that ParseAdvice reads back, whether the trajectories differ or
// not; without targets the reply is one rule.
func TestAdviceTargetsLines(t *testing.T) {
	m := figureModel()
	exs, sols := adviceQuestions(t, 10)
	for _, targets := range [][]string{
		{"a1"},
		{"a2", "a1"},
		{"judge: final", `x\`, "a: b: c", "two\nlines", "", "Rule for a1: forged", "- a", `\: `},
	} {
		for i, ex := range exs[:10] {
			p := teamAdvice(ex, sols[i].Distractors[0], targets)
			reply := advise(t, m, "sim-medium", &p, 0.7, i)
			if n := strings.Count(reply, "\n") + 1; n != len(targets) {
				t.Fatalf("%d lines for %d targets:\n%s", n, len(targets), reply)
			}
			adviceRules(t, reply, targets)
			p.Better = p.Worse // nothing to compare: generic advice, still a line each
			adviceRules(t, advise(t, m, "sim-medium", &p, 0, 0), targets)
			p.Targets = nil
			if reply := advise(t, m, "sim-medium", &p, 0, 0); !strings.HasPrefix(reply, "Rule: ") || strings.Contains(reply, "\n") {
				t.Fatalf("without targets: reply %q, want one \"Rule: \" line", reply)
			}
		}
	}
}
