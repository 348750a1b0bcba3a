package beacon

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/optimize"
)

// minNoise is the floor of the noise variance (Optuna's
// DEFAULT_MINIMUM_NOISE_VAR): the GP never interpolates exactly, which
// keeps the Cholesky factorisation stable.
const minNoise = 1e-6

// Hyper are a GP's hyperparameters: one inverse squared length scale per
// dimension, the kernel's scale (the prior variance of f) and the noise
// variance.
type Hyper struct {
	InvSqLengths []float64 `json:"inv_sq_lengths"`
	Scale        float64   `json:"scale"`
	Noise        float64   `json:"noise"`
}

// defaultHyper is where a fit starts without a previous fit (Optuna's
// defaults: every parameter 1).
func defaultHyper(d int) Hyper {
	h := Hyper{InvSqLengths: make([]float64, d), Scale: 1, Noise: 1}
	for i := range h.InvSqLengths {
		h.InvSqLengths[i] = 1
	}
	return h
}

// valid reports whether h has d dimensions and finite, positive values.
func (h *Hyper) valid(d int) bool {
	if len(h.InvSqLengths) != d || !(h.Scale > 0) || !(h.Noise >= minNoise) || math.IsInf(h.Scale, 0) || math.IsInf(h.Noise, 0) {
		return false
	}
	for _, l := range h.InvSqLengths {
		if !(l > 0) || math.IsInf(l, 0) {
			return false
		}
	}
	return true
}

// raw is h in the unconstrained coordinates the fit works in: log λ, log
// scale, log(noise − 0.99·minNoise) (Optuna's transform).
func (h *Hyper) raw() []float64 {
	d := len(h.InvSqLengths)
	r := make([]float64, d+2)
	for i, l := range h.InvSqLengths {
		r[i] = math.Log(l)
	}
	r[d] = math.Log(h.Scale)
	r[d+1] = math.Log(h.Noise - 0.99*minNoise)
	return r
}

func fromRaw(r []float64) Hyper {
	d := len(r) - 2
	h := Hyper{InvSqLengths: make([]float64, d)}
	for i := range d {
		h.InvSqLengths[i] = math.Exp(r[i])
	}
	h.Scale = math.Exp(r[d])
	h.Noise = math.Exp(r[d+1]) + minNoise
	return h
}

// matern52 is the Matérn-5/2 kernel as a function of the squared distance
// r2, and its derivative with respect to r2.
func matern52(r2 float64) (k, dk float64) {
	s := math.Sqrt(5 * r2)
	e := math.Exp(-s)
	return e * (5.0/3*r2 + s + 1), -5.0 / 6 * (s + 1) * e
}

// gp is an exact Gaussian process on points of [0, 1]^d, some dimensions
// categorical (their distance is 0 or 1, the Hamming distance), with
// outputs standardised by the caller.
type gp struct {
	n, d int
	x    []float64 // n×d, row-major
	y    []float64
	cat  []bool
	h    Hyper
	// exact fixes the noise at its floor (a deterministic objective, as
	// Optuna's deterministic_objective).
	exact bool

	l     blas64.Triangular // the Cholesky factor L of C = LLᵀ (lower)
	alpha []float64         // C⁻¹ y

	evals int // loss evaluations, for the benchmark

	// The factor and α of the latest loss evaluation with a gradient, at
	// hyperparameters lastH.
	last, lastAlpha []float64
	lastH           Hyper

	// Scratch of loss, reused across the evaluations of a fit: the
	// covariance matrix, and per pair the kernel and its derivative.
	covBuf, kBuf, dkBuf []float64

	// sq holds the per-dimension squared differences of every pair a ≤ b
	// of training points, in pair order, d values each: they do not depend
	// on the hyperparameters, so the fit computes them once.
	sq []float64
}

// pairs fills g.sq.
func (g *gp) pairs() {
	if g.sq != nil {
		return
	}
	g.sq = make([]float64, 0, g.n*(g.n+1)/2*g.d)
	buf := make([]float64, g.d)
	for a := range g.n {
		for b := a; b < g.n; b++ {
			g.sqdiff(buf, g.row(a), g.row(b))
			g.sq = append(g.sq, buf...)
		}
	}
}

