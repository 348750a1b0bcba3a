package beacon

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// Sampler is BEACON's Bayesian optimiser as an optimizer.Sampler: a GP on
// the space's encoding fitted by maximum a posteriori, and the next point
// where the acquisition is largest. Its zero value is the default.
type Sampler struct {
	// Startup is the number of complete trials drawn at random before the
	// GP takes over; 0 means max(5, d+1), d the searched variables.
	Startup int `json:"startup,omitempty"`
	// Acquisition is LogEI (default), UCB or PI.
	Acquisition string `json:"acquisition,omitempty"`
	// Beta is UCB's exploration weight; 0 means 2.
	Beta float64 `json:"beta,omitempty"`
	// Candidates is the number of scrambled Halton points the acquisition
	// is screened on; 0 means a compute budget: 2,048 points (Optuna's
	// screen) while the model is small, fewer as it grows (each point costs
	// about n·(d + n/2) operations for n trials), down to 512, so that an
	// ask stays fast at a few hundred trials.
	Candidates int `json:"candidates,omitempty"`
	// LocalSearches is how many of the best points (the best candidates
	// and the best trial) the local search starts from; 0 means 4.
	LocalSearches int `json:"local_searches,omitempty"`
	// Liar is how running trials (asked, not told) enter the model:
	// "worst" (constant liar at the worst value seen, the default) or
	// "mean" (kriging believer: the GP's mean).
	Liar string `json:"liar,omitempty"`
	// CostAware divides the acquisition by the trial's predicted cost
	// (Trial.Cost, the nominal dollars): a second GP on the log cost of
	// the complete trials, whose mean is subtracted from the log
	// acquisition (expected improvement per unit of cost, in logs). It
	// needs every complete trial to have a positive cost; otherwise the
	// plain acquisition is used.
	CostAware bool `json:"cost_aware,omitempty"`
	// Deterministic fixes the noise variance at its floor (1e-6) instead of
	// fitting it, for an objective that gives the same value for the same
	// point (Optuna's deterministic_objective).
	Deterministic bool `json:"deterministic,omitempty"`
}

var (
	_ optimizer.Sampler     = Sampler{}
	_ optimizer.DataSampler = Sampler{}
)

// fill is the encoding of an inactive variable's dimensions: the middle,
// the same for every trial, so that an inactive variable adds no distance
// between two trials where it is inactive.
const fill = 0.5

// data is what the sampler keeps with each trial it proposes.
type data struct {
	// GP is the fitted hyperparameters (nil for a random start trial),
	// which the next ask starts its fit from; CostGP the cost model's.
	GP     *Hyper `json:"gp,omitempty"`
	CostGP *Hyper `json:"cost_gp,omitempty"`
	// Acquisition is the acquisition's value at the proposed point.
	Acquisition *float64 `json:"acquisition,omitempty"`
	// Random says the trial was a random start.
	Random bool `json:"random,omitempty"`
}

func (s Sampler) settings(d int) (Sampler, error) {
	if s.Startup < 0 || s.Candidates < 0 || s.LocalSearches < 0 || s.Beta < 0 {
		return s, errors.New("beacon: startup, candidates, local_searches and beta must not be negative")
	}
	if s.Startup == 0 {
		s.Startup = max(5, d+1)
	}
	if s.LocalSearches == 0 {
		s.LocalSearches = 4
	}
	if s.Beta == 0 {
		s.Beta = 2
	}
	switch s.Acquisition {
	case "":
		s.Acquisition = LogEI
	case LogEI, UCB, PI:
	default:
		return s, fmt.Errorf("beacon: acquisition %q is not %s, %s or %s", s.Acquisition, LogEI, UCB, PI)
	}
	switch s.Liar {
	case "":
		s.Liar = "worst"
	case "worst", "mean":
	default:
		return s, fmt.Errorf("beacon: liar %q is not worst or mean", s.Liar)
	}
	return s, nil
}

var _ optimizer.ConfigurableSampler = Sampler{}

