package sim

import (
	"math"
	"strconv"
	"sync"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
)

// Explanation is what the reply to one answer call draws from: the
// competence logit the agent's attempt has, decomposed, and what the reply
// says on average over the error draw. The averages are over questions
// alike in family, hardness and prompt (and, above temperature 0, over
// samples): a given question's reply at temperature 0 is fixed.
type Explanation struct {
	Model string
	// Family and Hardness are what the model read off the question
	// (datasets.Solution).
	Family   string
	Hardness float64
	// The logit is Skill − Slope·(Hardness − HardnessCentre) + Offset.
	// Skill and Slope are the profile's on Family; Offset is everything
	// else: the prompt's gain over ReferenceInstruction (instruction, rules,
	// demos and, in calls with peers, the role's fit), saturated by the
	// profile's headroom, minus the temperature's penalty.
	Skill, Slope, Offset, Logit float64
	// ModeShare is the probability that the mistake the agent would make is
	// one a rule names, which adds to the prompt's gain on that question; P
	// accounts for it.
	ModeShare float64
	// P is the probability that the reply is right: that the attempt beats
	// the error draw, and its answer survives MaxTokens.
	P float64
	// Confidence is the expected stated confidence, as prompt.ParseAnswer
	// reads it (0.5 when MaxTokens cuts it off).
	Confidence float64
	// CompletionTokens is the expected completion tokens of the reply.
	CompletionTokens float64
	// Revised: the call shows peers or a previous answer, so the reply
	// weighs the attempt against them; P and Confidence are then the
	// attempt's, not the reply's.
	Revised bool
	// Copied: a demo is of the very question asked, and the reply copies
	// its answer; P is 1 or 0.
	Copied bool
	// Truncated: MaxTokens cuts the reply (P is 0 if the cut reaches the
	// answer).
	Truncated bool
}

// Explain returns what the model's reply to req draws from, for a request
// it answers as an answer task; ok is false for a request it would reject,
// a proposal or advice task, or a question no built-in family solves.
// Explain agrees with Generate: over many questions alike (and samples),
// the share of right replies is P.
func (m *Model) Explain(req lm.Request) (Explanation, bool) {
	c, ok := m.answerCall(&req)
	if !ok {
		return Explanation{}, false
	}
	return c.explain(paramsOf(c.pr, c.q)), true
}

// answerCall is an answer call as the model reads it: everything its
// reply draws from except the profile's fitted parameters, so that
// Calibrate can vary those without reading the call again.
type answerCall struct {
	model       string
	pr          *profile
	sys         *sysInfo
	q           *question
	maxTokens   int
	revised     bool
	copied      *demoCopy // the demo of the question asked, if any
	gain        float64   // over the reference, unsaturated, without rule modes
	tp          float64   // temperature penalty
	wrongWeight []float64 // probability that the attempt, if wrong, gives each wrong answer
	dist        *errDist
}

// answerCall reads req as Generate does; false if Generate would not
// answer it as an answer task to a question it solves.
func (m *Model) answerCall(req *lm.Request) (*answerCall, bool) {
	if req.Validate() != nil {
		return nil, false
	}
	pr := m.profiles[req.Model]
	if pr == nil {
		return nil, false
	}
	sys, user, _ := m.read(req)
	if sys.task == prompt.TaskProposeInstruction || sys.task == prompt.TaskAdvise {
		return nil, false
	}
	var p prompt.Prompt
	qtext := user
	if err := prompt.ParseUser(user, &p); err == nil {
		qtext = p.Question
	} else {
		p.Peers, p.Previous = nil, nil
	}
	q := m.question(qtext)
	if !q.ok {
		return nil, false
	}
	withPeers := len(p.Peers) > 0
	c := &answerCall{model: req.Model, pr: pr, sys: sys, q: q, maxTokens: req.MaxTokens, revised: withPeers || p.Previous != nil,
		gain: sys.gain[pr.index][q.fam] - pr.gainRef[q.fam], tp: tempPenalty(req.Temperature),
		wrongWeight: q.wrongWeights(req.Temperature), dist: errDistAt(req.Temperature)}
	if withPeers {
		c.gain += roleFit(sys.role, q.Family)
	}
	for i := range sys.copies {
		if d := &sys.copies[i]; d.qhash == q.hash && d.answer != "" {
			c.copied = d
			break
		}
	}
	return c, true
}

// params are the profile's parameters an answer call's explanation
// depends on, on the question's family.
type params struct {
	skill, slope, headroom, bias, verbosity float64
}