// sqdist writes the per-dimension squared differences of rows a and b of
// x (or of a point and a row) into dst.
func (g *gp) sqdiff(dst, a, b []float64) {
	for i := range dst {
		v := a[i] - b[i]
		if g.cat[i] {
			if v != 0 {
				v = 1
			}
			dst[i] = v
			continue
		}
		dst[i] = v * v
	}
}

func (g *gp) row(i int) []float64 { return g.x[i*g.d : (i+1)*g.d] }

// kernel is k(a, b) under h, with the per-dimension squared differences
// left in buf.
func (g *gp) kernel(h *Hyper, a, b, buf []float64) float64 {
	g.sqdiff(buf, a, b)
	r2 := 0.0
	for i, v := range buf {
		r2 += h.InvSqLengths[i] * v
	}
	k, _ := matern52(r2)
	return h.Scale * k
}

// covariance returns C = K + noise·I under h (its lower triangle), and,
// when dk is not nil, fills k and dk with s·m(r²) and s·m'(r²) of every
// pair (pair order) for the gradient.
func (g *gp) covariance(h *Hyper, k, dk []float64) blas64.Symmetric {
	g.pairs()
	if len(g.covBuf) != g.n*g.n {
		g.covBuf = make([]float64, g.n*g.n)
	}
	c := blas64.Symmetric{Uplo: blas.Lower, N: g.n, Stride: g.n, Data: g.covBuf}
	g.rows(func(a0, a1 int) {
		p := pairIndex(g.n, a0)
		for a := a0; a < a1; a++ {
			for b := a; b < g.n; b++ {
				r2 := 0.0
				for i, v := range g.sq[p*g.d : (p+1)*g.d] {
					r2 += h.InvSqLengths[i] * v
				}
				kv, d := matern52(r2)
				v := h.Scale * kv
				if dk != nil {
					k[p], dk[p] = v, h.Scale*d
				}
				if a == b {
					v += h.Noise
				}
				c.Data[b*c.Stride+a] = v
				p++
			}
		}
	})
	return c
}

// pairIndex is the index of pair (a, a) in pair order.
func pairIndex(n, a int) int { return a*n - a*(a-1)/2 }

// rows runs f on two fixed ranges of rows holding about half of the pairs
// each, at once when there is more than one processor. The split does
// not depend on the processor count, so sums over it are the same
// everywhere.
func (g *gp) rows(f func(a0, a1 int)) {
	split := int(float64(g.n) * (1 - 1/math.Sqrt2))
	if g.n < 64 || runtime.GOMAXPROCS(0) == 1 {
		f(0, split)
		f(split, g.n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); f(0, split) }()
	f(split, g.n)
	wg.Wait()
}

// factor is the Cholesky factor of c (overwritten), with α = C⁻¹y and
// log det C.
func (g *gp) factor(c blas64.Symmetric) (l blas64.Triangular, alpha []float64, logdet float64, ok bool) {
	l, ok = lapack64.Potrf(c)
	if !ok {
		return l, nil, 0, false
	}
	for i := range g.n {
		v := l.Data[i*l.Stride+i]
		if !(v > 0) {
			return l, nil, 0, false
		}
		logdet += 2 * math.Log(v)
	}
	alpha = slices.Clone(g.y)
	solveChol(l, alpha)
	return l, alpha, logdet, true
}

// solveChol overwrites x with C⁻¹x, C = LLᵀ.
func solveChol(l blas64.Triangular, x []float64) {
	v := blas64.Vector{N: len(x), Inc: 1, Data: x}
	blas64.Trsv(blas.NoTrans, l, v)
	blas64.Trsv(blas.Trans, l, v)
}

var errNotPD = errors.New("beacon: covariance matrix is not positive definite")