// Configure implements optimizer.ConfigurableSampler: s with settings
// (the JSON names of its fields) applied.
func (s Sampler) Configure(settings map[string]any) (optimizer.Sampler, error) {
	if err := optimizer.DecodeSettings(settings, &s); err != nil {
		return nil, err
	}
	if _, err := s.settings(0); err != nil {
		return nil, err
	}
	return s, nil
}

// Sample implements optimizer.Sampler.
func (s Sampler) Sample(sp *space.Space, d optimizer.Direction, history []optimizer.Trial, r *rand.Rand) (space.Assignment, error) {
	a, _, err := s.SampleData(sp, d, history, r)
	return a, err
}

// SampleData implements optimizer.DataSampler: the next point, and the
// fitted hyperparameters to keep with it.
func (s Sampler) SampleData(sp *space.Space, dir optimizer.Direction, history []optimizer.Trial, r *rand.Rand) (space.Assignment, json.RawMessage, error) {
	enc := sp.Encoder(space.Encoding{Index: true, Fill: fill})
	dims := enc.Dims()
	s, err := s.settings(len(dims))
	if err != nil {
		return nil, nil, err
	}
	var done, running []optimizer.Trial
	for _, t := range history {
		switch {
		case t.State == optimizer.Complete && !math.IsNaN(t.Value) && !math.IsInf(t.Value, 0):
			done = append(done, t)
		case t.State == optimizer.Running:
			running = append(running, t)
		}
	}
	if len(done) < s.Startup || len(dims) == 0 {
		a, err := sp.Sample(r)
		if err != nil {
			return nil, nil, err
		}
		b, _ := json.Marshal(data{Random: true})
		return a, b, nil
	}
	g := &gp{n: len(done), d: len(dims), cat: make([]bool, len(dims)), exact: s.Deterministic}
	for i, dm := range dims {
		g.cat[i] = dm.Categorical || dm.Kind == space.KindBool
	}
	g.x = make([]float64, 0, (len(done)+len(running))*g.d)
	ys := make([]float64, len(done))
	for i, t := range done {
		g.x = append(g.x, enc.Encode(sp.Complete(t.Params))...)
		ys[i] = t.Value
		if dir == optimizer.Minimize {
			ys[i] = -t.Value
		}
	}
	g.y = standardise(ys)
	if err := g.fit(warmStart(history, g.d)); err != nil {
		a, serr := sp.Sample(r) // a degenerate model: fall back to a random point
		if serr != nil {
			return nil, nil, serr
		}
		b, _ := json.Marshal(data{Random: true})
		return a, b, nil
	}
	h := g.h
	best := slices.Max(g.y)
	bestX := slices.Clone(g.row(slices.Index(g.y, best)))
	if len(running) > 0 { // keep a batch apart: the running points enter with a lie
		lie := slices.Min(g.y)
		var lies []float64
		for _, t := range running {
			x := enc.Encode(sp.Complete(t.Params))
			if s.Liar == "mean" {
				lie, _ = g.posterior(x)
			}
			g.x = append(g.x, x...)
			lies = append(lies, lie)
		}
		g.y = append(g.y, lies...)
		g.n, g.sq = len(g.y), nil
		if err := g.setHyper(h); err != nil {
			return nil, nil, err
		}
	}
	if s.Candidates == 0 {
		s.Candidates = screenSize(g.n, g.d)
	}
	ac := newAcq(g, s.Acquisition, best, s.Beta)
	out := data{GP: &h}
	if s.CostAware {
		if cg, m, sd, ok := costModel(done, g, history); ok {
			ac.cost, ac.costMean, ac.costSD, ac.cgrad = cg, m, sd, make([]float64, g.d)
			out.CostGP = &cg.h
		}
	}
	x, v := s.maximise(ac, sp, enc, dims, bestX, r)
	a := sp.Complete(enc.Decode(x))
	if err := sp.Validate(a); err != nil {
		if a, err = sp.Sample(r); err != nil {
			return nil, nil, err
		}
	}
	out.Acquisition = &v
	b, err := json.Marshal(out)
	return a, b, err
}

