package sim

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/optimize"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
)

// Record is one call of a study on a real model, as the store keeps it:
// the request, what the data set says of its question, and what came back.
type Record struct {
	Model       string
	Messages    []lm.Message
	Temperature float64
	MaxTokens   int
	// Family and Difficulty label the question as its data set does; ""
	// and 0 when unknown. A Family other than the one the question reads
	// as is a mismatch, and the record is skipped.
	Family     string
	Difficulty int
	// Score is 1 for a right reply and 0 for a wrong one; fractions are
	// allowed.
	Score float64
	// Confidence is the stated confidence, as prompt.ParseAnswer read it;
	// it is used when Parsed.
	Confidence float64
	// Parsed: the reply had an answer.
	Parsed bool
	// PromptTokens and CompletionTokens are the usage the server reported
	// and Latency the call's time; zero when unknown.
	PromptTokens, CompletionTokens int
	Latency                        time.Duration
}

// CalibrateOptions configures Calibrate. The zero value (and nil) is the
// default.
type CalibrateOptions struct {
	// Source names where the records come from, in the fitted profiles'
	// Description ("fitted to 1200 calls from <Source>"); "" leaves it out.
	Source string
	// Prices are the models' prices; a model missing here keeps its base
	// profile's.
	Prices map[string]lm.Price
	// SkillPrior and SlopePrior are the standard deviations of the normal
	// priors that pull each family's Skill and Hardness slope toward the
	// base profile's, so that a family with few records stays near it: a
	// prior of σ weighs as much as about 4/σ² records near accuracy 0.5.
	// Zero means 1 (logit) and 0.5 (logit per unit of hardness).
	SkillPrior, SlopePrior float64
}

// Calibration is the result of Calibrate: the fitted profiles and how
// they fit the records they were fitted to.
type Calibration struct {
	// Profiles are the fitted profiles, sorted by name, then the base
	// profiles the built-in set lacks or has otherwise, so that a model
	// built from them (New(&Options{Profiles: Profiles}), or a profiles
	// file of them) serves the world the fit assumed.
	Profiles []Profile
	// Families has a row per model and family of the records used, sorted.
	Families []FamilyFit
	// Models has a row per fitted model, sorted.
	Models []ModelFit
	// Used counts the records fitted to; Skipped those left out.
	Used    int
	Skipped Skipped

	fitted, base *Model
	names        map[string]bool // the fitted models
}

// FamilyFit is how the fitted profile of one model fits its records of
// one family.
type FamilyFit struct {
	Model, Family string
	N             int     // records used
	Accuracy      float64 // their mean Score
	// Base and Fitted are the expected accuracies (the mean of Explain's P)
	// of the base and the fitted profile on these records.
	Base, Fitted float64
	// Questions counts the records' distinct questions, and AccuracySE is
	// Accuracy's standard error by question (cluster-robust): how far the
	// fit may be off from the model's accuracy on other questions.
	Questions  int
	AccuracySE float64
	// Skill and Slope are the fitted Skill and Hardness slope, with their
	// standard errors (from the Fisher information and the priors, which
	// treat the records as independent: calls of one question are not, so
	// the errors are too small where questions repeat).
	Skill, SkillSE, Slope, SlopeSE float64
}

// ModelFit is how the fitted profile of one model fits its records' other
// measures: each the records' mean and the fitted profile's expectation.
type ModelFit struct {
	Model string
	N     int // records used
	// Confidence is over the parsed records, CompletionTokens over those
	// that report them, Latency over those that have one.
	Confidence, FittedConfidence             float64
	CompletionTokens, FittedCompletionTokens float64
	Latency, FittedLatency                   time.Duration
}

// Skipped counts the records a fit or check leaves out, by reason.
type Skipped struct {
	// Unread: Explain cannot read the call (a question no built-in family
	// solves, a proposal or advice task, a bad request).
	Unread int
	// Mismatch: Record.Family is not the family the question reads as.
	Mismatch int
	// Revised: the call shows peers or a previous answer, so the reply is
	// not the model's own attempt.
	Revised int
	// Copied: a demo is of the very question asked.
	Copied int
	// Invalid: Score is not in [0, 1].
	Invalid int
}