// logPrior is Optuna's default prior on the hyperparameters and its
// gradient in raw coordinates: −Σ(0.1/λ + 0.1·λ) on the inverse squared
// length scales, Gamma(2, 1) on the scale and Gamma(1.1, 30) on the noise
// (constants dropped).
func logPrior(h *Hyper, grad []float64) float64 {
	d := len(h.InvSqLengths)
	lp := 0.0
	for i, l := range h.InvSqLengths {
		lp -= 0.1/l + 0.1*l
		grad[i] = 0.1/l - 0.1*l
	}
	lp += math.Log(h.Scale) - h.Scale
	grad[d] = 1 - h.Scale
	lp += 0.1*math.Log(h.Noise) - 30*h.Noise
	grad[d+1] = (h.Noise - minNoise) * (0.1/h.Noise - 30)
	return lp
}

// loss is the negative log marginal likelihood plus the negative log
// prior at raw, with its gradient; the marginal likelihood drops the
// constant n/2·log 2π.
func (g *gp) loss(raw, grad []float64) (float64, error) {
	g.evals++
	h := fromRaw(raw)
	if g.exact {
		h.Noise = minNoise
	}
	var dk []float64
	if grad != nil {
		if len(g.dkBuf) != g.n*(g.n+1)/2 {
			g.dkBuf, g.kBuf = make([]float64, g.n*(g.n+1)/2), make([]float64, 0, g.n*(g.n+1)/2)
		}
		dk = g.dkBuf
	}
	var kv []float64
	if grad != nil {
		kv = g.kBuf[:len(dk)]
	}
	c := g.covariance(&h, kv, dk)
	l, alpha, logdet, ok := g.factor(c)
	if !ok {
		return math.Inf(1), errNotPD
	}
	yy := 0.0
	for i, y := range g.y {
		yy += y * alpha[i]
	}
	mll := -0.5*logdet - 0.5*yy
	pg := make([]float64, g.d+2)
	lp := logPrior(&h, pg)
	if grad == nil {
		return -(mll + lp), nil
	}
	// Keep the factor (Potri overwrites it): a fit that ends here needs
	// no factorisation again (setHyper).
	g.last = g.last[:0]
	g.last = append(g.last, l.Data...)
	g.lastH, g.lastAlpha = h, alpha
	inv, ok := lapack64.Potri(l) // C⁻¹, its lower triangle
	if !ok {
		return math.Inf(1), errNotPD
	}
	// d mll / dθ = ½ Σ_ab W_ab ∂C_ab/∂θ, W = ααᵀ − C⁻¹; C = K + noise·I
	// with K_ab = s·m(r²_ab), so ∂K/∂log s = K, ∂K/∂log λ_i = s·m'·λ_i·D_abi.
	// Two partial sums over fixed halves of the pairs, added in order.
	var parts [2][]float64
	split := int(float64(g.n) * (1 - 1/math.Sqrt2))
	g.rows(func(a0, a1 int) {
		gl := make([]float64, g.d+2)
		p := pairIndex(g.n, a0)
		for a := a0; a < a1; a++ {
			for b := a; b < g.n; b++ {
				w := alpha[a]*alpha[b] - inv.Data[b*inv.Stride+a]
				if a == b {
					gl[g.d+1] += w * (h.Noise - minNoise)
				} else {
					w *= 2 // the symmetric pair
				}
				gl[g.d] += w * kv[p]
				wd := w * dk[p]
				for i, v := range g.sq[p*g.d : (p+1)*g.d] {
					gl[i] += wd * h.InvSqLengths[i] * v
				}
				p++
			}
		}
		if a0 < split {
			parts[0] = gl
		} else {
			parts[1] = gl
		}
	})
	gl := parts[0]
	for i, v := range parts[1] {
		gl[i] += v
	}
	for i := range grad {
		grad[i] = -(0.5*gl[i] + pg[i])
	}
	if g.exact {
		grad[g.d+1] = 0
	}
	return -(mll + lp), nil
}

