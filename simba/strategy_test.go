package simba

import (
	"context"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/optimizer"
)

// adviser records the introspection prompts it is sent and advises every
// target.
type adviser struct{ prompts []prompt.Prompt }

func (a *adviser) Generate(_ context.Context, req lm.Request) (lm.Response, error) {
	p, err := prompt.Parse(req.Messages)
	if err != nil {
		return lm.Response{}, err
	}
	a.prompts = append(a.prompts, p)
	rules := make([]string, len(p.Targets))
	for i, id := range p.Targets {
		rules[i] = "rule for " + id
	}
	return lm.Response{Text: prompt.FormatAdvice(p.Targets, rules), Usage: lm.Usage{PromptTokens: 10, CompletionTokens: 5}, Cost: 0.01}, nil
}

func testRun(a *adviser) *run {
	s, _ := Settings{}.resolved()
	return &run{ctx: context.Background(), s: s, meter: optimizer.NewMeter(a), p: &optimizer.Problem{}}
}

func twoAgents() optimizer.Program {
	return optimizer.Program{Agents: map[string]optimizer.AgentProgram{"a": {}, "b": {Rules: []string{"old"}}}}
}

func bucketOf(scores ...float64) []outcome {
	out := make([]outcome, len(scores))
	for i, s := range scores {
		out[i] = outcome{t: trajectory{Example: "e1", Score: s, Answer: "x", Calls: []call{
			{Agent: "a", Round: 0, Answer: "4", Right: true, Output: "Answer: 4"},
			{Agent: "b", Round: 0, Answer: "5", Output: "Answer: 5"},
			{Agent: "c", Round: 0, Answer: "4", Right: true, Output: "Answer: 4"}, // not in the program
		}}}
	}
	return out
}

var ex = datasets.Example{ID: "e1", Question: "What is 2 + 2?", Answer: "4"}

// TestAppendRuleSkips pins DSPy's skip rule: no call when the best
// trajectory is at or below the 10th percentile or the worst at or above
// the 90th; otherwise one call, whose advice lands in each agent's rules
// and whose usage is charged.
func TestAppendRuleSkips(t *testing.T) {
	for _, tc := range []struct {
		name          string
		bucket        []outcome
		p10, p90      float64
		skip          bool
		better, worse string // "N/A" where DSPy hides one side
	}{
		{"best at p10", bucketOf(0.2, 0), 0.2, 0.9, true, "", ""},
		{"worst at p90", bucketOf(1, 0.9), 0, 0.9, true, "", ""},
		{"contrast", bucketOf(1, 0), 0, 1.5, false, "", ""},
		{"equal, above p90", bucketOf(1, 1), 0, 0.8, true, "", ""}, // bad ≥ p90 skips first
		// Equal scores below p90: DSPy hides the better side. (Its other
		// branch, equal scores above p90, is unreachable: the worst is then
		// at or above p90 too, which skips.)
		{"equal, below p90", bucketOf(0.5, 0.5), 0.1, 0.9, false, "N/A", ""},
	} {
		a := &adviser{}
		r := testRun(a)
		prog := twoAgents()
		change, skipped, u, err := r.appendRule(&prog, ex, tc.bucket, tc.p10, tc.p90)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.skip {
			if skipped == "" || len(a.prompts) != 0 || u.Calls != 0 || len(prog.Agents["a"].Rules) != 0 {
				t.Errorf("%s: not skipped (change %q, %d calls)", tc.name, change, len(a.prompts))
			}
			continue
		}
		if skipped != "" || len(a.prompts) != 1 || u.Calls != 1 || u.Cost != 0.01 {
			t.Fatalf("%s: skipped %q, %d calls, usage %+v", tc.name, skipped, len(a.prompts), u)
		}
		p := a.prompts[0]
		if p.Task != prompt.TaskAdvise || p.Gold != "4" || p.Question != ex.Question || strings.Join(p.Targets, ",") != "a,b" {
			t.Errorf("%s: prompt %+v", tc.name, p)
		}
		if (tc.better == "N/A") != (p.Better == "N/A") || (tc.worse == "N/A") != (p.Worse == "N/A") {
			t.Errorf("%s: better %q worse %q", tc.name, p.Better, p.Worse)
		}
		if got := prog.Agents["b"].Rules; len(got) != 2 || got[0] != "old" || got[1] != "rule for b" {
			t.Errorf("%s: b's rules %v", tc.name, got)
		}
	}
}

// TestAppendDemo: the best trajectory gives each agent of the program
// that was right its last call as a demo; at or below p10 nothing.
func TestAppendDemo(t *testing.T) {
	r := testRun(&adviser{})
	prog := twoAgents()
	if _, skipped := r.appendDemo(&prog, ex, bucketOf(0.1, 0), 0.1); skipped == "" {
		t.Error("a best score at p10 must skip")
	}
	change, skipped := r.appendDemo(&prog, ex, bucketOf(1, 0), 0.1)
	if skipped != "" || change == "" {
		t.Fatalf("skipped %q", skipped)
	}
	want := optimizer.Demo{Example: "e1", Question: ex.Question, Answer: "4", Output: "Answer: 4"}
	if d := prog.Agents["a"].Demos; len(d) != 1 || d[0] != want {
		t.Errorf("a's demos %+v, want [%+v]", d, want)
	}
	if d := prog.Agents["b"].Demos; len(d) != 0 {
		t.Errorf("b was wrong but got demos %+v", d)
	}
	if _, ok := prog.Agents["c"]; ok {
		t.Error("an agent outside the program got a demo")
	}
	r.s.DemoInputFieldMaxLen = 5
	prog = twoAgents()
	r.appendDemo(&prog, ex, bucketOf(1, 0), 0.1)
	if q := prog.Agents["a"].Demos[0].Question; !strings.HasPrefix(q, "What \n") || !strings.Contains(q, "TRUNCATED") {
		t.Errorf("truncated question %q", q)
	}
}
