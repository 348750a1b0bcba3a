package sim_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

var families = []string{"arithmetic", "multihop", "logic"}

// studyCalls returns, per family, n questions (difficulties 1, 2, 3 in
// turn) as calls of model, each question asked once under one of the
// variants in turn, so that the calls are independent.
func studyCalls(t testing.TB, model string, n int, seed uint64) (calls []call, exs []datasets.Example, maxTokens []int) {
	t.Helper()
	for _, fam := range families {
		f, err := datasets.Lookup(fam)
		if err != nil {
			t.Fatal(err)
		}
		train := f.Generate(2, seed+1, 2)
		demos := []prompt.Demo{{Question: train[0].Question, Answer: train[0].Answer}, {Question: train[1].Question, Answer: train[1].Answer}}
		for i, ex := range f.Generate(n, seed, 0) {
			v := variants[i%len(variants)]
			c := v.c(fam, demos)
			c.model = model
			calls, exs, maxTokens = append(calls, c), append(exs, ex), append(maxTokens, v.maxTokens)
		}
	}
	return calls, exs, maxTokens
}

// simRecords are the records of a study on m (the hidden model) of the
// calls studyCalls makes.
func simRecords(t testing.TB, m *sim.Model, model string, n int, seed uint64) []sim.Record {
	t.Helper()
	calls, exs, maxTokens := studyCalls(t, model, n, seed)
	rs := make([]sim.Record, len(calls))
	for i, c := range calls {
		req := c.request(exs[i])
		req.MaxTokens = maxTokens[i]
		resp, err := m.Generate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		a, conf, ok := prompt.ParseAnswer(resp.Text)
		rs[i] = sim.Record{Model: model, Messages: req.Messages, Temperature: req.Temperature, MaxTokens: req.MaxTokens,
			Family: exs[i].Family, Difficulty: exs[i].Difficulty, Score: b2f(a == exs[i].Answer), Confidence: conf, Parsed: ok,
			PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens, Latency: resp.Latency}
	}
	return rs
}

// heldOutTolerance is how far the fitted expected accuracy of a held-out
// family may be from the real one: 3 binomial standard errors of the
// held-out accuracy, plus 0.01 for the error of the fit itself.
func heldOutTolerance(fc sim.FamilyCheck) float64 {
	return 3*math.Sqrt(fc.Accuracy*(1-fc.Accuracy)/float64(fc.N)) + 0.01
}

