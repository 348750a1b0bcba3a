package sim_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

// modeRules name one error mode of each family (sim.RuleModes).
var modeRules = map[string]string{
	"arithmetic": "Apply every step the question states, the last one included.",
	"multihop":   "Follow the chain hop by hop and check each link in the context.",
	"logic":      "Count positions carefully from the right end of the order.",
}

// variant is one prompt set-up of the Explain and calibration tests.
type variant struct {
	name      string
	c         func(family string, demos []prompt.Demo) call
	maxTokens int
	samples   int // calls per question (at temperature > 0)
}

var variants = []variant{
	{"reference T=0.7", func(string, []prompt.Demo) call {
		return call{instruction: sim.ReferenceInstruction, temperature: 0.7}
	}, 0, 3},
	{"vague T=0.7", func(string, []prompt.Demo) call { return call{instruction: "Answer.", temperature: 0.7} }, 0, 3},
	{"mode rule T=0.3", func(f string, _ []prompt.Demo) call {
		return call{instruction: sim.ReferenceInstruction, rules: []string{modeRules[f]}, temperature: 0.3}
	}, 0, 3},
	{"2 demos T=0", func(_ string, ds []prompt.Demo) call {
		return call{instruction: sim.ReferenceInstruction, demos: ds}
	}, 0, 1},
	{"max_tokens 100 T=1", func(string, []prompt.Demo) call {
		return call{instruction: sim.ReferenceInstruction, temperature: 1}
	}, 100, 2},
	{"reference T=1.5", func(string, []prompt.Demo) call {
		return call{instruction: sim.ReferenceInstruction, temperature: 1.5}
	}, 0, 2},
}

// probe is a sim-medium whose skills and hardness slopes differ from the
// built-in one's by ±0.5, and whose confidence bias, verbosity and
// latencies differ too.
func probe() sim.Profile {
	p := profileByName(sim.DefaultProfiles(), "sim-medium")
	p.Skill = map[string]float64{"arithmetic": 0.78, "multihop": -0.2, "logic": 0.6}
	p.Hardness = map[string]float64{"arithmetic": 0.4, "multihop": 1.4, "logic": 0.4}
	p.ConfidenceBias = 0.5
	p.Verbosity = 1.4
	p.Latency, p.CompletionTokenLatency = 600*time.Millisecond, 12*time.Millisecond
	return p
}

func profileByName(ps []sim.Profile, name string) sim.Profile {
	for _, p := range ps {
		if p.Name == name {
			return p
		}
	}
	panic("no profile " + name)
}

// tally sums, by group, replies against their explanations: n calls in
// clusters (the calls of one question), with the cluster sums of
// (outcome − expectation) squared for a cluster-robust standard error.
type tally struct {
	n, right, p, conf, econf, tokens, etokens float64
	vRight, vConf, vTokens                    float64
}

func (t *tally) add(right, p, conf, econf, tokens, etokens []float64) {
	var dr, dc, dt float64
	for i := range right {
		t.n++
		t.right += right[i]
		t.p += p[i]
		t.conf += conf[i]
		t.econf += econf[i]
		t.tokens += tokens[i]
		t.etokens += etokens[i]
		dr += right[i] - p[i]
		dc += conf[i] - econf[i]
		dt += tokens[i] - etokens[i]
	}
	t.vRight += dr * dr
	t.vConf += dc * dc
	t.vTokens += dt * dt
}

// gap returns mean(outcome) − mean(expectation) and its standard error.
func gap(sum, esum, v, n float64) (float64, float64) { return (sum - esum) / n, math.Sqrt(v) / n }

