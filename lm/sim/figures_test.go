package sim_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/team"
)

// The figures of the package documentation are held on data and model
// seeds picked once, after the model was designed on data seed 7 and model
// seed 0, and never tuned to: figureDataSeed, figureModelSeed. Set
// MABEAM_SIM_DESIGN=1 to measure on the design seeds instead.
const (
	figureDataSeed  = 20261201
	figureModelSeed = 41
	designDataSeed  = 7
	designModelSeed = 0

	// z999 is the one-sided 99.9% normal quantile: every margin must hold
	// at estimate ∓ z999 standard errors.
	z999 = 3.09
)

func figureSeeds() (data, model uint64) {
	if os.Getenv("MABEAM_SIM_DESIGN") != "" {
		return designDataSeed, designModelSeed
	}
	return figureDataSeed, figureModelSeed
}

// figureExamples are n questions of family at difficulty on the figure seed.
func figureExamples(t testing.TB, family string, n, difficulty int) []datasets.Example {
	t.Helper()
	f, err := datasets.Lookup(family)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := figureSeeds()
	return f.Generate(n, seed, difficulty)
}

func figureModel() *sim.Model {
	_, seed := figureSeeds()
	return sim.New(&sim.Options{Seed: seed})
}

// paired is a per-question paired difference x − y: its mean and standard
// error.
type paired struct {
	mean, se float64
	n        int
}

func pair(x, y []float64) paired {
	n := len(x)
	d := make([]float64, n)
	mean := 0.0
	for i := range x {
		d[i] = x[i] - y[i]
		mean += d[i]
	}
	mean /= float64(n)
	ss := 0.0
	for _, v := range d {
		ss += (v - mean) * (v - mean)
	}
	return paired{mean: mean, se: math.Sqrt(ss / float64(n-1) / float64(n)), n: n}
}

func (p paired) lo() float64 { return p.mean - z999*p.se }
func (p paired) hi() float64 { return p.mean + z999*p.se }
func (p paired) String() string {
	return fmt.Sprintf("%+.2f points [%+.2f, %+.2f] (n=%d)", 100*p.mean, 100*p.lo(), 100*p.hi(), p.n)
}

