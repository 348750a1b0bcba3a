package evaluation

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/mabeam/mabeam/space"
)

// ImportanceTrial is one trial for parameter importance: its parameters and
// its value.
type ImportanceTrial struct {
	// Params maps variable names to values as a space.Assignment holds
	// them: float64 or int for float and int variables (an integral
	// float64, as JSON decodes it, also for an int variable), string for
	// choice and component variables, bool for bools. A variable absent
	// from Params is inactive in the trial; names the space does not search
	// (unknown, fixed, composite) are ignored. nil means no variable is
	// active.
	Params map[string]any
	// Value is the trial's objective value; NaN marks a trial without one
	// (failed or running), which is skipped. ImportanceOptions.Minimize
	// says which direction is better; the zero value 0 is a valid value.
	Value float64
}

// ImportanceOptions are the settings of ParamImportance. The zero value and
// nil select the defaults of PED-ANOVA.
type ImportanceOptions struct {
	// Quantile is γ', the share of best complete trials whose parameter
	// distribution is compared with that of all complete trials; it must be
	// in (0, 1]. 0 means 0.1 (the top 10%); 1 makes every importance 0.
	Quantile float64
	// Minimize makes lower values better; false (the zero value) makes
	// higher values better, as for scores.
	Minimize bool
	// MinTrials is the fewest complete trials (Value not NaN) to compute
	// importances from; fewer is ErrTooFewTrials. 0 means 10; it must not
	// be negative.
	MinTrials int
}

// ErrTooFewTrials reports a ParamImportance call with fewer complete trials
// than ImportanceOptions.MinTrials.
var ErrTooFewTrials = errors.New("evaluation: too few complete trials for parameter importance")

// ErrParamValue reports a trial parameter whose value does not fit its
// variable: a wrong type, an unknown choice or component, or a number that
// is not finite or lies outside the variable's bounds.
var ErrParamValue = errors.New("evaluation: bad parameter value")

// PED-ANOVA constants. The prior, the minimum top set and the kernel's
// smallest bandwidth follow Optuna's PedAnovaImportanceEvaluator; the grid
// is finer than its 50 steps.
const (
	pedCells        = 100        // grid cells over [0, 1] for continuous variables and stepped ones with more levels
	pedMinTop       = 2          // fewest trials in the top set, and fewest top trials a variable needs
	pedPrior        = 1.0        // weight, in trials, of the uniform prior mixed into every density
	pedMinBandwidth = 0.5 / 1.64 // kernel bandwidth floor in cells: 90% of a kernel's mass stays in its cell
)