// costModel fits a GP to the standardised log cost of the complete trials
// (the same points as g's first rows), warm-started from the latest stored
// cost fit; ok is false when a trial has no positive cost.
func costModel(done []optimizer.Trial, g *gp, history []optimizer.Trial) (*gp, float64, float64, bool) {
	ys := make([]float64, len(done))
	for i, t := range done {
		if !(t.Cost > 0) {
			return nil, 0, 0, false
		}
		ys[i] = math.Log(t.Cost)
	}
	m, sd := meanSD(ys)
	c := &gp{n: len(done), d: g.d, cat: g.cat, x: g.x[:len(done)*g.d], y: make([]float64, len(ys))}
	for i, y := range ys {
		c.y[i] = (y - m) / sd
	}
	start := defaultHyper(g.d)
	for i := len(history) - 1; i >= 0; i-- {
		var dt data
		if len(history[i].Data) > 0 && json.Unmarshal(history[i].Data, &dt) == nil && dt.CostGP != nil && dt.CostGP.valid(g.d) {
			start = *dt.CostGP
			break
		}
	}
	if c.fit(start) != nil {
		return nil, 0, 0, false
	}
	return c, m, sd, true
}

// standardise maps the signed values (larger is better) to what the GP
// fits: zero mean, unit variance. (Rank-to-normal and log warps were
// tried on the development functions and did worse.)
func standardise(ys []float64) []float64 {
	w := slices.Clone(ys)
	m, sd := meanSD(w)
	for i := range w {
		w[i] = (w[i] - m) / sd
	}
	return w
}

// screenSize is the default number of screened points for n trials in d
// dimensions: a budget of 10⁷ operations at about n·(d + n/2 + 10) a
// point, within [512, 2048].
func screenSize(n, d int) int {
	return min(max(10_000_000/(n*(d+n/2+10)), 512), 2048)
}

// warmStart is the hyperparameters of the latest trial that kept some of
// the right dimension (a pure function of the stored history).
func warmStart(history []optimizer.Trial, d int) Hyper {
	for i := len(history) - 1; i >= 0; i-- {
		var dt data
		if len(history[i].Data) > 0 && json.Unmarshal(history[i].Data, &dt) == nil && dt.GP != nil && dt.GP.valid(d) {
			return *dt.GP
		}
	}
	return defaultHyper(d)
}

func meanSD(xs []float64) (float64, float64) {
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	sd := math.Sqrt(v / float64(len(xs)))
	if !(sd > 1e-12) {
		sd = 1
	}
	return m, sd
}

// canon snaps x to the point it decodes to (grid values, categorical
// bins, fills of inactive variables), so the GP is asked only about
// points it could be told about; ok is false when that point breaks a
// constraint.
func canon(sp *space.Space, enc *space.Encoder, x []float64) ([]float64, bool) {
	a := sp.Complete(enc.Decode(x))
	if sp.Validate(a) != nil {
		return nil, false
	}
	return enc.Encode(a), true
}

// maximise searches the acquisition: a screen of scrambled Halton points,
// then local searches from the best of them and from the best trial,
// alternating projected L-BFGS on the continuous dimensions with exhaustive
// (up to 16 levels) or sampled line searches on the discrete ones.
func (s Sampler) maximise(ac *acq, sp *space.Space, enc *space.Encoder, dims []space.Dim, bestX []float64, r *rand.Rand) ([]float64, float64) {
	d := len(dims)
	type cand struct {
		x  []float64
		v  float64
		ok bool
	}
	pts := halton(s.Candidates, d, r)
	cands := make([]cand, s.Candidates)
	parallel(ac, s.Candidates, func(a *acq, i int) {
		if x, ok := canon(sp, enc, pts[i*d:(i+1)*d]); ok {
			cands[i] = cand{x, a.value(x, nil), true}
		}
	})
	cands = slices.DeleteFunc(cands, func(c cand) bool { return !c.ok })
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].v > cands[j].v })
	starts := [][]float64{bestX}
	for i := 0; i < len(cands) && len(starts) < s.LocalSearches+1; i++ {
		starts = append(starts, cands[i].x)
	}
	// Each local search draws from its own stream, seeded in order, so
	// the result does not depend on how they are scheduled.
	rngs := make([]*rand.Rand, len(starts))
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))
	}
	found := make([]cand, len(starts))
	parallel(ac, len(starts), func(a *acq, i int) {
		x, v := s.local(a, sp, enc, dims, slices.Clone(starts[i]), rngs[i])
		found[i] = cand{x, v, true}
	})
	var bx []float64
	bv := math.Inf(-1)
	if len(cands) > 0 {
		bx, bv = cands[0].x, cands[0].v
	}
	for _, f := range found { // in order: the first best wins
		if f.v > bv {
			bx, bv = f.x, f.v
		}
	}
	if bx == nil { // no candidate met the constraints
		bx = bestX
	}
	return bx, bv
}