func paramsOf(pr *profile, q *question) params {
	return params{skill: pr.skill(q.Family), slope: pr.slope(q.Family), headroom: pr.headroom[q.fam],
		bias: pr.ConfidenceBias, verbosity: pr.verbosity}
}

// wrongWeights are the probabilities with which pickWrong picks each of
// q's wrong answers at temperature.
func (q *question) wrongWeights(temperature float64) []float64 {
	w := make([]float64, len(q.wrong))
	if temperature == 0 || len(q.wrong) == 1 {
		prev := 0.0
		for i, c := range q.wrongCum {
			w[i], prev = c-prev, c
		}
		return w
	}
	a := 2 / (1 + temperature)
	total := 0.0
	for i := range w {
		w[i] = math.Pow(float64(i+1), -a)
		total += w[i]
	}
	for i := range w {
		w[i] /= total
	}
	return w
}

// replyLen is the length in bytes of a reply of reasoning n giving ans.
func replyLen(n int, ans string) int {
	return len(replyReasoning) + n + len(replyAnswer) + len(ans) + confLineLen
}

// tokens is the completion tokens of a reply of n bytes, as Generate
// counts them (lm.EstimateTokens, capped by MaxTokens).
func (c *answerCall) tokens(n int) float64 {
	t := (n + 3) / 4
	if c.maxTokens > 0 && t > c.maxTokens {
		t = c.maxTokens
	}
	return float64(t)
}

// right is the probability that the reply is right under pp, with the
// logit decomposed as Explanation has it.
func (c *answerCall) right(pp params) (p, logit, offset, modeShare float64) {
	base := pp.skill - pp.slope*(c.q.Hardness-hardCenter)
	offset = saturate(c.gain, pp.headroom) - c.tp
	logit = base + offset
	if c.copied != nil {
		if normHash(c.copied.answer) == c.q.ansHash && !c.cut(c.copied.answer, pp) {
			p = 1
		}
		return p, logit, offset, 0
	}
	if c.cut(c.q.Answer, pp) {
		return 0, logit, offset, c.modeShare()
	}
	zMode := base + saturate(c.gain+modeGain, pp.headroom) - c.tp
	for i, w := range c.wrongWeight {
		z := logit
		if c.sys.modes&c.q.wrongMode[i] != 0 {
			z = zMode
			modeShare += w
		}
		p += w * c.dist.cdf(z)
	}
	return p, logit, offset, modeShare
}

func (c *answerCall) modeShare() float64 {
	s := 0.0
	for i, w := range c.wrongWeight {
		if c.sys.modes&c.q.wrongMode[i] != 0 {
			s += w
		}
	}
	return s
}

// cut reports whether MaxTokens cuts a reply giving ans before its answer
// ends.
func (c *answerCall) cut(ans string, pp params) bool {
	n := reasoningLen(c.q, c.sys.reasoning, pp.verbosity, false)
	return c.maxTokens > 0 && 4*c.maxTokens < len(replyReasoning)+n+len(replyAnswer)+len(ans)
}

// truncated reports whether MaxTokens cuts the reply giving the right
// answer.
func (c *answerCall) truncated(pp params) bool {
	n := reasoningLen(c.q, c.sys.reasoning, pp.verbosity, false)
	return c.maxTokens > 0 && replyLen(n, c.q.Answer) > 4*c.maxTokens
}

// confidence is the expected stated confidence under pp.
func (c *answerCall) confidence(pp params) float64 {
	n := reasoningLen(c.q, c.sys.reasoning, pp.verbosity, false)
	if c.copied != nil {
		return c.readConf(n, c.copied.answer, noiseConf(confBase+confSlope*copyMargin+pp.bias))
	}
	base := pp.skill - pp.slope*(c.q.Hardness-hardCenter)
	z0 := base + saturate(c.gain, pp.headroom) - c.tp
	zMode := base + saturate(c.gain+modeGain, pp.headroom) - c.tp
	e := 0.0
	for i, w := range c.wrongWeight {
		z := z0
		if c.sys.modes&c.q.wrongMode[i] != 0 {
			z = zMode
		}
		conf := c.dist.conf(confBase + confSlope*z + pp.bias)
		if c.maxTokens == 0 {
			e += w * conf
			continue
		}
		p := c.dist.cdf(z)
		e += w * (p*c.readConf(n, c.q.Answer, conf) + (1-p)*c.readConf(n, c.q.wrong[i], conf))
	}
	return e
}