// ParamImportance returns each searched variable's importance by PED-ANOVA
// (Watanabe et al., IJCAI 2023), by name, normalised to sum to 1 when any is
// positive (all 0 otherwise, e.g. when every value is equal). Fixed and
// composite variables are left out; a searched variable that can take only
// one value gets 0.
//
// The importance of a variable is the Pearson divergence
// ∫ (p_best/p_all − 1)² p_all between its marginal density among the top
// trials, p_best, and among all complete trials, p_all. The top trials are
// the ⌈γ'·n⌉ best of the n complete trials (at least 2), and every trial
// tied with the worst of them, so ties never depend on trial order.
// Densities are on the variable's [0, 1] encoding (space.Encoder): for
// numeric variables a Gaussian Parzen estimator with Scott's-rule bandwidth
// on a grid of up to 100 cells (one per level for stepped and int variables
// with at most 100 levels), each kernel truncated to [0, 1]; for choice,
// component and bool variables the option counts. Both mix in a uniform
// prior weighing as much as one trial.
//
// A trial counts for a variable only when the variable has a value in its
// Params, so a conditional variable's densities are over the complete, and
// the top, trials in which it is active; the top trials are chosen among all
// complete trials regardless. A variable active in fewer than 2 top trials
// gets 0: its values say nothing about what makes a trial good (whether it
// is active at all is its parents' importance).
//
// Trials whose Value is NaN are skipped. An error wraps ErrTooFewTrials, or
// ErrParamValue naming the trial (its index in trials) and the variable, or
// reports invalid options. o may be nil.
func ParamImportance(s *space.Space, trials []ImportanceTrial, o *ImportanceOptions) (map[string]float64, error) {
	q, minTrials, err := pedOptions(o)
	if err != nil {
		return nil, err
	}
	done := make([]int, 0, len(trials)) // indices of the complete trials
	for i := range trials {
		if !math.IsNaN(trials[i].Value) {
			done = append(done, i)
		}
	}
	if len(done) < minTrials {
		return nil, fmt.Errorf("%w: %d of %d trials have a value, need %d", ErrTooFewTrials, len(done), len(trials), minTrials)
	}

	enc := s.Encoder(space.Encoding{Index: true, Fill: math.NaN()})
	dims := enc.Dims() // one per searched variable, since choices are index-encoded
	vars := make([]pedVar, len(dims))
	for j, d := range dims {
		v, _ := s.Var(d.Var)
		vars[j] = newPedVar(v, d)
	}

	top := pedTop(trials, done, q, o != nil && o.Minimize)
	for k, i := range done {
		x := enc.Encode(space.Assignment(trials[i].Params))
		for j := range vars {
			pv := &vars[j]
			raw, ok := trials[i].Params[pv.v.Name]
			if !ok {
				continue // inactive: the trial does not count for this variable
			}
			if err := pv.check(raw, x[j]); err != nil {
				return nil, fmt.Errorf("%w: trial %d: variable %q: %s", ErrParamValue, i, pv.v.Name, err)
			}
			c := pv.cell(x[j])
			pv.all[c]++
			pv.nAll++
			if top[k] {
				pv.top[c]++
				pv.nTop++
			}
		}
	}

	out := make(map[string]float64, len(vars))
	sum := 0.0
	allTop := !slices.Contains(top, false)
	pAll := make([]float64, pedCells)
	pBest := make([]float64, pedCells)
	for j := range vars {
		pv := &vars[j]
		d := 0.0
		if !allTop && !pv.single && pv.nTop >= pedMinTop {
			pv.density(pAll, pv.all, pv.nAll)
			pv.density(pBest, pv.top, pv.nTop)
			for c := range pv.cells {
				e := pBest[c] - pAll[c]
				d += e * e / pAll[c]
			}
		}
		out[pv.v.Name] = d
		sum += d
	}
	if sum > 0 {
		for k := range out {
			out[k] /= sum
		}
	}
	return out, nil
}

// pedOptions returns the quantile and the minimum number of trials of o,
// defaults applied.
func pedOptions(o *ImportanceOptions) (q float64, minTrials int, err error) {
	q, minTrials = 0.1, 10
	if o == nil {
		return q, minTrials, nil
	}
	if o.Quantile != 0 {
		q = o.Quantile
	}
	if !(q > 0 && q <= 1) {
		return 0, 0, fmt.Errorf("evaluation: importance quantile %g not in (0, 1]", o.Quantile)
	}
	if o.MinTrials < 0 {
		return 0, 0, fmt.Errorf("evaluation: importance MinTrials %d is negative", o.MinTrials)
	}
	if o.MinTrials != 0 {
		minTrials = o.MinTrials
	}
	return q, minTrials, nil
}

// pedTop reports for each complete trial (done indexes trials) whether it is
// among the top q share, ties with the last included.
func pedTop(trials []ImportanceTrial, done []int, q float64, minimize bool) []bool {
	n := len(done)
	loss := make([]float64, n)
	for k, i := range done {
		loss[k] = trials[i].Value
		if !minimize {
			loss[k] = -loss[k]
		}
	}
	top := make([]bool, n)
	if n == 0 {
		return top
	}
	k := min(n, max(pedMinTop, int(math.Ceil(q*float64(n)-1e-9)))) // 1e-9: 0.1*300 must not round up to 31
	sorted := slices.Clone(loss)
	slices.Sort(sorted)
	cut := sorted[k-1]
	for i, l := range loss {
		top[i] = l <= cut
	}
	return top
}

// pedVar is one searched variable with its grid and counts.
type pedVar struct {
	v           space.Var
	categorical bool // choice, component or bool: counts, no kernel
	single      bool // the variable can take only one value
	cells       int  // grid cells (options for categorical variables)
	all, top    []float64
	nAll, nTop  float64
}