// parallel runs work(a, i) for i in [0, n) on up to GOMAXPROCS goroutines,
// each with its own copy of the acquisition's scratch space.
func parallel(ac *acq, n int, work func(a *acq, i int)) {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 {
		for i := range n {
			work(ac, i)
		}
		return
	}
	var wg sync.WaitGroup
	for k := range w {
		a := ac
		if k > 0 {
			a = ac.clone()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < n; i += w {
				work(a, i)
			}
		}()
	}
	wg.Wait()
}

// local improves x by coordinate rounds until no round gains.
func (s Sampler) local(ac *acq, sp *space.Space, enc *space.Encoder, dims []space.Dim, x []float64, r *rand.Rand) ([]float64, float64) {
	x, ok := canon(sp, enc, x)
	if !ok {
		return x, math.Inf(-1)
	}
	v := ac.value(x, nil)
	cont := make([]bool, len(dims))
	anyCont := false
	for i, dm := range dims {
		cont[i] = dm.Kind == space.KindFloat && dm.Levels == 0 && !ac.g.cat[i]
		anyCont = anyCont || cont[i]
	}
	rounds := 3
	if !slices.Contains(cont, false) {
		rounds = 1 // only continuous dimensions: one quasi-Newton climb is the search
	}
	for range rounds {
		improved := false
		if anyCont {
			if nx, nv := quasiNewton(ac, sp, enc, cont, x, v); nv > v+1e-9 {
				x, v, improved = nx, nv, true
			}
		}
		for i, dm := range dims {
			if cont[i] {
				continue
			}
			levels := dm.Levels
			if dm.Kind == space.KindBool {
				levels = 2
			}
			var tries []float64
			if levels > 0 && levels <= 16 {
				for k := range levels {
					tries = append(tries, (float64(k)+0.5)/float64(levels))
				}
			} else {
				for range 8 {
					tries = append(tries, r.Float64())
				}
			}
			for _, u := range tries {
				y := slices.Clone(x)
				y[i] = u
				y, ok := canon(sp, enc, y)
				if !ok {
					continue
				}
				if yv := ac.value(y, nil); yv > v+1e-12 {
					x, v, improved = y, yv, true
				}
			}
		}
		if !improved {
			break
		}
	}
	return x, v
}

// halton returns n points of an Owen-scrambled Halton sequence in
// [0, 1]^d (row-major): dimension j is the radical inverse of the index
// in the j-th prime base with every digit permuted at random (a fresh
// permutation for each digit position), as gonum's samplemv.Halton does.
func halton(n, d int, r *rand.Rand) []float64 {
	out := make([]float64, n*d)
	for j := range d {
		b := primes[j%len(primes)]
		inv := 1 / float64(b)
		for div := 1; 1-inv < 1; div, inv = div*b, inv/float64(b) {
			perm := r.Perm(b)
			for i := range n {
				out[i*d+j] += float64(perm[(i/div)%b]) * inv
			}
		}
	}
	return out
}

var primes = []int{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
	101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193, 197, 199}