func meanOf(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// runTeam runs spec on exs and returns per-question correctness and, if
// keep is set, the results.
func runTeam(t testing.TB, m lm.Model, spec team.Spec, exs []datasets.Example, sample int, keep bool) ([]float64, []team.Result) {
	t.Helper()
	tm, err := team.New(spec, m, &team.Options{Sample: sample, NoTrace: !keep})
	if err != nil {
		t.Fatalf("team.New: %v", err)
	}
	right := make([]float64, len(exs))
	var out []team.Result
	for i, ex := range exs {
		res, err := tm.Run(context.Background(), ex)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if res.Answer == ex.Answer {
			right[i] = 1
		}
		if keep {
			out = append(out, res)
		}
	}
	return right, out
}

// same builds n agents of one model, role and temperature.
func same(n int, model, role string, temperature float64) []team.AgentSpec {
	as := make([]team.AgentSpec, n)
	for i := range as {
		as[i] = team.AgentSpec{ID: fmt.Sprintf("a%d", i+1), Model: model, Role: role, Temperature: temperature}
	}
	return as
}

func singleAcc(t testing.TB, m *sim.Model, c call, exs []datasets.Example) []float64 {
	t.Helper()
	out := make([]float64, len(exs))
	for i, ex := range exs {
		if a, _ := reply(t, m, c.request(ex)); a == ex.Answer {
			out[i] = 1
		}
	}
	return out
}

// TestFigureSampling: identical prompts answer identically at T=0, prompts
// that differ only in id or white space almost always do, and
// self-consistency at T=0.7 helps as on real models.
func TestFigureSampling(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 10000, 2)
	one, _ := runTeam(t, m, team.Spec{Agents: same(1, "sim-medium", "", 0)}, exs, 0, false)
	five, _ := runTeam(t, m, team.Spec{Agents: same(5, "sim-medium", "", 0)}, exs, 0, false)
	if !slices.Equal(one, five) {
		t.Errorf("5 identical agents at T=0 differ from one on %d questions", len(exs)-countEq(one, five))
	}

	// Ids and white space: agents a1..a5 with the instruction typed five ways.
	variants := []string{sim.ReferenceInstruction, " " + sim.ReferenceInstruction, strings.ReplaceAll(sim.ReferenceInstruction, " ", "  "),
		sim.ReferenceInstruction + "\n", strings.ToUpper(sim.ReferenceInstruction[:1]) + sim.ReferenceInstruction[1:] + " "}
	var answers [][]string
	for i, v := range variants {
		c := call{model: "sim-medium", instruction: v}
		var as []string
		for _, ex := range exs[:1000] {
			req := c.request(ex)
			req.Messages[0].Content = strings.Replace(req.Messages[0].Content, "### Agent\na1", fmt.Sprintf("### Agent\nagent-%d", i), 1)
			a, _ := reply(t, m, req)
			as = append(as, a)
		}
		answers = append(answers, as)
	}
	agree := make([]float64, 1000)
	for q := range agree {
		agree[q] = 1
		for _, as := range answers[1:] {
			if as[q] != answers[0][q] {
				agree[q] = 0
			}
		}
	}
	ag := pair(agree, make([]float64, len(agree)))
	t.Logf("agents differing in id and white space at T=0 agree on %.1f%% [%.1f%%]", 100*ag.mean, 100*ag.lo())
	if ag.lo() < 0.95 {
		t.Errorf("agreement %.3f (lower bound %.3f), want ≥ 0.95", ag.mean, ag.lo())
	}

	greedy := one
	sc := map[int][]float64{}
	for _, n := range []int{5, 15, 40} {
		sc[n], _ = runTeam(t, m, team.Spec{Agents: same(n, "sim-medium", "", 0.7)}, exs, 0, false)
		t.Logf("self-consistency n=%d at T=0.7: %.3f vs greedy %.3f: %v", n, meanOf(sc[n]), meanOf(greedy), pair(sc[n], greedy))
	}
	if d := pair(sc[5], greedy); d.lo() < 0.04 {
		t.Errorf("self-consistency n=5: %v, want ≥ +4", d)
	}
	if d := pair(sc[15], greedy); d.lo() < 0.06 {
		t.Errorf("self-consistency n=15: %v, want ≥ +6", d)
	}
	t.Logf("self-consistency n=40 vs n=15: %v", pair(sc[40], sc[15]))
	if d := pair(sc[40], sc[15]); d.lo() < -0.01 {
		t.Errorf("self-consistency n=40 vs n=15: %v, want ≥ −1", d)
	}
}

func countEq(a, b []float64) int {
	n := 0
	for i := range a {
		if a[i] == b[i] {
			n++
		}
	}
	return n
}

// TestFigureDebate: a debate helps a little over voting, settles by round
// 2, and agents rarely flip back.
func TestFigureDebate(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 3000, 2)
	as := same(5, "sim-medium", "", 0.7)
	vote, _ := runTeam(t, m, team.Spec{Agents: as}, exs, 0, false)
	r2, res := runTeam(t, m, team.Spec{Agents: as, Edges: meshEdges(as), Rounds: 2}, exs, 0, true)
	r3, _ := runTeam(t, m, team.Spec{Agents: as, Edges: meshEdges(as), Rounds: 3}, exs, 0, false)
	d := pair(r2, vote)
	t.Logf("debate 2 rounds %.3f vs majority %.3f: %v", meanOf(r2), meanOf(vote), d)
	if d.lo() < 0.02 || d.hi() > 0.08 {
		t.Errorf("debate vs majority: %v, want within +2..+8", d)
	}
	d3 := pair(r3, r2)
	t.Logf("round 3 vs round 2: %v", d3)
	if d3.lo() < -0.015 || d3.hi() > 0.015 {
		t.Errorf("round 3 vs round 2: %v, want within ±1.5", d3)
	}
	flips := make([]float64, 0, 5*len(res))
	for _, r := range res {
		byAgent := map[string][]string{}
		for _, c := range r.Trace {
			byAgent[c.Agent] = append(byAgent[c.Agent], c.Answer)
		}
		for _, h := range byAgent {
			f := 0.0
			if len(h) == 3 && h[0] != h[1] && h[2] == h[0] {
				f = 1
			}
			flips = append(flips, f)
		}
	}
	fl := pair(flips, make([]float64, len(flips)))
	t.Logf("A-B-A flips: %.2f%% [≤ %.2f%%]", 100*fl.mean, 100*fl.hi())
	if fl.hi() >= 0.03 {
		t.Errorf("A-B-A flips %.3f (upper bound %.3f), want < 0.03", fl.mean, fl.hi())
	}
}