// FamilyCheck compares, on held-out records of one model and family, the
// real accuracy with what the fitted and the base profiles expect.
type FamilyCheck struct {
	Model, Family string
	// N counts the records, Questions their distinct questions.
	N, Questions int
	// Accuracy is the records' mean Score, and Lo and Hi its 95%
	// interval, by question (cluster-robust; Wilson's, which treats the
	// records as independent, for a single question).
	Accuracy, Lo, Hi float64
	// Fitted and Base are the expected accuracies (mean P) under the fitted
	// and the base profiles; Diff is Fitted − Accuracy, and DiffSE its
	// standard error: the held-out calls' by question, and the fit's own
	// (FamilyFit.AccuracySE), combined; NaN for a single question. A fit
	// consistent with the held-out calls has |Diff| within a few DiffSE.
	Fitted, Base, Diff, DiffSE float64
}

// fitRecord is a record the fit uses, read as an answer call.
type fitRecord struct {
	*Record
	call *answerCall
}

// Calibrate fits surrogate profiles to records of calls to real models,
// one profile per Record.Model, starting from base (nil: DefaultProfiles;
// a model missing from it starts from sim-medium's parameters). Per model
// and family it fits Skill and the Hardness slope by maximum likelihood of
// the records' scores under the mechanism Explain describes (each record's
// Offset included), with weak priors toward the base values; then
// Verbosity so that the expected completion tokens match the records',
// ConfidenceBias so that the expected stated confidence matches, Latency
// and CompletionTokenLatency by least squares on the records' latencies,
// and the prices from opts. BaseSkill, Conformity and the other models
// are kept. Records Explain cannot use are counted in Skipped. It fails on
// an invalid base profile or price, or if no record can be fitted.
func Calibrate(records []Record, base []Profile, opts *CalibrateOptions) (*Calibration, error) {
	if opts == nil {
		opts = &CalibrateOptions{}
	}
	skillSD, slopeSD := cmp.Or(opts.SkillPrior, 1), cmp.Or(opts.SlopePrior, 0.5)
	if skillSD < 0 || slopeSD < 0 {
		return nil, fmt.Errorf("sim: negative prior (SkillPrior %g, SlopePrior %g)", opts.SkillPrior, opts.SlopePrior)
	}
	if base == nil {
		base = DefaultProfiles()
	}
	world := map[string]Profile{}
	for _, ps := range [][]Profile{DefaultProfiles(), base} {
		for _, p := range ps {
			if err := p.validate(); err != nil {
				return nil, err
			}
			world[p.Name] = p.clone()
		}
	}
	// A model without a profile starts from sim-medium's parameters; only
	// those with records to fit join the world, as only they will be
	// served with it.
	synth := func(name string) Profile {
		p := world["sim-medium"].clone()
		p.Name, p.Description = name, ""
		return p
	}
	reader := maps.Clone(world)
	for i := range records {
		if n := records[i].Model; n != "" && reader[n].Name == "" {
			reader[n] = synth(n)
		}
	}
	readerModel := New(&Options{Profiles: slices.Collect(maps.Values(reader))})
	for i := range records {
		r := &records[i]
		if _, ok := world[r.Model]; !ok {
			if _, use := classify(readerModel, r, &Skipped{}); use {
				world[r.Model] = synth(r.Model)
			}
		}
	}
	baseWorld := maps.Clone(world)
	mb := New(&Options{Profiles: slices.Collect(maps.Values(baseWorld))})

	c := &Calibration{base: mb, names: map[string]bool{}}
	byModel := map[string][]fitRecord{}
	for i := range records {
		r := &records[i]
		if _, ok := world[r.Model]; !ok && r.Model != "" {
			classify(readerModel, r, &c.Skipped) // counted by why it is unusable
			continue
		}
		if call, use := classify(mb, r, &c.Skipped); use {
			byModel[r.Model] = append(byModel[r.Model], fitRecord{r, call})
			c.Used++
		}
	}
	if c.Used == 0 {
		return nil, fmt.Errorf("sim: none of %d records can be fitted (skipped: %+v)", len(records), c.Skipped)
	}

	// Larger models first: a model's prompt headroom depends on the next
	// larger model's skill, so that one must be final before it is fitted.
	order := slices.Collect(maps.Keys(byModel))
	slices.SortFunc(order, func(a, b string) int {
		return cmp.Or(cmp.Compare(world[b].BaseSkill, world[a].BaseSkill), strings.Compare(a, b))
	})
	fits := map[string]map[string]FamilyFit{}
	for _, name := range order {
		rs := byModel[name]
		p := world[name].clone()
		next, hasNext := nextLarger(world, p.BaseSkill)
		fams := map[string][]fitRecord{}
		for _, r := range rs {
			fams[r.call.q.Family] = append(fams[r.call.q.Family], r)
		}
		pp := func(r fitRecord, verbosity, bias float64) params {
			fam := r.call.q.Family
			sk := p.skill(fam)
			return params{skill: sk, slope: p.slope(fam), headroom: headroomOf(sk, next.skill(fam), hasNext), bias: bias, verbosity: verbosity}
		}
		tokens := func(r fitRecord, v float64) float64 { return r.call.completionTokens(pp(r, v, p.ConfidenceBias)) }
		// Verbosity decides which replies MaxTokens cuts, and the skills
		// (slightly) how long the answers are: fit them in turn until the
		// verbosity settles.
		p.Verbosity = fitVerbosity(rs, tokens, p.Verbosity)
		for range 3 {
			fits[name] = map[string]FamilyFit{}
			for _, fam := range slices.Sorted(maps.Keys(fams)) {
				prior := world[name] // not yet fitted
				f := fitFamily(fams[fam], [2]float64{p.skill(fam), p.slope(fam)}, [2]float64{prior.skill(fam), prior.slope(fam)},
					[2]float64{skillSD, slopeSD}, next.skill(fam), hasNext, cmp.Or(p.Verbosity, 1))
				if p.Skill == nil {
					p.Skill = map[string]float64{}
				}
				if p.Hardness == nil {
					p.Hardness = map[string]float64{}
				}
				p.Skill[fam], p.Hardness[fam] = f.Skill, f.Slope
				fits[name][fam] = f
			}
			v := fitVerbosity(rs, tokens, p.Verbosity)
			if v == p.Verbosity {
				break
			}
			p.Verbosity = v
		}
		verb := cmp.Or(p.Verbosity, 1)
		p.ConfidenceBias = fitBias(rs, func(r fitRecord, b float64) float64 { return r.call.confidence(pp(r, verb, b)) }, p.ConfidenceBias)
		fitLatency(rs, &p, func(r fitRecord) float64 { return r.call.completionTokens(pp(r, verb, p.ConfidenceBias)) })
		if pr, ok := opts.Prices[name]; ok {
			p.PromptPrice, p.CompletionPrice = pr.Prompt, pr.Completion
		}
		p.Description = fmt.Sprintf("fitted to %d calls", len(rs))
		if opts.Source != "" {
			p.Description += " from " + opts.Source
		}
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("sim: calibrating %q: %w (prices?)", name, err)
		}
		world[name] = p
		c.names[name] = true
	}
	c.fitted = New(&Options{Profiles: slices.Collect(maps.Values(world))})

	// The report, through Explain on both worlds.
	for _, name := range slices.Sorted(maps.Keys(byModel)) {
		mf := ModelFit{Model: name, N: len(byModel[name])}
		var nConf, nTok, nLat int
		var sumLat, sumFitLat float64
		pr := c.fitted.profiles[name]
		type acc struct {
			n, score, base, fitted float64
			qs                     map[string][2]float64 // by question: calls, summed score
		}
		fams := map[string]*acc{}
		for _, r := range byModel[name] {
			req := r.Request()
			eb, _ := mb.Explain(req)
			ef, _ := c.fitted.Explain(req)
			a := fams[ef.Family]
			if a == nil {
				a = &acc{qs: map[string][2]float64{}}
				fams[ef.Family] = a
			}
			a.n++
			a.score += r.Score
			a.base += eb.P
			a.fitted += ef.P
			q := a.qs[questionOf(r.Messages)]
			a.qs[questionOf(r.Messages)] = [2]float64{q[0] + 1, q[1] + r.Score}
			if r.Parsed {
				nConf++
				mf.Confidence += r.Confidence
				mf.FittedConfidence += ef.Confidence
			}
			if r.CompletionTokens > 0 {
				nTok++
				mf.CompletionTokens += float64(r.CompletionTokens)
				mf.FittedCompletionTokens += ef.CompletionTokens
			}
			if r.Latency > 0 {
				nLat++
				sumLat += float64(r.Latency)
				sumFitLat += float64(pr.Latency) + float64(r.promptTokens())*float64(pr.PromptTokenLatency) +
					ef.CompletionTokens*float64(pr.CompletionTokenLatency)
			}
		}
		for _, fam := range slices.Sorted(maps.Keys(fams)) {
			a, f := fams[fam], fits[name][fam]
			f.Model, f.Family, f.N = name, fam, int(a.n)
			f.Accuracy, f.Base, f.Fitted = a.score/a.n, a.base/a.n, a.fitted/a.n
			f.Questions, f.AccuracySE = len(a.qs), clusterSE(a.qs, f.Accuracy, a.n)
			c.Families = append(c.Families, f)
		}
		mf.Confidence, mf.FittedConfidence = divide(mf.Confidence, nConf), divide(mf.FittedConfidence, nConf)
		mf.CompletionTokens, mf.FittedCompletionTokens = divide(mf.CompletionTokens, nTok), divide(mf.FittedCompletionTokens, nTok)
		mf.Latency, mf.FittedLatency = time.Duration(divide(sumLat, nLat)), time.Duration(divide(sumFitLat, nLat))
		c.Models = append(c.Models, mf)
	}

	defaults := map[string]Profile{}
	for _, p := range DefaultProfiles() {
		defaults[p.Name] = p
	}
	for _, name := range slices.Sorted(maps.Keys(c.names)) {
		c.Profiles = append(c.Profiles, world[name].clone())
	}
	for _, name := range slices.Sorted(maps.Keys(baseWorld)) {
		if d, ok := defaults[name]; !c.names[name] && (!ok || !sameProfile(d, baseWorld[name])) {
			c.Profiles = append(c.Profiles, baseWorld[name].clone())
		}
	}
	if len(c.Profiles) == 0 {
		return nil, errors.New("sim: nothing fitted")
	}
	return c, nil
}

