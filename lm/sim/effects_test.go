package sim_test

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

// wrongOf returns the most plausible wrong answer to ex.
func wrongOf(t testing.TB, ex datasets.Example) string {
	s, ok := datasets.Solve(ex.Question)
	if !ok || len(s.Distractors) == 0 {
		t.Fatalf("no distractor for %q", ex.Question)
	}
	return s.Distractors[0]
}

// TestEffects holds the direction of each effect on single calls, each as
// a paired difference at the one-sided 99.9% bound.
func TestEffects(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 4000, 2)
	train := figureExamples(t, "arithmetic", 4012, 2)[4000:]
	base := call{model: "sim-medium", instruction: sim.ReferenceInstruction}
	acc := func(c call) []float64 { return singleAcc(t, m, c, exs) }
	ref := acc(base)
	higher := func(name string, x, y []float64) {
		t.Helper()
		if d := pair(x, y); d.lo() <= 0 {
			t.Errorf("%s: %v, want higher", name, d)
		} else {
			t.Logf("%s: %v", name, d)
		}
	}

	demos := func(n int, wrong bool) []prompt.Demo {
		var ds []prompt.Demo
		for _, ex := range train[:n] {
			a := ex.Answer
			if wrong {
				a = wrongOf(t, ex)
			}
			ds = append(ds, prompt.Demo{Question: ex.Question, Answer: a})
		}
		return ds
	}
	with := func(ds []prompt.Demo) call { c := base; c.demos = ds; return c }
	higher("2 correct demos vs none", acc(with(demos(2, false))), ref)
	higher("no demos vs 4 wrong demos", ref, acc(with(demos(4, true))))
	// Worked examples count by their final answer, however written.
	var styled []prompt.Demo
	for i, ex := range train[:4] {
		a := []string{"Reasoning: add, then subtract.\nAnswer: " + ex.Answer + "\nConfidence: 0.9", "so the total is " + ex.Answer,
			"$" + ex.Answer, ex.Answer + "."}[i]
		styled = append(styled, prompt.Demo{Question: ex.Question, Answer: a})
	}
	higher("4 correct demos in mixed styles vs none", acc(with(styled)), ref)
	var off []prompt.Demo
	for _, ex := range figureExamples(t, "multihop", 4, 2) {
		off = append(off, prompt.Demo{Question: ex.Question, Answer: ex.Answer})
	}
	if d := pair(acc(with(off)), ref); d.hi() > 0.005 {
		t.Errorf("4 multihop demos on arithmetic vs none: %v, want no help", d)
	}

	prev := []float64(nil)
	for _, model := range []string{"sim-small", "sim-medium", "sim-large"} {
		c := base
		c.model = model
		a := acc(c)
		if prev != nil {
			higher(model+" vs the smaller model", a, prev)
		}
		prev = a
	}
	hot := make([]float64, len(exs))
	for s := range 4 {
		c := base
		c.temperature, c.sample = 1.2, s
		for i, v := range acc(c) {
			hot[i] += v / 4
		}
	}
	higher("temperature 0 vs 1.2", ref, hot)
}