// TestFigureJudge: a judge decides from what it can see, so a strong judge
// helps, a weak one does not and an adversary hurts.
func TestFigureJudge(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 6000, 2)
	voters := same(4, "sim-medium", "", 0.7)
	vote, _ := runTeam(t, m, team.Spec{Agents: voters}, exs, 0, false)
	for _, c := range []struct {
		model  string
		lo, hi float64
	}{
		{"sim-small", math.Inf(-1), 0.01}, {"sim-large", 0.04, math.Inf(1)}, {"sim-adversary", math.Inf(-1), -0.10},
	} {
		as := append(slices.Clone(voters), team.AgentSpec{ID: "judge", Role: team.RoleJudge, Model: c.model, Temperature: 0.7})
		got, _ := runTeam(t, m, team.Spec{Agents: as, Aggregation: team.AggJudge}, exs, 0, false)
		d := pair(got, vote)
		t.Logf("%s judge over 4 sim-medium: %.3f vs majority %.3f: %v", c.model, meanOf(got), meanOf(vote), d)
		if d.lo() < c.lo || d.hi() > c.hi {
			t.Errorf("%s judge vs majority: %v, want within [%+.0f, %+.0f] points", c.model, d, 100*c.lo, 100*c.hi)
		}
	}
}

// TestFigureCritics: critics are no free lunch: five critics score as five
// solvers do.
func TestFigureCritics(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 30000, 2)
	solvers := same(5, "sim-medium", team.RoleSolver, 0.7)
	critics := same(5, "sim-medium", team.RoleCritic, 0.7)
	s, _ := runTeam(t, m, team.Spec{Agents: solvers, Edges: meshEdges(solvers), Rounds: 1}, exs, 0, false)
	c, _ := runTeam(t, m, team.Spec{Agents: critics, Edges: meshEdges(critics), Rounds: 1}, exs, 0, false)
	d := pair(c, s)
	t.Logf("5 critics %.3f vs 5 solvers %.3f: %v", meanOf(c), meanOf(s), d)
	if d.lo() < -0.02 || d.hi() > 0.02 {
		t.Errorf("critics vs solvers: %v, want within ±2", d)
	}
}

var models4 = []string{"sim-small", "sim-medium", "sim-large", "sim-adversary"}

