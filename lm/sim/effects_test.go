package sim_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

// extremeInstructions returns the best and worst of 200 candidate texts by
// sim.Quality.
func extremeInstructions() (best, worst string) {
	bq, wq := -1.0, 1.0
	for i := range 200 {
		text := fmt.Sprintf("Solve the problem carefully (variant %d) and give the final answer.", i)
		q := sim.Quality(text)
		if q > bq {
			best, bq = text, q
		}
		if q < wq {
			worst, wq = text, q
		}
	}
	return best, worst
}

// wrongOf returns the most plausible wrong answer to ex.
func wrongOf(t testing.TB, ex datasets.Example) string {
	s, ok := datasets.Solve(ex.Question)
	if !ok || len(s.Distractors) == 0 {
		t.Fatalf("no distractor for %q", ex.Question)
	}
	return s.Distractors[0]
}

// TestEffects holds the direction of every effect on single calls, on 400
// medium arithmetic questions.
func TestEffects(t *testing.T) {
	exs := examples(t, "arithmetic", 400, 2)
	train := examples(t, "arithmetic", 412, 2)[400:] // demos: other questions
	m := sim.New(nil)
	base := call{model: "sim-medium", instruction: refInstruction}
	acc := func(c call) float64 { return accuracy(t, m, c, exs) }
	ref := acc(base)

	best, worst := extremeInstructions()
	cb, cw := base, base
	cb.instruction, cw.instruction = best, worst
	if a, b := acc(cb), acc(cw); a < b+0.1 {
		t.Errorf("instruction quality %.2f vs %.2f: accuracy %.3f vs %.3f, want the better text ahead by 0.1",
			sim.Quality(best), sim.Quality(worst), a, b)
	}

	var good, bad []string
	for i := range 300 {
		text := fmt.Sprintf("Check step %d twice.", i)
		if q := sim.Quality(text); q > 0.4 && len(good) < 3 {
			good = append(good, text)
		} else if q < -0.4 && len(bad) < 3 {
			bad = append(bad, text)
		}
	}
	cg, cbad := base, base
	cg.rules, cbad.rules = good, bad
	if a, b := acc(cg), acc(cbad); a < ref+0.04 || b > ref-0.04 {
		t.Errorf("rules: accuracy %.3f with good rules, %.3f with bad ones, %.3f with none; want good > none > bad", a, b, ref)
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
	prev := ref
	for _, n := range []int{2, 6} {
		c := base
		c.demos = demos(n, false)
		a := acc(c)
		if a <= prev {
			t.Errorf("%d correct demos: accuracy %.3f, not above %.3f", n, a, prev)
		}
		prev = a
	}
	cd := base
	cd.demos = demos(4, true)
	if a := acc(cd); a >= ref-0.03 {
		t.Errorf("4 wrong demos: accuracy %.3f, want clearly below %.3f", a, ref)
	}

	if other, err := datasets.Lookup("multihop"); err == nil {
		c := base
		for _, ex := range other.Generate(4, 1, 2) {
			c.demos = append(c.demos, prompt.Demo{Question: ex.Question, Answer: ex.Answer})
		}
		if a := acc(c); a > ref {
			t.Errorf("4 multihop demos on arithmetic: accuracy %.3f, above %.3f without demos", a, ref)
		}
	}

	prev = 0
	for _, model := range []string{"sim-small", "sim-medium", "sim-large"} {
		c := base
		c.model = model
		a := acc(c)
		if a < prev+0.1 {
			t.Errorf("%s: accuracy %.3f, want at least 0.1 above the smaller model's %.3f", model, a, prev)
		}
		prev = a
	}

	hot := 0.0
	for s := range 4 {
		c := base
		c.temperature, c.sample = 1.2, s
		hot += acc(c) / 4
	}
	if hot >= ref-0.03 {
		t.Errorf("temperature 1.2: mean accuracy %.3f, want below temperature 0's %.3f", hot, ref)
	}

	adv := base
	adv.model = "sim-adversary"
	wrongConf, n := 0.0, 0
	for _, ex := range exs {
		a, c := reply(t, m, adv.request(ex))
		if a != ex.Answer {
			wrongConf += c
			n++
		}
	}
	if frac := float64(n) / float64(len(exs)); frac < 0.85 || wrongConf/float64(n) < 0.85 {
		t.Errorf("sim-adversary: wrong on %.2f of questions with mean confidence %.2f, want mostly wrong and sure", frac, wrongConf/float64(n))
	}
}

// TestPeers holds the direction of the peers' influence: a right majority
// raises accuracy, a confident wrong majority lowers it, an adversary
// ignores it, and critics and judges use their own competence.
func TestPeers(t *testing.T) {
	exs := examples(t, "arithmetic", 400, 2)
	m := sim.New(nil)
	base := call{model: "sim-medium", instruction: refInstruction}
	ref := accuracy(t, m, base, exs)
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

	t.Logf("sim-medium alone: %.3f", ref)
	if a := accuracy(t, m, with(base, right), exs); a < ref+0.1 {
		t.Errorf("right peer majority: accuracy %.3f, want at least 0.1 above %.3f", a, ref)
	}
	wrongAcc := accuracy(t, m, with(base, wrong), exs)
	if wrongAcc > ref-0.1 {
		t.Errorf("confident wrong peer majority: accuracy %.3f, want at least 0.1 below %.3f", wrongAcc, ref)
	}
	adv := call{model: "sim-adversary"}
	if a, b := accuracy(t, m, adv, exs), accuracy(t, m, with(adv, right), exs); b > a+0.05 {
		t.Errorf("sim-adversary moved with its peers: accuracy %.3f alone, %.3f with a right majority", a, b)
	}

	critic := with(base, wrong)
	critic.role, critic.instruction = "critic", ""
	if a := accuracy(t, m, critic, exs); a < wrongAcc+0.08 || a < ref-0.05 {
		t.Errorf("critic facing a wrong majority: accuracy %.3f, want near its own %.3f and above a solver's %.3f", a, ref, wrongAcc)
	}
	// A judge shown one right candidate among two wrong ones picks it with
	// its own competence; a plurality vote never would.
	oneRight := func(ex datasets.Example) []prompt.Peer {
		s, _ := datasets.Solve(ex.Question)
		return []prompt.Peer{{Agent: "a1", Answer: s.Distractors[0], Confidence: 0.8}, {Agent: "a2", Answer: s.Distractors[0], Confidence: 0.8},
			{Agent: "a3", Answer: ex.Answer, Confidence: 0.6}}
	}
	judge := with(call{model: "sim-medium", role: "judge"}, oneRight)
	if a := accuracy(t, m, judge, exs); a < 0.4 {
		t.Errorf("judge with one right candidate: accuracy %.3f, want near its own competence", a)
	}
	noneRight := func(ex datasets.Example) []prompt.Peer {
		s, _ := datasets.Solve(ex.Question)
		return []prompt.Peer{{Agent: "a1", Answer: s.Distractors[1], Confidence: 0.8}, {Agent: "a2", Answer: s.Distractors[1], Confidence: 0.8},
			{Agent: "a3", Answer: s.Distractors[0], Confidence: 0.6}}
	}
	judge.peers = noneRight
	for _, ex := range exs[:50] {
		if a, _ := reply(t, m, judge.request(ex)); a != wrongOf(t, ex) && a != mustSolve(t, ex).Distractors[1] {
			t.Fatalf("judge with no right candidate answered %q, not a candidate", a)
		}
	}
}

func mustSolve(t testing.TB, ex datasets.Example) datasets.Solution {
	s, ok := datasets.Solve(ex.Question)
	if !ok {
		t.Fatalf("datasets.Solve failed on %q", ex.Question)
	}
	return s
}

// TestConfidence holds that stated confidence is informative: higher when
// right, and on average near the accuracy (sim-small is overconfident).
func TestConfidence(t *testing.T) {
	exs := examples(t, "arithmetic", 400, 0)
	m := sim.New(nil)
	for _, model := range []string{"sim-small", "sim-medium", "sim-large"} {
		c := call{model: model, instruction: refInstruction}
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
	exs := examples(t, "arithmetic", 20, 3)
	m := sim.New(nil)
	for _, ex := range exs {
		c := call{model: "sim-small", demos: []prompt.Demo{{Question: ex.Question, Answer: "12345"}}}
		if a, _ := reply(t, m, c.request(ex)); a != "12345" {
			t.Fatalf("demo of the same question: answered %q, want the demo's answer", a)
		}
	}
}

// TestProposals holds the generation tasks: the reply format, determinism,
// and quality rising with the proposer's skill and its grounding.
func TestProposals(t *testing.T) {
	m := sim.New(nil)
	exs := examples(t, "arithmetic", 8, 1)
	var demos []prompt.Demo
	for _, ex := range exs {
		demos = append(demos, prompt.Demo{Question: ex.Question, Answer: ex.Answer})
	}
	propose := func(model string, nDemos, i int) (string, float64) {
		p := prompt.Prompt{Task: prompt.TaskProposeInstruction, Role: "solver", Instruction: refInstruction,
			Demos: demos[:nDemos], Question: "Write a better instruction, attempt " + strconv.Itoa(i) + "."}
		resp, err := m.Generate(context.Background(), lm.Request{Model: model, Messages: prompt.Render(&p)})
		if err != nil {
			t.Fatal(err)
		}
		text, ok := prompt.ParseField(resp.Text, "Instruction")
		if !ok || len(text) < 20 {
			t.Fatalf("proposal reply %q has no instruction", resp.Text)
		}
		return text, sim.Quality(text)
	}
	advise := func(model string, differ bool, i int) (string, float64) {
		p := prompt.Prompt{Task: prompt.TaskAdvise, Role: "solver", Question: "q" + strconv.Itoa(i),
			Better: "Answer: 42 (right)", Worse: "Answer: 42 (right)"}
		if differ {
			p.Worse = "Answer: 41 (wrong)"
		}
		resp, err := m.Generate(context.Background(), lm.Request{Model: model, Messages: prompt.Render(&p)})
		if err != nil {
			t.Fatal(err)
		}
		text, ok := prompt.ParseField(resp.Text, "Rule")
		if !ok {
			t.Fatalf("advice reply %q has no rule", resp.Text)
		}
		return text, sim.Quality(text)
	}
	a, _ := propose("sim-medium", 2, 0)
	if b, _ := propose("sim-medium", 2, 0); a != b {
		t.Errorf("the same proposal request gave %q and %q", a, b)
	}
	const n = 150
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
	if !(small0+0.05 < large0 && large0+0.03 < large8) {
		t.Errorf("mean proposal quality: small %.3f, large %.3f, large with 8 demos %.3f; want rising", small0, large0, large8)
	}
	same := mean(func(i int) float64 { _, q := advise("sim-medium", false, i); return q })
	differ := mean(func(i int) float64 { _, q := advise("sim-medium", true, i); return q })
	if differ < same+0.05 {
		t.Errorf("mean rule quality: %.3f when better and worse differ, %.3f when they do not; want the first higher", differ, same)
	}
}