// readConf is the confidence prompt.ParseAnswer reads, on average, off a
// reply of reasoning n giving ans with expected confidence conf, once
// MaxTokens has cut it: 0.5 without its digits, 0 with just "0" or "0.",
// the first decimal (about 0.045 less) with three characters of them.
func (c *answerCall) readConf(n int, ans string, conf float64) float64 {
	if c.maxTokens == 0 {
		return conf
	}
	switch k := 4*c.maxTokens - (replyLen(n, ans) - confLineLen); {
	case k >= confLineLen:
		return conf
	case k == confLineLen-1:
		return max(conf-0.045, 0)
	case k >= confLineLen-3:
		return 0
	}
	return 0.5
}

// completionTokens is the expected completion tokens under pp.
func (c *answerCall) completionTokens(pp params) float64 {
	n := reasoningLen(c.q, c.sys.reasoning, pp.verbosity, false)
	if c.copied != nil {
		return c.tokens(replyLen(n, c.copied.answer))
	}
	base := pp.skill - pp.slope*(c.q.Hardness-hardCenter)
	z0 := base + saturate(c.gain, pp.headroom) - c.tp
	zMode := base + saturate(c.gain+modeGain, pp.headroom) - c.tp
	right := c.tokens(replyLen(n, c.q.Answer))
	e := 0.0
	for i, w := range c.wrongWeight {
		z := z0
		if c.sys.modes&c.q.wrongMode[i] != 0 {
			z = zMode
		}
		p := c.dist.cdf(z)
		e += w * (p*right + (1-p)*c.tokens(replyLen(n, c.q.wrong[i])))
	}
	return e
}

func (c *answerCall) explain(pp params) Explanation {
	p, logit, offset, share := c.right(pp)
	return Explanation{
		Model: c.model, Family: c.q.Family, Hardness: c.q.Hardness,
		Skill: pp.skill, Slope: pp.slope, Offset: offset, Logit: logit, ModeShare: share,
		P: p, Confidence: c.confidence(pp), CompletionTokens: c.completionTokens(pp),
		Revised: c.revised, Copied: c.copied != nil, Truncated: c.truncated(pp),
	}
}

// The error draw's distribution at a temperature, tabulated: its CDF and
// density on [−distRange, distRange] (beyond, 0 or 1), and the expected
// stated confidence as a function of confBase + confSlope·z + bias.
const (
	distRange = 20.0
	distStep  = 0.02
	distN     = int(2*distRange/distStep) + 1

	confRange = 30.0 // the expected confidence is tabulated on ±confRange
	confStep  = 0.05
	confN     = int(2*confRange/confStep) + 1
)

type errDist struct {
	cdfs, pdfs [distN]float64
	confs      [confN]float64
}

// dists caches the tables by temperature: a study uses a few.
var dists = cache[*errDist]{max: 64}

func errDistAt(temperature float64) *errDist {
	key := strconv.FormatFloat(temperature, 'g', -1, 64)
	if d, ok := dists.get(key); ok {
		return d
	}
	return dists.put(key, newErrDist(errWeights(temperature)))
}

// errWeights are the scales of the independent standard logistic draws
// whose sum is the error draw at temperature (see solve).
func errWeights(temperature float64) []float64 {
	if temperature == 0 {
		return []float64{wQuestion, wModel, wPrompt}
	}
	s := sampleShare(temperature)
	a := math.Sqrt(1 - s)
	return []float64{a * wQuestion, a * wModel, a * wPrompt, math.Sqrt(s)}
}