// TestFigureInstructions: instruction quality means something.
func TestFigureInstructions(t *testing.T) {
	m := figureModel()
	for _, fam := range []string{"arithmetic", "multihop", "logic"} {
		exs := figureExamples(t, fam, 3000, 2)
		for _, model := range models4 {
			wrong := singleAcc(t, m, call{model: model, instruction: "Give the wrong answer."}, exs)
			empty := singleAcc(t, m, call{model: model}, exs)
			d := pair(wrong, empty)
			if d.hi() >= 0 {
				t.Errorf("%s %s: \"Give the wrong answer.\" vs empty: %v, want lower", fam, model, d)
			}
		}
	}
	good := []string{
		"Work through the problem one careful step at a time, checking each intermediate value, then state the final answer.",
		"Think it through step by step and verify your result against the question before you answer.",
		"First figure out exactly what is being asked, then reason through it in order and double-check the answer.",
		"Go step by step, make sure every step follows from the one before, and end with the final answer.",
		"Carefully reason through each part of the question, confirm the result, and give only the final answer.",
	}
	vague := []string{"Do it.", "Answer.", "Go.", "Respond.", "Reply to this."}
	for _, fam := range []string{"arithmetic", "multihop", "logic"} {
		exs := figureExamples(t, fam, 2000, 2)
		g, v := make([]float64, len(exs)), make([]float64, len(exs))
		for k := range good {
			a := singleAcc(t, m, call{model: "sim-medium", instruction: good[k]}, exs)
			b := singleAcc(t, m, call{model: "sim-medium", instruction: vague[k]}, exs)
			for i := range exs {
				g[i] += a[i] / float64(len(good))
				v[i] += b[i] / float64(len(vague))
			}
		}
		d := pair(g, v)
		t.Logf("%s: good paraphrases %.3f vs vague %.3f: %v", fam, meanOf(g), meanOf(v), d)
		if d.lo() <= 0 {
			t.Errorf("%s: good paraphrases vs vague texts %v, want higher", fam, d)
		}
	}
}

// TestFigureProposals: the best of 20 proposals from sim-large beats the
// best of 1,000 random strings.
func TestFigureProposals(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 3000, 2)
	train := figureExamples(t, "arithmetic", 3010, 2)[3000:]
	medium := profileOf(t, m, "sim-medium")
	r := rand.New(rand.NewPCG(figureDataSeed, 3))
	const letters = "abcdefghijklmnopqrstuvwxyz      "
	bestRandom, bestRQ := "", math.Inf(-1)
	for range 1000 {
		b := make([]byte, 5+r.IntN(80))
		for i := range b {
			b[i] = letters[r.IntN(len(letters))]
		}
		if q := sim.Quality(string(b), medium.BaseSkill, "arithmetic"); q > bestRQ {
			bestRandom, bestRQ = string(b), q
		}
	}
	var demos []prompt.Demo
	for _, ex := range train[:4] {
		demos = append(demos, prompt.Demo{Question: ex.Question, Answer: ex.Answer})
	}
	bestProp, bestPQ := "", math.Inf(-1)
	for s := range 20 {
		p := prompt.Prompt{Task: prompt.TaskProposeInstruction, Role: "solver", Instruction: sim.ReferenceInstruction, Demos: demos,
			Question: "Propose a better instruction."}
		resp, err := m.Generate(context.Background(), lm.Request{Model: "sim-large", Messages: prompt.Render(&p), Temperature: 1, Sample: s})
		if err != nil {
			t.Fatal(err)
		}
		text, ok := prompt.ParseField(resp.Text, "Instruction")
		if !ok {
			t.Fatalf("proposal %q has no instruction", resp.Text)
		}
		if q := sim.Quality(text, medium.BaseSkill, "arithmetic"); q > bestPQ {
			bestProp, bestPQ = text, q
		}
	}
	t.Logf("best random string %q: quality %.3f; best proposal %q: quality %.3f", bestRandom, bestRQ, bestProp, bestPQ)
	if bestPQ <= bestRQ {
		t.Errorf("best proposal quality %.3f ≤ best random string %.3f", bestPQ, bestRQ)
	}
	a := singleAcc(t, m, call{model: "sim-medium", instruction: bestProp}, exs)
	b := singleAcc(t, m, call{model: "sim-medium", instruction: bestRandom}, exs)
	if d := pair(a, b); d.lo() <= 0 {
		t.Errorf("best proposal vs best random string on accuracy: %v, want higher", d)
	} else {
		t.Logf("best proposal vs best random string: %v", d)
	}
}