// TestExplainAgrees: over many questions and samples, the share of right
// replies is the mean P Explain gives, the mean stated confidence its
// Confidence and the mean completion tokens its CompletionTokens, by prompt
// set-up and by hardness, for a profile whose every fitted field differs
// from the built-in one and for a built-in one.
func TestExplainAgrees(t *testing.T) {
	m := sim.New(&sim.Options{Seed: 5, Profiles: []sim.Profile{probe()}})
	byGroup := map[string]*tally{}
	group := func(k string) *tally {
		if byGroup[k] == nil {
			byGroup[k] = &tally{}
		}
		return byGroup[k]
	}
	const perFamily = 1500
	for _, model := range []string{"sim-medium", "sim-large"} {
		for _, fam := range []string{"arithmetic", "multihop", "logic"} {
			f, err := datasets.Lookup(fam)
			if err != nil {
				t.Fatal(err)
			}
			exs := f.Generate(perFamily, 11, 0)
			train := f.Generate(perFamily+2, 11, 2)[perFamily:]
			demos := []prompt.Demo{{Question: train[0].Question, Answer: train[0].Answer}, {Question: train[1].Question, Answer: train[1].Answer}}
			for i, ex := range exs {
				v := variants[i%len(variants)]
				c := v.c(fam, demos)
				c.model = model
				var right, p, conf, econf, tokens, etokens []float64
				var hard float64
				for s := range v.samples {
					c.sample = s
					req := c.request(ex)
					req.MaxTokens = v.maxTokens
					e, ok := m.Explain(req)
					if !ok {
						t.Fatalf("Explain refused %s on %s", v.name, ex.ID)
					}
					hard = e.Hardness
					resp, err := m.Generate(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					a, cf, _ := prompt.ParseAnswer(resp.Text)
					right = append(right, b2f(a == ex.Answer))
					p = append(p, e.P)
					conf = append(conf, cf)
					econf = append(econf, e.Confidence)
					tokens = append(tokens, float64(resp.Usage.CompletionTokens))
					etokens = append(etokens, e.CompletionTokens)
					if d := e.Logit - (e.Skill - e.Slope*(e.Hardness-sim.HardnessCentre) + e.Offset); math.Abs(d) > 1e-12 || e.Revised || e.Copied {
						t.Fatalf("explanation %+v: logit off its decomposition by %g, or revised or copied", e, d)
					}
				}
				group(model+" / "+v.name).add(right, p, conf, econf, tokens, etokens)
				hk := "easy (hardness < 2)"
				switch {
				case hard == 2:
					hk = "medium (hardness 2)"
				case hard > 2:
					hk = "hard (hardness > 2)"
				}
				group(model+" / "+hk).add(right, p, conf, econf, tokens, etokens)
				group(model+" / all").add(right, p, conf, econf, tokens, etokens)
			}
		}
	}
	for k, g := range byGroup {
		dr, ser := gap(g.right, g.p, g.vRight, g.n)
		dc, sec := gap(g.conf, g.econf, g.vConf, g.n)
		dt, set := gap(g.tokens, g.etokens, g.vTokens, g.n)
		t.Logf("%-38s n=%5.0f  right %.3f vs P %.3f (%+.3f ± %.3f)  confidence %.3f vs %.3f (%+.3f ± %.3f)  tokens %.1f vs %.1f",
			k, g.n, g.right/g.n, g.p/g.n, dr, ser, g.conf/g.n, g.econf/g.n, dc, sec, g.tokens/g.n, g.etokens/g.n)
		// 4 standard errors: 20 groups, each held to about 1 in 16,000.
		if math.Abs(dr) > 4*ser+1e-9 {
			t.Errorf("%s: share right %.4f, mean P %.4f: %+.4f is beyond 4 standard errors (%.4f)", k, g.right/g.n, g.p/g.n, dr, ser)
		}
		if math.Abs(dc) > 4*sec+0.002 { // 0.002: the stated confidence is rounded to 0.01
			t.Errorf("%s: mean stated confidence %.4f, expected %.4f", k, g.conf/g.n, g.econf/g.n)
		}
		if math.Abs(dt) > 4*set+0.01 {
			t.Errorf("%s: mean completion tokens %.2f, expected %.2f", k, g.tokens/g.n, g.etokens/g.n)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestExplainRefuses: Explain answers for answer calls only, and marks
// the calls whose reply is not its own attempt.
func TestExplainRefuses(t *testing.T) {
	m := sim.New(nil)
	ex := examples(t, "arithmetic", 1, 2)[0]
	ok := func(req lm.Request) bool { _, ok := m.Explain(req); return ok }
	good := call{model: "sim-medium", instruction: sim.ReferenceInstruction}.request(ex)
	if !ok(good) {
		t.Fatal("Explain refused a plain answer call")
	}
	bad := map[string]lm.Request{
		"unknown model":    call{model: "sim-huge"}.request(ex),
		"no messages":      {Model: "sim-medium"},
		"temperature 3":    call{model: "sim-medium", temperature: 3}.request(ex),
		"unsolvable":       call{model: "sim-medium"}.request(datasets.Example{Question: "What is the airspeed of an unladen swallow?"}),
		"propose":          {Model: "sim-medium", Messages: prompt.Render(&prompt.Prompt{Task: prompt.TaskProposeInstruction, Question: ex.Question})},
		"advise":           {Model: "sim-medium", Messages: prompt.Render(&prompt.Prompt{Task: prompt.TaskAdvise, Question: ex.Question, Gold: ex.Answer})},
		"plain text, no Q": {Model: "sim-medium", Messages: []lm.Message{{Role: lm.RoleUser, Content: "hello"}}},
	}
	for name, req := range bad {
		if ok(req) {
			t.Errorf("Explain accepted a request with %s", name)
		}
	}
	peers := call{model: "sim-medium", role: "judge", peers: func(ex datasets.Example) []prompt.Peer {
		return []prompt.Peer{{Agent: "a2", Answer: ex.Answer, Confidence: 0.8}}
	}}.request(ex)
	if e, ok := m.Explain(peers); !ok || !e.Revised {
		t.Errorf("a judge's call with peers: %+v, %v; want Revised", e, ok)
	}
	withCopy := call{model: "sim-medium", demos: []prompt.Demo{{Question: ex.Question, Answer: ex.Answer}}}.request(ex)
	if e, ok := m.Explain(withCopy); !ok || !e.Copied || e.P != 1 {
		t.Errorf("a demo of the question asked: %+v, %v; want Copied with P 1", e, ok)
	}
	cut := good
	cut.MaxTokens = 5
	if e, ok := m.Explain(cut); !ok || !e.Truncated || e.P != 0 || e.CompletionTokens != 5 {
		t.Errorf("max_tokens 5: %+v, %v; want Truncated, P 0, 5 tokens", e, ok)
	}
	// A bare user message is answered as by an agent with no instruction.
	if !ok(lm.Request{Model: "sim-large", Messages: []lm.Message{{Role: lm.RoleUser, Content: ex.Question}}}) {
		t.Error("Explain refused a bare question")
	}
}