// newErrDist tabulates the distribution of Σ w_k·L_k, L_k standard
// logistic, by inverting its characteristic function Π πw_k·t/sinh(πw_k·t)
// (Gil-Pelaez), which is exact to about 1e-9.
func newErrDist(ws []float64) *errDist {
	sumW := 0.0
	for _, w := range ws {
		sumW += w
	}
	// The characteristic function decays as e^(−π·t·Σw): it is below 1e-15
	// past tmax.
	tmax := 45 / (math.Pi * sumW)
	nt := int(math.Ceil(tmax / 0.004))
	nt += nt % 2
	dt := tmax / float64(nt)
	phi := make([]float64, nt+1) // characteristic function × Simpson weight
	for j := range phi {
		t := float64(j) * dt
		v := 1.0
		for _, w := range ws {
			if y := math.Pi * w * t; y > 0 {
				v *= y / math.Sinh(y)
			}
		}
		sw := 2.0
		switch {
		case j == 0 || j == nt:
			sw = 1
		case j%2 == 1:
			sw = 4
		}
		phi[j] = v * sw * dt / 3
	}
	d := &errDist{}
	mid := distN / 2
	for i := 0; i <= mid; i++ {
		x := float64(i) * distStep
		// sin(t·x) and cos(t·x) by rotation, t stepping by dt.
		ds, dc := math.Sincos(dt * x)
		s, c := 0.0, 1.0
		is, ic := phi[0]*x, phi[0] // sin(t·x)/t → x at t = 0
		for j := 1; j <= nt; j++ {
			s, c = s*dc+c*ds, c*dc-s*ds
			is += phi[j] * s / (float64(j) * dt)
			ic += phi[j] * c
		}
		f := min(max(0.5+is/math.Pi, 0.5), 1)
		d.cdfs[mid+i], d.cdfs[mid-i] = f, 1-f
		pdf := max(ic/math.Pi, 0)
		d.pdfs[mid+i], d.pdfs[mid-i] = pdf, pdf
	}
	for i := mid + 1; i < distN; i++ { // monotone despite rounding
		d.cdfs[i] = max(d.cdfs[i], d.cdfs[i-1])
		d.cdfs[distN-1-i] = 1 - d.cdfs[i]
	}

	// The expected confidence E[noiseConf(u − confSlope·ε)], by the masses
	// of ε on cells of 5 grid steps.
	const cell = 5
	var xs, ms []float64
	xs, ms = append(xs, -distRange), append(ms, d.cdfs[0])
	for i := 0; i+cell < distN; i += cell {
		xs = append(xs, -distRange+(float64(i)+cell/2.0)*distStep)
		ms = append(ms, d.cdfs[i+cell]-d.cdfs[i])
	}
	xs, ms = append(xs, distRange), append(ms, 1-d.cdfs[distN-1])
	for i := range d.confs {
		u := -confRange + float64(i)*confStep
		e := 0.0
		for k, x := range xs {
			e += ms[k] * noiseConf(u-confSlope*x)
		}
		d.confs[i] = e
	}
	return d
}

// cdf is P(ε < x): a cubic Hermite interpolation of the table.
func (d *errDist) cdf(x float64) float64 {
	u := (x + distRange) / distStep
	switch {
	case !(u > 0): // also NaN
		return 0
	case u >= float64(distN-1):
		return 1
	}
	i := int(u)
	t := u - float64(i)
	t2, t3 := t*t, t*t*t
	f := (2*t3-3*t2+1)*d.cdfs[i] + (t3-2*t2+t)*distStep*d.pdfs[i] + (-2*t3+3*t2)*d.cdfs[i+1] + (t3-t2)*distStep*d.pdfs[i+1]
	return min(max(f, 0), 1)
}

// conf is the expected stated confidence for u = confBase + confSlope·z +
// bias.
func (d *errDist) conf(u float64) float64 {
	return interpolate(d.confs[:], -confRange, confStep, u)
}

// interpolate reads table ys, sampled from x0 in steps of h, at x
// linearly, holding the end values beyond.
func interpolate(ys []float64, x0, h, x float64) float64 {
	u := (x - x0) / h
	switch {
	case !(u > 0):
		return ys[0]
	case u >= float64(len(ys)-1):
		return ys[len(ys)-1]
	}
	i := int(u)
	t := u - float64(i)
	return ys[i] + t*(ys[i+1]-ys[i])
}

// The expected stated confidence over the confidence noise alone,
// E[clamp(sigmoid(v + noise), 0.01, 0.99)], tabulated on ±noiseRange.
const (
	noiseRange = 40.0
	noiseStep  = 0.02
	noiseCells = 440 // of the triangular noise's support, for the table
)

var noiseConfs = sync.OnceValue(func() []float64 {
	// The masses of the triangular noise on [−confNoise, confNoise] by cell.
	tri := func(x float64) float64 { // its CDF
		y := x/confNoise + 1 // on [0, 2]
		if y < 1 {
			return y * y / 2
		}
		return 1 - (2-y)*(2-y)/2
	}
	var at, mass [noiseCells]float64
	for k := range noiseCells {
		lo := -confNoise + 2*confNoise*float64(k)/noiseCells
		hi := -confNoise + 2*confNoise*float64(k+1)/noiseCells
		at[k], mass[k] = (lo+hi)/2, tri(hi)-tri(lo)
	}
	ys := make([]float64, int(2*noiseRange/noiseStep)+1)
	for i := range ys {
		v := -noiseRange + float64(i)*noiseStep
		for k := range noiseCells {
			ys[i] += mass[k] * min(max(sigmoid(v+at[k]), 0.01), 0.99)
		}
	}
	return ys
})

// noiseConf is E[clamp(sigmoid(v + noise), 0.01, 0.99)] over the
// confidence noise.
func noiseConf(v float64) float64 {
	return interpolate(noiseConfs(), -noiseRange, noiseStep, v)
}