// classify reads r with m for a fit or check: the call, and whether it is
// used; if not, the reason is counted in sk.
func classify(m *Model, r *Record, sk *Skipped) (*answerCall, bool) {
	if !(r.Score >= 0 && r.Score <= 1) {
		sk.Invalid++
		return nil, false
	}
	req := r.Request()
	call, ok := m.answerCall(&req)
	switch {
	case !ok:
		sk.Unread++
	case r.Family != "" && r.Family != call.q.Family:
		sk.Mismatch++
	case call.revised:
		sk.Revised++
	case call.copied != nil:
		sk.Copied++
	default:
		return call, true
	}
	return nil, false
}

// Request is the record's call as a request, as Explain reads it.
func (r *Record) Request() lm.Request {
	return lm.Request{Model: r.Model, Messages: r.Messages, Temperature: r.Temperature, MaxTokens: r.MaxTokens}
}

// promptTokens is the record's prompt tokens, else the surrogate's count.
func (r *Record) promptTokens() int {
	if r.PromptTokens > 0 {
		return r.PromptTokens
	}
	n := 0
	for _, m := range r.Messages {
		n += len(m.Content)
	}
	return (n + 3) / 4
}

func divide(x float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return x / float64(n)
}

func sameProfile(a, b Profile) bool {
	return string(profilesKey([]Profile{a})) == string(profilesKey([]Profile{b}))
}