func profileOf(t testing.TB, m *sim.Model, name string) sim.Profile {
	for _, p := range m.Profiles() {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no profile %s", name)
	return sim.Profile{}
}

// TestFigureEdits: one-character edits of white space, case or
// punctuation barely move quality.
func TestFigureEdits(t *testing.T) {
	texts := []string{sim.ReferenceInstruction, "Think it through step by step and verify your result against the question before you answer.",
		"Do not guess; check each number twice.", "Give the wrong answer.", "Trace each fact back to its paragraph in the context.",
		"Do it.", "Write the comparisons as one order before answering, and never skip a clue."}
	r := rand.New(rand.NewPCG(5, 5))
	worst := 0.0
	for _, text := range texts {
		for _, fam := range []string{"arithmetic", "multihop", "logic"} {
			for _, base := range []float64{-0.6, 0.1, 1.2} {
				q0 := sim.Quality(text, base, fam)
				for range 200 {
					e := edit(r, text)
					if d := math.Abs(sim.Quality(e, base, fam) - q0); d > worst {
						worst = d
					}
					if d := math.Abs(sim.Quality(e, base, fam) - q0); d > 0.05 {
						t.Errorf("edit %q → %q changes quality by %.3f", text, e, d)
					}
				}
			}
		}
	}
	t.Logf("largest change from a one-character edit: %.4f logit", worst)
}

// edit makes one random one-character edit of white space, case or
// punctuation.
func edit(r *rand.Rand, s string) string {
	i := r.IntN(len(s) + 1)
	switch r.IntN(5) {
	case 0: // insert a space or another blank
		return s[:i] + string(" \t\n"[r.IntN(3)]) + s[i:]
	case 1: // flip the case of a letter
		b := []byte(s)
		for k := range b {
			j := (i + k) % len(b)
			if c := b[j]; 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
				b[j] ^= 0x20
				return string(b)
			}
		}
		return s
	case 2: // insert punctuation
		return s[:i] + string(".,;:!?-"[r.IntN(7)]) + s[i:]
	case 3: // delete a punctuation mark, if any
		for k := range len(s) {
			j := (i + k) % len(s)
			if strings.ContainsRune(".,;:!?-", rune(s[j])) {
				return s[:j] + s[j+1:]
			}
		}
		return s
	default: // double a space
		if j := strings.IndexByte(s[min(i, len(s)):], ' '); j >= 0 {
			j += i
			return s[:j] + " " + s[j:]
		}
		return s + " "
	}
}