// quasiNewton climbs the acquisition along the continuous dimensions of x
// within [0, 1]: projected L-BFGS (memory 6) on the free dimensions (those
// not held at a bound by the gradient), with a backtracking Armijo line
// search, as scipy's L-BFGS-B does for Optuna. It stops when the projected
// gradient vanishes, an iteration gains less than 1e-9 relative, no step is
// accepted, or after 50 iterations.
func quasiNewton(ac *acq, sp *space.Space, enc *space.Encoder, cont []bool, x []float64, v float64) ([]float64, float64) {
	var idx []int
	for i, c := range cont {
		if c {
			idx = append(idx, i)
		}
	}
	k := len(idx)
	full := make([]float64, len(x))
	// Minimise f = −acquisition; g is its gradient on idx.
	f := -ac.value(x, full)
	g := make([]float64, k)
	for i, j := range idx {
		g[i] = -full[j]
	}
	const memory = 6
	var ss, ys [][]float64
	var rhos []float64
	p, q, alpha := make([]float64, k), make([]float64, k), make([]float64, memory)
	for range 50 {
		free := make([]bool, k)
		pg := 0.0
		for i, j := range idx {
			free[i] = !(x[j] <= 0 && g[i] > 0) && !(x[j] >= 1 && g[i] < 0)
			if free[i] {
				pg = max(pg, math.Abs(g[i]))
			}
		}
		if pg < 1e-10 {
			break
		}
		for i := range q {
			q[i] = 0
			if free[i] {
				q[i] = g[i]
			}
		}
		// The two-loop recursion: p = −H q.
		copy(p, q)
		for m := len(ss) - 1; m >= 0; m-- {
			alpha[m] = rhos[m] * dotFree(ss[m], p, free)
			for i := range p {
				if free[i] {
					p[i] -= alpha[m] * ys[m][i]
				}
			}
		}
		if n := len(ss); n > 0 {
			gamma := dotFree(ss[n-1], ys[n-1], free) / dotFree(ys[n-1], ys[n-1], free)
			if !(gamma > 0) || math.IsInf(gamma, 0) {
				gamma = 0.1 / pg
			}
			for i := range p {
				p[i] *= gamma
			}
		} else {
			for i := range p {
				p[i] *= 0.1 / pg // the first step moves 0.1 at most
			}
		}
		for m := range ss {
			b := rhos[m] * dotFree(ys[m], p, free)
			for i := range p {
				if free[i] {
					p[i] += ss[m][i] * (alpha[m] - b)
				}
			}
		}
		for i := range p {
			p[i] = -p[i]
			if !free[i] {
				p[i] = 0
			}
		}
		if dotFree(p, g, free) >= 0 { // not a descent direction: start the memory again
			ss, ys, rhos = nil, nil, nil
			for i := range p {
				p[i] = -q[i] * 0.1 / pg
			}
		}
		accepted := false
		var nx, ng []float64
		var nf float64
		for t := 1.0; t > 1e-6; t /= 2 {
			y := slices.Clone(x)
			for i, j := range idx {
				y[j] = min(max(x[j]+t*p[i], 0), 1)
			}
			y, ok := canon(sp, enc, y)
			if !ok {
				continue
			}
			yf := -ac.value(y, full)
			dec := 0.0
			for i, j := range idx {
				dec += g[i] * (y[j] - x[j])
			}
			if yf <= f+1e-4*dec && yf < f {
				nx, nf, accepted = y, yf, true
				ng = make([]float64, k)
				for i, j := range idx {
					ng[i] = -full[j]
				}
				break
			}
		}
		if !accepted {
			break
		}
		s, yv := make([]float64, k), make([]float64, k)
		for i, j := range idx {
			s[i], yv[i] = nx[j]-x[j], ng[i]-g[i]
		}
		if sy := dotFree(s, yv, nil); sy > 1e-12 {
			if len(ss) == memory {
				ss, ys, rhos = ss[1:], ys[1:], rhos[1:]
			}
			ss, ys, rhos = append(ss, s), append(ys, yv), append(rhos, 1/sy)
		}
		gain := f - nf
		x, f, g = nx, nf, ng
		if gain < 1e-9*max(1, math.Abs(f)) {
			break
		}
	}
	return x, -f
}

// dotFree is the dot product of a and b over the free dimensions (all
// when free is nil).
func dotFree(a, b []float64, free []bool) float64 {
	s := 0.0
	for i := range a {
		if free == nil || free[i] {
			s += a[i] * b[i]
		}
	}
	return s
}