// nextLarger is the profile of the smallest BaseSkill above baseSkill, as
// prepareProfiles picks it.
func nextLarger(world map[string]Profile, baseSkill float64) (Profile, bool) {
	var next Profile
	found := false
	for _, name := range slices.Sorted(maps.Keys(world)) {
		o := world[name]
		if o.BaseSkill > baseSkill && (!found || o.BaseSkill < next.BaseSkill) {
			next, found = o, true
		}
	}
	return next, found
}

// Fitted values are rounded to this many decimals, for a readable file.
const fitDecimals = 1e4

func round(x float64) float64 { return math.Round(x*fitDecimals) / fitDecimals }

// fitFamily fits the skill and hardness slope of one model on one family
// to rs, from start: the maximum of the log likelihood of their scores
// plus normal priors of centres centre and standard deviations sd.
func fitFamily(rs []fitRecord, start, centre, sd [2]float64, nextSkill float64, hasNext bool, verbosity float64) FamilyFit {
	negLogPost := func(x []float64) float64 {
		pp := params{skill: x[0], slope: x[1], headroom: headroomOf(x[0], nextSkill, hasNext), verbosity: verbosity}
		ll := 0.0
		for _, r := range rs {
			q, _, _, _ := r.call.right(pp)
			q = min(max(q, 1e-12), 1-1e-12)
			ll += r.Score*math.Log(q) + (1-r.Score)*math.Log(1-q)
		}
		d0, d1 := (x[0]-centre[0])/sd[0], (x[1]-centre[1])/sd[1]
		return -ll + (d0*d0+d1*d1)/2
	}
	const h = 1e-5
	grad := func(g, x []float64) {
		y := slices.Clone(x)
		for i := range x {
			y[i] = x[i] + h
			f1 := negLogPost(y)
			y[i] = x[i] - h
			f0 := negLogPost(y)
			y[i] = x[i]
			g[i] = (f1 - f0) / (2 * h)
		}
	}
	x := start[:]
	res, err := optimize.Minimize(optimize.Problem{Func: negLogPost, Grad: grad}, x,
		&optimize.Settings{GradientThreshold: 1e-6, MajorIterations: 200}, &optimize.BFGS{})
	if res != nil && (err == nil || res.F < negLogPost(x)) && !math.IsNaN(res.F) {
		x = res.X
	}
	// Standard errors from the Fisher information at the optimum,
	// Σ ∂p/∂x_i·∂p/∂x_j / (p(1−p)) plus the priors' precisions: robust to
	// the kink the headroom's floor puts in the likelihood.
	const hh = 1e-5
	at := func(x0, x1 float64) params {
		return params{skill: x0, slope: x1, headroom: headroomOf(x0, nextSkill, hasNext), verbosity: verbosity}
	}
	info := [2][2]float64{{1 / (sd[0] * sd[0]), 0}, {0, 1 / (sd[1] * sd[1])}}
	for _, r := range rs {
		q, _, _, _ := r.call.right(at(x[0], x[1]))
		q = min(max(q, 1e-12), 1-1e-12)
		var d [2]float64
		for i := range 2 {
			lo, hi := [2]float64{x[0], x[1]}, [2]float64{x[0], x[1]}
			lo[i] -= hh
			hi[i] += hh
			p1, _, _, _ := r.call.right(at(hi[0], hi[1]))
			p0, _, _, _ := r.call.right(at(lo[0], lo[1]))
			d[i] = (p1 - p0) / (2 * hh)
		}
		for i := range 2 {
			for j := range 2 {
				info[i][j] += d[i] * d[j] / (q * (1 - q))
			}
		}
	}
	det := info[0][0]*info[1][1] - info[0][1]*info[1][0]
	f := FamilyFit{Skill: round(x[0]), Slope: round(x[1]), SkillSE: math.NaN(), SlopeSE: math.NaN()}
	if det > 0 {
		f.SkillSE, f.SlopeSE = math.Sqrt(info[1][1]/det), math.Sqrt(info[0][0]/det)
	}
	return f
}