// TestPeers holds the direction of the peers' influence: a right majority
// raises accuracy, a confident wrong majority lowers it, an adversary
// ignores it, critics lean on their own check, and a judge picks among the
// candidates.
func TestPeers(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 3000, 2)
	base := call{model: "sim-medium", instruction: sim.ReferenceInstruction}
	acc := func(c call) []float64 { return singleAcc(t, m, c, exs) }
	ref := acc(base)
	right := func(ex datasets.Example) []prompt.Peer {
		return []prompt.Peer{{Agent: "a2", Answer: ex.Answer, Confidence: 0.8}, {Agent: "a3", Answer: ex.Answer, Confidence: 0.7},
			{Agent: "a4", Answer: wrongOf(t, ex), Confidence: 0.6}}
	}
	wrong := func(ex datasets.Example) []prompt.Peer {
		w := wrongOf(t, ex)
		return []prompt.Peer{{Agent: "a2", Answer: w, Confidence: 0.95}, {Agent: "a3", Answer: w, Confidence: 0.95},
			{Agent: "a4", Answer: ex.Answer, Confidence: 0.5}}
	}
	with := func(c call, peers func(datasets.Example) []prompt.Peer) call { c.peers = peers; return c }
	if d := pair(acc(with(base, right)), ref); d.lo() < 0.1 {
		t.Errorf("right peer majority vs alone: %v, want ≥ +10", d)
	}
	wrongAcc := acc(with(base, wrong))
	if d := pair(ref, wrongAcc); d.lo() < 0.1 {
		t.Errorf("alone vs a confident wrong majority: %v, want ≥ +10", d)
	}
	adv := call{model: "sim-adversary"}
	if d := pair(acc(with(adv, right)), acc(adv)); d.hi() > 0.05 {
		t.Errorf("sim-adversary with a right majority vs alone: %v, want deaf to its peers", d)
	}
	critic := with(base, wrong)
	critic.role = "critic"
	if d := pair(acc(critic), wrongAcc); d.lo() <= 0 {
		t.Errorf("critic vs solver facing a wrong majority: %v, want the critic ahead", d)
	}
	judge := with(call{model: "sim-medium", role: "judge"}, func(ex datasets.Example) []prompt.Peer {
		s, _ := datasets.Solve(ex.Question)
		return []prompt.Peer{{Agent: "a1", Answer: s.Distractors[1], Confidence: 0.8}, {Agent: "a2", Answer: s.Distractors[1], Confidence: 0.8},
			{Agent: "a3", Answer: s.Distractors[0], Confidence: 0.6}}
	})
	for _, ex := range exs[:300] {
		s, _ := datasets.Solve(ex.Question)
		if a, _ := reply(t, m, judge.request(ex)); a != s.Distractors[0] && a != s.Distractors[1] {
			t.Fatalf("judge with no right candidate answered %q, not a candidate", a)
		}
	}
}

// TestConfidence holds that stated confidence is informative: higher when
// right, and on average near the accuracy.
func TestConfidence(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 2000, 0)
	for _, model := range []string{"sim-small", "sim-medium", "sim-large"} {
		c := call{model: model, instruction: sim.ReferenceInstruction}
		var confRight, confWrong float64
		var nRight int
		for _, ex := range exs {
			a, conf := reply(t, m, c.request(ex))
			if a == ex.Answer {
				confRight += conf
				nRight++
			} else {
				confWrong += conf
			}
		}
		acc := float64(nRight) / float64(len(exs))
		mr, mw := confRight/float64(nRight), confWrong/float64(len(exs)-nRight)
		mean := (confRight + confWrong) / float64(len(exs))
		t.Logf("%s: mean confidence %.2f right, %.2f wrong, %.2f overall at accuracy %.2f", model, mr, mw, mean, acc)
		if mr < mw+0.15 || model != "sim-small" && (mean < acc-0.15 || mean > acc+0.15) {
			t.Errorf("%s: mean confidence %.2f right, %.2f wrong, %.2f overall at accuracy %.2f", model, mr, mw, mean, acc)
		}
	}
}

// TestDemoCopy: a demo of the very question asked is copied, as real models do.
func TestDemoCopy(t *testing.T) {
	m := figureModel()
	for _, ex := range figureExamples(t, "arithmetic", 20, 3) {
		c := call{model: "sim-small", demos: []prompt.Demo{{Question: ex.Question, Answer: "Reasoning: ...\nAnswer: 12345"}}}
		if a, _ := reply(t, m, c.request(ex)); a != "12345" {
			t.Fatalf("demo of the same question: answered %q, want the demo's answer", a)
		}
	}
}