// TestCalibrateRecovers: records of a hidden sim-medium whose skills and
// slopes differ from the built-in ones by ±0.5 (and whose confidence bias,
// verbosity, latency and prices differ) are fitted from the built-in
// profiles; the fit recovers every parameter within 3 of its standard
// errors (about 0.06 logit for a skill on 2,100 records), and its held-out
// expected accuracy per family is within 3 standard errors of the real
// one and closer than the base profile's.
func TestCalibrateRecovers(t *testing.T) {
	hidden := probe()
	m := sim.New(&sim.Options{Seed: 17, Profiles: []sim.Profile{hidden}})
	records := simRecords(t, m, "sim-medium", 3000, 101)
	fit, held := sim.SplitHeldOut(records, 0.3, 1)
	start := time.Now()
	c, err := sim.Calibrate(fit, nil, &sim.CalibrateOptions{Source: "a hidden sim-medium", Prices: map[string]lm.Price{"sim-medium": {Prompt: 0.15, Completion: 0.6}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fitted %d records in %v (skipped %+v)", c.Used, time.Since(start).Round(time.Millisecond), c.Skipped)
	if c.Used != len(fit) || len(c.Profiles) != 1 {
		t.Fatalf("used %d of %d records, fitted %d profiles", c.Used, len(fit), len(c.Profiles))
	}
	got := c.Profiles[0]
	for _, f := range c.Families {
		want, wantSlope := hidden.Skill[f.Family], hidden.Hardness[f.Family]
		t.Logf("%-10s n=%d  skill %.3f (hidden %.2f, %+.3f, SE %.3f)  slope %.3f (hidden %.2f, %+.3f, SE %.3f)  accuracy %.3f: base %.3f, fitted %.3f",
			f.Family, f.N, f.Skill, want, f.Skill-want, f.SkillSE, f.Slope, wantSlope, f.Slope-wantSlope, f.SlopeSE, f.Accuracy, f.Base, f.Fitted)
		if !(f.SkillSE < 0.1 && f.SlopeSE < 0.15) {
			t.Errorf("%s: standard errors %.3f, %.3f: too wide to tell the hidden values from the base ones", f.Family, f.SkillSE, f.SlopeSE)
		}
		if math.Abs(f.Skill-want) > 3*f.SkillSE || math.Abs(f.Slope-wantSlope) > 3*f.SlopeSE {
			t.Errorf("%s: fitted skill %.3f, slope %.3f; hidden %.2f, %.2f (3 SE: %.3f, %.3f)", f.Family, f.Skill, f.Slope, want, wantSlope, 3*f.SkillSE, 3*f.SlopeSE)
		}
		if got.Skill[f.Family] != f.Skill || got.Hardness[f.Family] != f.Slope {
			t.Errorf("%s: profile has skill %v, slope %v; the fit says %v, %v", f.Family, got.Skill[f.Family], got.Hardness[f.Family], f.Skill, f.Slope)
		}
	}
	mf := c.Models[0]
	t.Logf("confidence bias %.3f (hidden %.2f), verbosity %.3f (hidden %.2f), latency %v + %v/token (hidden %v + %v); mean confidence %.3f vs %.3f, tokens %.1f vs %.1f",
		got.ConfidenceBias, hidden.ConfidenceBias, got.Verbosity, hidden.Verbosity, got.Latency, got.CompletionTokenLatency, hidden.Latency, hidden.CompletionTokenLatency,
		mf.Confidence, mf.FittedConfidence, mf.CompletionTokens, mf.FittedCompletionTokens)
	// The mean stated confidence of 2,100 records has a standard error of
	// about 0.005, which moves the bias by about 0.03.
	if math.Abs(got.ConfidenceBias-hidden.ConfidenceBias) > 0.1 {
		t.Errorf("confidence bias %.3f, hidden %.2f", got.ConfidenceBias, hidden.ConfidenceBias)
	}
	if math.Abs(got.Verbosity-hidden.Verbosity) > 0.03 {
		t.Errorf("verbosity %.3f, hidden %.2f", got.Verbosity, hidden.Verbosity)
	}
	if d := got.Latency - hidden.Latency; d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("latency %v, hidden %v", got.Latency, hidden.Latency)
	}
	if d := got.CompletionTokenLatency - hidden.CompletionTokenLatency; d < -10*time.Microsecond || d > 10*time.Microsecond {
		t.Errorf("completion token latency %v, hidden %v", got.CompletionTokenLatency, hidden.CompletionTokenLatency)
	}
	if want := fmt.Sprintf("fitted to %d calls from a hidden sim-medium", len(fit)); got.PromptPrice != 0.15 || got.CompletionPrice != 0.6 || got.Description != want {
		t.Errorf("prices %v, %v, description %q", got.PromptPrice, got.CompletionPrice, got.Description)
	}

	baseOff := 0
	for _, fc := range c.Check(held) {
		tol := heldOutTolerance(fc)
		t.Logf("held out %-10s n=%d  accuracy %.3f [%.3f, %.3f]  fitted %.3f (%+.3f, tolerance %.3f)  base %.3f (%+.3f)",
			fc.Family, fc.N, fc.Accuracy, fc.Lo, fc.Hi, fc.Fitted, fc.Diff, tol, fc.Base, fc.Base-fc.Accuracy)
		if math.Abs(fc.Diff) > tol || math.Abs(fc.Diff) >= math.Abs(fc.Base-fc.Accuracy) {
			t.Errorf("held out %s: fitted expects %.3f, base %.3f, real %.3f", fc.Family, fc.Fitted, fc.Base, fc.Accuracy)
		}
		if math.Abs(fc.Base-fc.Accuracy) > tol {
			baseOff++
		}
	}
	// Moving a skill and a slope by 0.5 in opposite directions can leave
	// a family's mean accuracy nearly unchanged; not all three.
	if baseOff == 0 {
		t.Error("the base profile is within tolerance on every held-out family: the check shows nothing")
	}

	// The fitted profiles, through a profiles file, serve what the fit
	// expects.
	var buf bytes.Buffer
	if err := sim.WriteProfiles(&buf, c.Profiles, "test"); err != nil {
		t.Fatal(err)
	}
	ps, err := sim.ReadProfiles(&buf, "fitted.yaml")
	if err != nil {
		t.Fatal(err)
	}
	served := sim.New(&sim.Options{Profiles: ps})
	sum, n := 0.0, 0
	for _, r := range fit {
		e, ok := served.Explain(r.Request())
		if ok && r.Family == "logic" {
			sum += e.P
			n++
		}
	}
	for _, f := range c.Families {
		if f.Family == "logic" && math.Abs(sum/float64(n)-f.Fitted) > 1e-12 {
			t.Errorf("served from the file, logic expects %.4f; the calibration %.4f", sum/float64(n), f.Fitted)
		}
	}
}

// table is a mis-specified real model: its accuracy is a table by family
// and difficulty, blind to the prompt and not logistic in hardness.
var table = map[string][3]float64{
	"arithmetic": {0.93, 0.81, 0.52},
	"multihop":   {0.90, 0.62, 0.41},
	"logic":      {0.88, 0.70, 0.33},
}

// TestCalibrateMisspecified: records of a model the mechanism cannot
// represent (accuracy from table, blind to the prompt; confidence, tokens
// and latency from other rules; no max_tokens, whose cuts such a model
// would not make) are fitted from scratch (a model name the base lacks);
// the held-out expected accuracy per family is within 3 standard errors
// of the real one, where sim-medium's is not.
func TestCalibrateMisspecified(t *testing.T) {
	calls, exs, _ := studyCalls(t, "gpt-table", 2400, 202)
	r := rand.New(rand.NewPCG(3, 4))
	records := make([]sim.Record, len(calls))
	for i, c := range calls {
		req := c.request(exs[i])
		d := exs[i].Difficulty
		right := r.Float64() < table[exs[i].Family][d-1]
		tokens := 40 + 25*d + r.IntN(20)
		records[i] = sim.Record{Model: "gpt-table", Messages: req.Messages, Temperature: req.Temperature,
			Family: exs[i].Family, Difficulty: d, Score: b2f(right), Confidence: 0.55 + 0.3*b2f(right) + 0.1*r.Float64(), Parsed: true,
			CompletionTokens: tokens, Latency: 300*time.Millisecond + time.Duration(tokens)*5*time.Millisecond + time.Duration(r.IntN(50))*time.Millisecond}
	}
	fit, held := sim.SplitHeldOut(records, 0.3, 2)
	c, err := sim.Calibrate(fit, nil, &sim.CalibrateOptions{Source: "a table"})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Profiles[0]
	mf := c.Models[0]
	t.Logf("gpt-table: skills %v, slopes %v, bias %.3f, verbosity %.3f, latency %v + %v/token; confidence %.3f vs %.3f, tokens %.1f vs %.1f, latency %v vs %v",
		p.Skill, p.Hardness, p.ConfidenceBias, p.Verbosity, p.Latency, p.CompletionTokenLatency,
		mf.Confidence, mf.FittedConfidence, mf.CompletionTokens, mf.FittedCompletionTokens, mf.Latency, mf.FittedLatency)
	if math.Abs(mf.Confidence-mf.FittedConfidence) > 0.005 || math.Abs(mf.CompletionTokens-mf.FittedCompletionTokens) > 1 ||
		math.Abs(float64(mf.Latency-mf.FittedLatency)) > float64(5*time.Millisecond) {
		t.Errorf("fitted means: confidence %.3f vs %.3f, tokens %.1f vs %.1f, latency %v vs %v",
			mf.FittedConfidence, mf.Confidence, mf.FittedCompletionTokens, mf.CompletionTokens, mf.FittedLatency, mf.Latency)
	}
	for _, f := range c.Families {
		t.Logf("fitted   %-10s n=%d  accuracy %.3f  fitted %.3f (%+.3f)  skill %.3f ± %.3f, slope %.3f ± %.3f",
			f.Family, f.N, f.Accuracy, f.Fitted, f.Fitted-f.Accuracy, f.Skill, f.SkillSE, f.Slope, f.SlopeSE)
	}
	for _, fc := range c.Check(held) {
		tol := heldOutTolerance(fc)
		t.Logf("held out %-10s n=%d  accuracy %.3f [%.3f, %.3f]  fitted %.3f (%+.3f, tolerance %.3f)  sim-medium %.3f",
			fc.Family, fc.N, fc.Accuracy, fc.Lo, fc.Hi, fc.Fitted, fc.Diff, tol, fc.Base)
		if math.Abs(fc.Diff) > tol {
			t.Errorf("held out %s: fitted expects %.3f, real %.3f", fc.Family, fc.Fitted, fc.Accuracy)
		}
		if math.Abs(fc.Base-fc.Accuracy) <= tol {
			t.Errorf("held out %s: sim-medium (%.3f) is already as close to the real %.3f", fc.Family, fc.Base, fc.Accuracy)
		}
	}
	// By difficulty, the mis-specification shows: reported, not held.
	served := sim.New(&sim.Options{Profiles: c.Profiles})
	type cell struct{ n, real, p float64 }
	cells := map[[2]any]*cell{}
	for _, r := range held {
		e, ok := served.Explain(r.Request())
		if !ok {
			continue
		}
		k := [2]any{r.Family, r.Difficulty}
		if cells[k] == nil {
			cells[k] = &cell{}
		}
		cells[k].n++
		cells[k].real += r.Score
		cells[k].p += e.P
	}
	for _, fam := range families {
		for d := 1; d <= 3; d++ {
			if c := cells[[2]any{fam, d}]; c != nil {
				t.Logf("held out %-10s difficulty %d  n=%3.0f  real %.3f  fitted %.3f (%+.3f)", fam, d, c.n, c.real/c.n, c.p/c.n, (c.p-c.real)/c.n)
			}
		}
	}
}

// TestSplitHeldOut: the split is by question, so a question's calls (its
// debate rounds too) fall on one side, is a pure function of the seed, and
// holds out about the fraction asked.
func TestSplitHeldOut(t *testing.T) {
	exs := examples(t, "arithmetic", 1000, 0)
	var records []sim.Record
	for _, ex := range exs {
		for round := range 2 {
			p := prompt.Prompt{Agent: "a1", Role: "solver", Question: ex.Question}
			if round == 1 {
				p.Previous = &prompt.Peer{Answer: "3", Confidence: 0.5}
			}
			records = append(records, sim.Record{Model: "m", Messages: prompt.Render(&p)})
		}
	}
	fit, held := sim.SplitHeldOut(records, 0.3, 7)
	side := map[string]bool{}
	for i, rs := range [][]sim.Record{fit, held} {
		for _, r := range rs {
			q := lastQuestion(r.Request())
			if s, ok := side[q]; ok && s != (i == 1) {
				t.Fatalf("question %q on both sides", q)
			}
			side[q] = i == 1
		}
	}
	if n := len(held) / 2; n < 250 || n > 350 {
		t.Errorf("held out %d of 1000 questions, want about 300", n)
	}
	fit2, held2 := sim.SplitHeldOut(records, 0.3, 7)
	_, held3 := sim.SplitHeldOut(records, 0.3, 8)
	if len(fit2) != len(fit) || len(held2) != len(held) || lastQuestion(held2[0].Request()) != lastQuestion(held[0].Request()) {
		t.Error("the same seed split differently")
	}
	if lastQuestion(held3[0].Request()) == lastQuestion(held[0].Request()) && lastQuestion(held3[2].Request()) == lastQuestion(held[2].Request()) {
		t.Error("another seed split alike")
	}
}

// TestCalibrateSkipsAndPriors: records Explain cannot use are counted by
// reason; a family with few records stays near the base; a model whose
// records are all skipped is not fitted; base profiles the built-in set
// lacks are kept in the result.
func TestCalibrateSkipsAndPriors(t *testing.T) {
	exs := examples(t, "logic", 6, 2)
	mk := func(model string, p prompt.Prompt, score float64) sim.Record {
		p.Agent, p.Role = "a1", "solver"
		return sim.Record{Model: model, Messages: prompt.Render(&p), Family: "logic", Score: score, Parsed: true, Confidence: 0.9}
	}
	var records []sim.Record
	for _, ex := range exs {
		records = append(records, mk("gpt-few", prompt.Prompt{Instruction: sim.ReferenceInstruction, Question: ex.Question}, 1))
	}
	ex := exs[0]
	unread := mk("gpt-few", prompt.Prompt{Question: "What is the airspeed of an unladen swallow?"}, 1)
	revised := mk("gpt-few", prompt.Prompt{Question: ex.Question, Previous: &prompt.Peer{Answer: "x"}}, 1)
	copied := mk("gpt-few", prompt.Prompt{Question: ex.Question, Demos: []prompt.Demo{{Question: ex.Question, Answer: ex.Answer}}}, 1)
	invalid := mk("gpt-skipped", prompt.Prompt{Question: ex.Question}, math.NaN())
	records = append(records, unread, revised, copied, invalid)
	wrongFamily := mk("gpt-skipped", prompt.Prompt{Question: ex.Question}, 1)
	wrongFamily.Family = "arithmetic" // mismatch
	records = append(records, wrongFamily, sim.Record{Model: "", Messages: records[0].Messages})
	huge := sim.Profile{Name: "sim-huge", BaseSkill: 3, Skill: map[string]float64{"logic": 3}}
	c, err := sim.Calibrate(records, append(sim.DefaultProfiles(), huge), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := sim.Skipped{Unread: 2, Mismatch: 1, Revised: 1, Copied: 1, Invalid: 1}
	if c.Skipped != want || c.Used != len(exs) {
		t.Errorf("skipped %+v, used %d; want %+v, %d", c.Skipped, c.Used, want, len(exs))
	}
	if len(c.Profiles) != 2 || c.Profiles[0].Name != "gpt-few" || c.Profiles[1].Name != "sim-huge" {
		t.Fatalf("profiles %+v; want gpt-few fitted, then sim-huge kept", c.Profiles)
	}
	base := profileByName(sim.DefaultProfiles(), "sim-medium")
	got := c.Profiles[0]
	t.Logf("6 of 6 right: logic skill %.3f ± %.3f (sim-medium's %.2f)", got.Skill["logic"], c.Families[0].SkillSE, base.Skill["logic"])
	// 6 right answers out of 6: the likelihood alone would send the skill
	// to infinity; the prior keeps it within about a logit of the base.
	if d := got.Skill["logic"] - base.Skill["logic"]; d <= 0.1 || d > 1.5 {
		t.Errorf("6 of 6 right on logic: skill %.3f from sim-medium's %.2f", got.Skill["logic"], base.Skill["logic"])
	}
	if got.Skill["arithmetic"] != base.Skill["arithmetic"] || got.BaseSkill != base.BaseSkill || got.Conformity != base.Conformity {
		t.Errorf("gpt-few changed what it has no records of: %+v", got)
	}
	if _, err := sim.Calibrate(records[len(exs):], nil, nil); err == nil {
		t.Error("Calibrate fitted records it skips all of")
	}
}