// bisect returns the x in [lo, hi] where the increasing function f
// crosses target (an end if it does not).
func bisect(f func(float64) float64, target, lo, hi float64) float64 {
	if f(lo) >= target {
		return lo
	}
	if f(hi) <= target {
		return hi
	}
	for range 50 {
		mid := (lo + hi) / 2
		if f(mid) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// fitVerbosity is the verbosity at which the mean expected completion
// tokens of the records that report theirs matches their mean; keep if
// none does.
func fitVerbosity(rs []fitRecord, tokens func(fitRecord, float64) float64, keep float64) float64 {
	logV, ok := fitMean(rs, func(r fitRecord) (float64, bool) { return float64(r.CompletionTokens), r.CompletionTokens > 0 },
		func(r fitRecord, logV float64) float64 { return tokens(r, math.Exp(logV)) }, math.Log(1.0/64), math.Log(64))
	if !ok {
		return keep
	}
	return round(math.Exp(logV))
}

// fitBias is the confidence bias at which the mean expected stated
// confidence of the parsed records matches their mean; keep if none is
// parsed.
func fitBias(rs []fitRecord, conf func(fitRecord, float64) float64, keep float64) float64 {
	b, ok := fitMean(rs, func(r fitRecord) (float64, bool) { return r.Confidence, r.Parsed }, conf, -8, 8)
	if !ok {
		return keep
	}
	return round(b)
}

// fitMean is the x in [lo, hi] at which the mean of expect(r, x) over the
// records observed selects matches the mean of their observed values;
// false if it selects none.
func fitMean(rs []fitRecord, observed func(fitRecord) (float64, bool), expect func(fitRecord, float64) float64, lo, hi float64) (float64, bool) {
	var used []fitRecord
	target := 0.0
	for _, r := range rs {
		if v, ok := observed(r); ok {
			used = append(used, r)
			target += v
		}
	}
	if len(used) == 0 {
		return 0, false
	}
	target /= float64(len(used))
	mean := func(x float64) float64 {
		s := 0.0
		for _, r := range used {
			s += expect(r, x)
		}
		return s / float64(len(used))
	}
	return bisect(mean, target, lo, hi), true
}

// fitLatency sets p's Latency and CompletionTokenLatency by least squares
// on the records' latencies less PromptTokenLatency per prompt token; if
// that gives a negative part (or the completions do not vary), it keeps
// the per-token latencies, or scales them, so that the mean matches.
func fitLatency(rs []fitRecord, p *Profile, tokens func(fitRecord) float64) {
	var xs, ys, lat, prm []float64
	for _, r := range rs {
		if r.Latency <= 0 {
			continue
		}
		c := float64(r.CompletionTokens)
		if c <= 0 {
			c = tokens(r)
		}
		pt := float64(r.promptTokens())
		xs, prm, lat = append(xs, c), append(prm, pt), append(lat, float64(r.Latency))
		ys = append(ys, float64(r.Latency)-pt*float64(p.PromptTokenLatency))
	}
	if len(xs) == 0 {
		return
	}
	mx, my := mean(xs), mean(ys)
	var sxx, sxy float64
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	if len(xs) >= 10 && sxx > 0 {
		if b := sxy / sxx; b >= 0 && my-b*mx >= 0 {
			p.CompletionTokenLatency = time.Duration(math.Round(b))
			p.Latency = time.Duration(math.Round(my - b*mx)).Round(time.Microsecond)
			return
		}
	}
	if a := my - mx*float64(p.CompletionTokenLatency); a >= 0 {
		p.Latency = time.Duration(math.Round(a)).Round(time.Microsecond)
		return
	}
	perToken := mean(prm)*float64(p.PromptTokenLatency) + mx*float64(p.CompletionTokenLatency)
	k := mean(lat) / perToken
	p.Latency = 0
	p.PromptTokenLatency = time.Duration(math.Round(k * float64(p.PromptTokenLatency)))
	p.CompletionTokenLatency = time.Duration(math.Round(k * float64(p.CompletionTokenLatency)))
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Check compares, per model and family of the held-out records, their
// real accuracy with what the fitted and the base profiles expect. It
// leaves out the records of models the calibration did not fit and those
// Calibrate would skip. Its intervals are by question: the calls of one
// question (its samples, temperatures, agents) are not independent draws.
func (c *Calibration) Check(records []Record) []FamilyCheck {
	type acc struct {
		n, score, fitted, base float64
		// By question: calls and summed score; calls and summed P − score.
		qs, diffs map[string][2]float64
	}
	rows := map[[2]string]*acc{}
	var sk Skipped
	for i := range records {
		r := &records[i]
		if !c.names[r.Model] {
			continue
		}
		call, ok := classify(c.fitted, r, &sk)
		if !ok {
			continue
		}
		req := r.Request()
		eb, _ := c.base.Explain(req)
		k := [2]string{r.Model, call.q.Family}
		a := rows[k]
		if a == nil {
			a = &acc{qs: map[string][2]float64{}, diffs: map[string][2]float64{}}
			rows[k] = a
		}
		p := call.explain(paramsOf(call.pr, call.q)).P
		a.n++
		a.score += r.Score
		a.fitted += p
		a.base += eb.P
		qk := questionOf(r.Messages)
		q, d := a.qs[qk], a.diffs[qk]
		a.qs[qk] = [2]float64{q[0] + 1, q[1] + r.Score}
		a.diffs[qk] = [2]float64{d[0] + 1, d[1] + p - r.Score}
	}
	keys := slices.SortedFunc(maps.Keys(rows), func(a, b [2]string) int {
		return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]))
	})
	out := make([]FamilyCheck, 0, len(keys))
	for _, k := range keys {
		a := rows[k]
		fc := FamilyCheck{Model: k[0], Family: k[1], N: int(a.n), Questions: len(a.qs), Accuracy: a.score / a.n, Fitted: a.fitted / a.n, Base: a.base / a.n}
		fc.Diff = fc.Fitted - fc.Accuracy
		fitSE := 0.0
		for _, f := range c.Families {
			if f.Model == fc.Model && f.Family == fc.Family {
				fitSE = f.AccuracySE
			}
		}
		// Cluster-robust standard errors over the questions (NaN for one).
		fc.DiffSE = math.Hypot(clusterSE(a.diffs, fc.Diff, a.n), fitSE)
		if se := clusterSE(a.qs, fc.Accuracy, a.n); math.IsNaN(se) {
			fc.Lo, fc.Hi = wilson(fc.Accuracy, a.n)
		} else {
			fc.Lo, fc.Hi = max(fc.Accuracy-z975*se, 0), min(fc.Accuracy+z975*se, 1)
		}
		out = append(out, fc)
	}
	return out
}