func newPedVar(v space.Var, d space.Dim) pedVar {
	pv := pedVar{v: v}
	switch {
	case v.Kind == space.KindBool:
		pv.categorical, pv.cells = true, 2
	case d.Categorical:
		pv.categorical, pv.cells = true, d.Levels
	case d.Levels > 0: // stepped numeric, ints included
		pv.cells = min(d.Levels, pedCells)
		pv.single = d.Levels == 1
	default:
		pv.cells = pedCells
		pv.single = v.Low == v.High
	}
	pv.single = pv.single || pv.cells == 1
	pv.all = make([]float64, pv.cells)
	pv.top = make([]float64, pv.cells)
	return pv
}

// check reports why raw, encoded as u, is not a valid value of the
// variable, or nil. The encoder leaves a value of the wrong type or an
// unknown option at the NaN fill and clamps numbers, so numbers are checked
// on raw.
func (pv *pedVar) check(raw any, u float64) error {
	if math.IsNaN(u) {
		return fmt.Errorf("%v (%T) is not a value of a %s variable", raw, raw, pv.v.Kind)
	}
	if pv.categorical {
		return nil
	}
	var f float64
	switch x := raw.(type) {
	case float64:
		f = x
		if pv.v.Kind == space.KindInt && x != math.Trunc(x) {
			return fmt.Errorf("%g is not an integer", x)
		}
	case int:
		f = float64(x)
	}
	if !(f >= pv.v.Low && f <= pv.v.High) { // also NaN
		return fmt.Errorf("%g outside [%g, %g]", f, pv.v.Low, pv.v.High)
	}
	return nil
}

// cell returns the grid cell of encoded value u in [0, 1]. Stepped values
// are encoded at the centres of equal bins, so with one cell per level each
// level falls in its own cell.
func (pv *pedVar) cell(u float64) int {
	return min(int(u*float64(pv.cells)), pv.cells-1)
}

// density writes into p[:pv.cells] the smoothed density of counts cnt, n in
// total: counts plus the prior for categorical variables, else the Parzen
// estimator with Gaussian kernels at the cell indices, each normalised over
// the grid (truncated to it), plus the prior.
func (pv *pedVar) density(p, cnt []float64, n float64) {
	m := pv.cells
	p = p[:m]
	norm := 1 / (n + pedPrior)
	prior := pedPrior * norm / float64(m)
	if pv.categorical {
		for c := range p {
			p[c] = cnt[c]*norm + prior
		}
		return
	}
	h := pedBandwidth(cnt, n)
	g := make([]float64, m) // g[d]: kernel at distance d cells
	for d := range g {
		z := float64(d) / h
		g[d] = math.Exp(-0.5 * z * z)
	}
	for c := range p {
		p[c] = prior
	}
	for c, k := range cnt {
		if k == 0 {
			continue
		}
		z := 0.0
		for j := range m {
			z += g[pedAbs(j-c)]
		}
		w := k * norm / z
		for j := range m {
			p[j] += w * g[pedAbs(j-c)]
		}
	}
}

// pedBandwidth returns the Gaussian kernel bandwidth, in cells, for counts
// cnt (n in total) by Scott's rule, 1.059·min(sd, IQR/1.34)·n^(-1/5) (the
// IQR term dropped when it is 0), at least pedMinBandwidth.
func pedBandwidth(cnt []float64, n float64) float64 {
	mean := 0.0
	for c, k := range cnt {
		mean += float64(c) * k
	}
	mean /= n
	ss := 0.0
	for c, k := range cnt {
		d := float64(c) - mean
		ss += k * d * d
	}
	sd := math.Sqrt(ss / math.Max(1, n-1))
	// Quartiles: the cells holding the trials of ranks ⌈n/4⌉ and ⌈3n/4⌉.
	q1, q3 := -1, -1
	r1, r3 := math.Max(1, math.Ceil(n/4)), math.Max(1, math.Ceil(3*n/4))
	cum := 0.0
	for c, k := range cnt {
		cum += k
		if q1 < 0 && cum >= r1 {
			q1 = c
		}
		if q3 < 0 && cum >= r3 {
			q3 = c
			break
		}
	}
	s := sd
	if iqr := float64(q3-q1) / 1.34; iqr > 0 {
		s = math.Min(s, iqr)
	}
	return math.Max(pedMinBandwidth, 1.059*s*math.Pow(n, -0.2))
}

func pedAbs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