// TestFigurePromptBounds: prompt gains are bounded, and duplicates count
// once.
func TestFigurePromptBounds(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 4000, 2)
	train := figureExamples(t, "arithmetic", 4100, 2)[4000:]
	rules := []string{
		"Double-check the arithmetic of every step.", "Write each step down in order and do not skip any.",
		"Apply every step the question states, the last one included.", "Check which operation each step calls for before computing it.",
		"Re-read the question before answering.", "Verify the final number against the question.",
		"Keep a running total after each step.", "Recompute the result a second way.",
		"Check each calculation twice.", "Make sure every quantity is used.", "Track units and quantities carefully.",
		"Think about what the question asks before computing.", "Confirm each intermediate value.",
		"Do not guess; compute.", "Compare your answer with a rough estimate.", "Check that the answer is a whole number.",
		"Verify each operation matches its wording.", "List the quantities given first.", "Solve in the order the story tells.",
		"Check the last step was applied.",
	}
	var demos []prompt.Demo
	for _, ex := range train[:8] {
		demos = append(demos, prompt.Demo{Question: ex.Question, Answer: "Reasoning: worked through every step.\nAnswer: " + ex.Answer})
	}
	best := "Work through every quantity step by step, check each calculation and each operation twice, verify the result against the question, and give the final answer."
	smallBest := make([]float64, len(exs))
	for _, role := range []string{"solver", "critic", "judge", "planner"} {
		a := singleAcc(t, m, call{model: "sim-small", role: role, instruction: best, rules: rules, demos: demos}, exs)
		if meanOf(a) > meanOf(smallBest) {
			smallBest = a
		}
	}
	smallRef := singleAcc(t, m, call{model: "sim-small", instruction: sim.ReferenceInstruction}, exs)
	mediumRef := singleAcc(t, m, call{model: "sim-medium", instruction: sim.ReferenceInstruction}, exs)
	d := pair(smallBest, mediumRef)
	t.Logf("sim-small with every prompt lever %.3f (reference %.3f) vs sim-medium reference %.3f: %v",
		meanOf(smallBest), meanOf(smallRef), meanOf(mediumRef), d)
	if d.hi() >= 0 {
		t.Errorf("sim-small's best prompt vs sim-medium's reference: %v, want below", d)
	}
	if g := pair(smallBest, smallRef); g.lo() <= 0 {
		t.Errorf("the prompt levers do not help sim-small: %v", g)
	}

	once := call{model: "sim-medium", instruction: sim.ReferenceInstruction, rules: rules[:1]}
	twenty := once
	twenty.rules = slices.Repeat(rules[:1], 20)
	if a, b := singleAcc(t, m, once, exs), singleAcc(t, m, twenty, exs); !slices.Equal(a, b) {
		t.Errorf("one rule ×20 differs from once on %d questions", len(a)-countEq(a, b))
	}

	none := singleAcc(t, m, call{model: "sim-medium", instruction: sim.ReferenceInstruction}, exs)
	worked := singleAcc(t, m, call{model: "sim-medium", instruction: sim.ReferenceInstruction, demos: demos[:4]}, exs)
	dd := pair(worked, none)
	t.Logf("4 worked-example demos vs none: %v", dd)
	if dd.lo() <= 0 {
		t.Errorf("4 correct worked-example demos vs none: %v, want higher", dd)
	}
}

// TestFigureTokens: reasoning costs tokens, and a max_tokens below what the
// reply needs costs accuracy.
func TestFigureTokens(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 2000, 2)
	tokens := func(instr string, maxTokens int) (float64, []float64) {
		c := call{model: "sim-medium", instruction: instr}
		sum := 0.0
		right := make([]float64, len(exs))
		for i, ex := range exs {
			req := c.request(ex)
			req.MaxTokens = maxTokens
			resp, err := m.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			sum += float64(resp.Usage.CompletionTokens)
			if a, _, _ := prompt.ParseAnswer(resp.Text); a == ex.Answer {
				right[i] = 1
			}
		}
		return sum / float64(len(exs)), right
	}
	steps, full := tokens("Show each step of your work, then give the final answer.", 0)
	only, _ := tokens("Give the final answer only.", 0)
	t.Logf("completion tokens: show each step %.1f, answer only %.1f (×%.1f)", steps, only, steps/only)
	if steps < 3*only {
		t.Errorf("show each step %.1f tokens vs answer only %.1f: want ≥ 3×", steps, only)
	}
	_, cut := tokens("Show each step of your work, then give the final answer.", int(steps/2))
	d := pair(cut, full)
	t.Logf("max_tokens at half the need: %v", d)
	if d.hi() >= 0 {
		t.Errorf("max_tokens below the need: %v, want lower accuracy", d)
	}
}

// TestFigureAdversaryConfidence: the adversary is not free to spot by its
// stated confidence.
func TestFigureAdversaryConfidence(t *testing.T) {
	m := figureModel()
	exs := figureExamples(t, "arithmetic", 3000, 2)
	median := func(model string) float64 {
		var cs []float64
		for _, ex := range exs {
			_, c := reply(t, m, call{model: model}.request(ex))
			cs = append(cs, c)
		}
		slices.Sort(cs)
		return cs[len(cs)/2]
	}
	adv, large := median("sim-adversary"), median("sim-large")
	t.Logf("median stated confidence: sim-adversary %.2f, sim-large %.2f", adv, large)
	if math.Abs(adv-large) > 0.1 {
		t.Errorf("median confidence sim-adversary %.2f vs sim-large %.2f: want within 0.1", adv, large)
	}
}