const z975 = 1.959963984540054

// clusterSE is the standard error, by question, of the mean mean of n
// records grouped as qs (calls and summed value by question); NaN for
// fewer than two questions.
func clusterSE(qs map[string][2]float64, mean, n float64) float64 {
	if len(qs) < 2 {
		return math.NaN()
	}
	v := 0.0
	for _, q := range qs {
		v += (q[1] - q[0]*mean) * (q[1] - q[0]*mean)
	}
	nq := float64(len(qs))
	return math.Sqrt(v*nq/(nq-1)) / n
}

// wilson is the 95% Wilson score interval of a proportion p of n.
func wilson(p, n float64) (lo, hi float64) {
	const z = 1.959964
	d := 1 + z*z/n
	centre := (p + z*z/(2*n)) / d
	half := z * math.Sqrt(p*(1-p)/n+z*z/(4*n*n)) / d
	return max(centre-half, 0), min(centre+half, 1)
}

// SplitHeldOut splits records into those to fit and those held out (about
// frac of them) by their question (that of the last user message), so all
// the calls of one question fall on one side; the split is a pure function
// of seed and the questions, and keeps the records' order.
func SplitHeldOut(records []Record, frac float64, seed uint64) (fit, held []Record) {
	for _, r := range records {
		if uniform(hashString(questionOf(r.Messages), seed^saltHeldOut)) < frac {
			held = append(held, r)
		} else {
			fit = append(fit, r)
		}
	}
	return fit, held
}

const saltHeldOut = 0x48_656c_644f_7574

// questionOf is the question of the last user message (the whole message
// if it is not in lm/prompt's format).
func questionOf(msgs []lm.Message) string {
	user := ""
	for _, m := range msgs {
		if m.Role == lm.RoleUser {
			user = m.Content
		}
	}
	var p prompt.Prompt
	if prompt.ParseUser(user, &p) == nil {
		return p.Question
	}
	return user
}