// TestProposals holds the generation tasks: the reply format, determinism,
// quality rising with the proposer's skill and grounding, and advice that
// names the worse trajectory's mistake and helps on that mistake.
func TestProposals(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 8, 1)
	var demos []prompt.Demo
	for _, ex := range exs {
		demos = append(demos, prompt.Demo{Question: ex.Question, Answer: ex.Answer})
	}
	medium := profileOf(t, m, "sim-medium").BaseSkill
	propose := func(model string, nDemos, i int) (string, float64) {
		p := prompt.Prompt{Task: prompt.TaskProposeInstruction, Role: "solver", Instruction: sim.ReferenceInstruction,
			Demos: demos[:nDemos], Question: "Write a better instruction, attempt " + strconv.Itoa(i) + "."}
		resp, err := m.Generate(context.Background(), lm.Request{Model: model, Messages: prompt.Render(&p)})
		if err != nil {
			t.Fatal(err)
		}
		text, ok := prompt.ParseField(resp.Text, "Instruction")
		if !ok || len(text) < 20 {
			t.Fatalf("proposal reply %q has no instruction", resp.Text)
		}
		return text, sim.Quality(text, medium, "arithmetic")
	}
	a, _ := propose("sim-medium", 2, 0)
	if b, _ := propose("sim-medium", 2, 0); a != b {
		t.Errorf("the same proposal request gave %q and %q", a, b)
	}
	const n = 300
	mean := func(f func(i int) float64) float64 {
		s := 0.0
		for i := range n {
			s += f(i)
		}
		return s / n
	}
	small0 := mean(func(i int) float64 { _, q := propose("sim-small", 0, i); return q })
	large0 := mean(func(i int) float64 { _, q := propose("sim-large", 0, i); return q })
	large8 := mean(func(i int) float64 { _, q := propose("sim-large", 8, i); return q })
	t.Logf("mean proposal quality: small %.3f, large %.3f, large with 8 demos %.3f", small0, large0, large8)
	if !(small0+0.03 < large0 && large0+0.03 < large8) {
		t.Errorf("mean proposal quality: small %.3f, large %.3f, large with 8 demos %.3f; want rising", small0, large0, large8)
	}

	// Advice: the worse trajectory made a given mistake; sim-large names it.
	qs := figureExamples(t, "arithmetic", 400, 2)
	named := 0
	for i, ex := range qs {
		s, _ := datasets.Solve(ex.Question)
		p := prompt.Prompt{Task: prompt.TaskAdvise, Role: "solver", Question: ex.Question,
			Better: "Answer: " + ex.Answer, Worse: "Answer: " + s.Distractors[0]}
		resp, err := m.Generate(context.Background(), lm.Request{Model: "sim-large", Messages: prompt.Render(&p), Temperature: 1, Sample: i})
		if err != nil {
			t.Fatal(err)
		}
		rule, ok := prompt.ParseField(resp.Text, "Rule")
		if !ok {
			t.Fatalf("advice reply %q has no rule", resp.Text)
		}
		if slices.Contains(sim.RuleModes(rule), s.Modes[0]) {
			named++
		}
	}
	if frac := float64(named) / float64(len(qs)); frac < 0.6 {
		t.Errorf("sim-large named the worse trajectory's mistake in %.2f of advice, want most", frac)
	}
}

// TestRuleHelpsItsMode: a rule that names a mistake removes that mistake
// more than it removes others.
func TestRuleHelpsItsMode(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 8000, 2)
	errorsBy := func(c call) map[string]int {
		out := map[string]int{}
		for _, ex := range exs {
			a, _ := reply(t, m, c.request(ex))
			if a == ex.Answer {
				continue
			}
			s, _ := datasets.Solve(ex.Question)
			mode := "other"
			for i, d := range s.Distractors {
				if d == a {
					mode = s.Modes[i]
				}
			}
			out[mode]++
		}
		return out
	}
	base := call{model: "sim-medium", instruction: sim.ReferenceInstruction}
	before := errorsBy(base)
	c := base
	c.rules = []string{"Apply every step the question states, the last one included."}
	after := errorsBy(c)
	target := datasets.ModeLastStep
	rt := float64(after[target]) / float64(before[target])
	ot, ob := 0, 0
	for k, v := range before {
		if k != target {
			ob += v
			ot += after[k]
		}
	}
	ro := float64(ot) / float64(ob)
	t.Logf("errors of the rule's mode: %d → %d (×%.2f); other errors: %d → %d (×%.2f)", before[target], after[target], rt, ob, ot, ro)
	if rt > ro-0.15 {
		t.Errorf("rule naming %s: its errors ×%.2f, others ×%.2f; want its own mode cut clearly more", target, rt, ro)
	}
}