// fit sets the hyperparameters by maximum a posteriori, starting from
// start (warm start; the default when it does not fit the data's
// dimensions), with L-BFGS on the analytic gradient, and factorises the
// covariance. A fit that fails keeps the start.
func (g *gp) fit(start Hyper) error {
	// L-BFGS's first step has unit length: from a warm start, near the
	// optimum, the coordinates are scaled so that it is 0.1 in log space.
	unit := 0.1
	if !start.valid(g.d) {
		start, unit = defaultHyper(g.d), 1
	}
	// The loss and its gradient come from one factorisation: a call for
	// either at the last point is served from the cache.
	var cz, cg []float64
	var cf float64
	eval := func(z []float64) (float64, []float64) {
		if cz == nil || !slices.Equal(z, cz) {
			cz, cg = slices.Clone(z), make([]float64, len(z))
			x := make([]float64, len(z))
			for i := range z {
				x[i] = z[i] * unit
			}
			var err error
			if cf, err = g.loss(x, cg); err != nil {
				clear(cg)
			}
			for i := range cg {
				cg[i] *= unit
			}
		}
		return cf, cg
	}
	z0 := start.raw()
	for i := range z0 {
		z0[i] /= unit
	}
	f0, _ := eval(z0)
	p := optimize.Problem{
		Func: func(z []float64) float64 { f, _ := eval(z); return f },
		Grad: func(grad, z []float64) { _, gr := eval(z); copy(grad, gr) },
	}
	// Converged when the gradient is small (Optuna's gtol, 1e-2 in log
	// coordinates) or an iteration gains less than 0.01 nats. A line search
	// that stalls still leaves its best point in res.
	res, _ := optimize.Minimize(p, z0, &optimize.Settings{
		GradientThreshold: 1e-2 * unit, MajorIterations: 200,
		Converger: &optimize.FunctionConverge{Absolute: 1e-2, Iterations: 1},
	}, &optimize.LBFGS{})
	h := start
	if res != nil && res.F < f0 {
		x := make([]float64, len(res.X))
		for i := range x {
			x[i] = res.X[i] * unit
		}
		if c := fromRaw(x); c.valid(g.d) {
			h = c
		}
	}
	if g.exact {
		h.Noise = minNoise
	}
	return g.setHyper(h)
}

// setHyper fixes the hyperparameters and factorises the covariance.
func (g *gp) setHyper(h Hyper) error {
	g.h = h
	if g.last != nil && len(g.last) == g.n*g.n && sameHyper(&h, &g.lastH) {
		g.l = blas64.Triangular{Uplo: blas.Lower, Diag: blas.NonUnit, N: g.n, Stride: g.n, Data: g.last}
		g.alpha, g.last = g.lastAlpha, nil
		return nil
	}
	g.last = nil
	l, alpha, _, ok := g.factor(g.covariance(&h, nil, nil))
	if !ok {
		return errNotPD
	}
	g.l, g.alpha = l, alpha
	g.covBuf = nil // g.l holds it now
	return nil
}

func sameHyper(a, b *Hyper) bool {
	return a.Scale == b.Scale && a.Noise == b.Noise && slices.Equal(a.InvSqLengths, b.InvSqLengths)
}

// posterior returns the mean and variance of f at x.
func (g *gp) posterior(x []float64) (mean, variance float64) {
	ks := make([]float64, g.n)
	buf := make([]float64, g.d)
	for i := range g.n {
		ks[i] = g.kernel(&g.h, x, g.row(i), buf)
		mean += ks[i] * g.alpha[i]
	}
	v := slices.Clone(ks)
	solveChol(g.l, v)
	variance = g.h.Scale
	for i, k := range ks {
		variance -= k * v[i]
	}
	return mean, max(variance, 0)
}

// meanGrad returns the posterior mean of f at x and fills grad with its
// gradient (zero on categorical dimensions); buf has d elements.
func (g *gp) meanGrad(x, grad, buf []float64) float64 {
	clear(grad)
	mean := 0.0
	for i := range g.n {
		row := g.row(i)
		g.sqdiff(buf, x, row)
		r2 := 0.0
		for j, v := range buf {
			r2 += g.h.InvSqLengths[j] * v
		}
		k, dk := matern52(r2)
		mean += g.h.Scale * k * g.alpha[i]
		if grad == nil {
			continue
		}
		c := g.alpha[i] * g.h.Scale * dk
		for j := range g.d {
			if !g.cat[j] {
				grad[j] += c * g.h.InvSqLengths[j] * 2 * (x[j] - row[j])
			}
		}
	}
	return mean
}
