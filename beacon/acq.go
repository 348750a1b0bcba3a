package beacon

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// Acquisition functions.
const (
	LogEI = "logei" // log expected improvement (default)
	UCB   = "ucb"   // upper confidence bound μ + β·σ
	PI    = "pi"    // log probability of improvement
)

const (
	sqrt2     = math.Sqrt2
	lnSqrt2   = 0.34657359027997264 // ln √2
	lnSqrtPi2 = 0.91893853320467274 // ln √(2π)
)

// logH is log h(z), h(z) = φ(z) + z·Φ(z) = E[max(0, x + z)] for x ~
// N(0, 1), computed stably far below 0 (Ament et al. 2023), and
// r = Φ(z)/h(z) = d log h / dz.
func logH(z float64) (lh, r float64) {
	if z > -25 {
		cdf := 0.5 * math.Erfc(-z/sqrt2)
		pdf := math.Exp(-0.5*z*z) / math.Sqrt(2*math.Pi)
		h := z*cdf + pdf
		return math.Log(h), cdf / h
	}
	// Far below: h = φ(z)·(1/z² − 3/z⁴ + 15/z⁶ − 105/z⁸ + …) and
	// Φ = φ(z)·(−1/z + 1/z³ − 3/z⁵ + 15/z⁷ − …) (Mills' ratio).
	z2 := z * z
	hs := 1/z2 - 3/(z2*z2) + 15/(z2*z2*z2) - 105/(z2*z2*z2*z2)
	cs := -1/z + 1/(z*z2) - 3/(z*z2*z2) + 15/(z*z2*z2*z2)
	return -0.5*z2 - lnSqrtPi2 + math.Log(hs), cs / hs
}

// logPhi is log Φ(z) and φ(z)/Φ(z), stable far below 0.
func logPhi(z float64) (lp, r float64) {
	if z > -25 {
		cdf := 0.5 * math.Erfc(-z/sqrt2)
		return math.Log(cdf), math.Exp(-0.5*z*z) / math.Sqrt(2*math.Pi) / cdf
	}
	z2 := z * z
	cs := -1/z + 1/(z*z2) - 3/(z*z2*z2) + 15/(z*z2*z2*z2)
	return -0.5*z2 - lnSqrtPi2 + math.Log(cs), 1 / cs
}

// acq is an acquisition function of a fitted GP, to be maximised.
type acq struct {
	g    *gp
	kind string
	best float64 // the best (largest) standardised value seen
	beta float64 // UCB's β

	linv []float64 // L⁻¹, n×n row-major (lower triangular)

	// cost, when set, is a GP of the standardised log cost: the
	// acquisition is then per unit of predicted cost, its log less the
	// predicted log cost (costSD·μ_cost + costMean).
	cost             *gp
	costMean, costSD float64
	cgrad            []float64

	// scratch
	ks, dks, v, dist []float64 // dks: s·m'(r²) of each training point
	dmu, dvar        []float64
}

func newAcq(g *gp, kind string, best, beta float64) *acq {
	a := &acq{g: g, kind: kind, best: best, beta: beta,
		ks: make([]float64, g.n), dks: make([]float64, g.n), v: make([]float64, g.n), dist: make([]float64, g.d),
		dmu: make([]float64, g.d), dvar: make([]float64, g.d)}
	li := blas64.Triangular{Uplo: blas.Lower, Diag: blas.NonUnit, N: g.n, Stride: g.n, Data: make([]float64, g.n*g.n)}
	for i := range g.n {
		copy(li.Data[i*g.n:i*g.n+i+1], g.l.Data[i*g.l.Stride:i*g.l.Stride+i+1])
	}
	lapack64.Trtri(li) // L⁻¹ in place
	a.linv = li.Data
	return a
}

// clone is a with scratch space of its own, for another goroutine.
func (a *acq) clone() *acq {
	c := *a
	g := a.g
	c.ks, c.dks, c.v, c.dist = make([]float64, g.n), make([]float64, g.n), make([]float64, g.n), make([]float64, g.d)
	c.dmu, c.dvar = make([]float64, g.d), make([]float64, g.d)
	if a.cgrad != nil {
		c.cgrad = make([]float64, g.d)
	}
	return &c
}

// value is the acquisition at x; with grad non-nil it also fills the
// gradient with respect to x (zero on categorical dimensions).
func (a *acq) value(x, grad []float64) float64 {
	g := a.g
	mu := 0.0
	for i := range g.n {
		g.sqdiff(a.dist, x, g.row(i))
		r2 := 0.0
		for j, v := range a.dist {
			r2 += g.h.InvSqLengths[j] * v
		}
		k, dk := matern52(r2)
		a.ks[i], a.dks[i] = g.h.Scale*k, g.h.Scale*dk
		mu += a.ks[i] * g.alpha[i]
	}
	// v = L⁻¹ k*, σ² = s − |v|².
	blas64.Trmv(blas.NoTrans, blas64.Triangular{Uplo: blas.Lower, Diag: blas.NonUnit, N: g.n, Stride: g.n, Data: a.linv},
		blas64.Vector{N: g.n, Inc: 1, Data: copyTo(a.v, a.ks)})
	vv := 0.0
	for _, v := range a.v {
		vv += v * v
	}
	variance := max(g.h.Scale-vv, 1e-12)
	sd := math.Sqrt(variance)
	var val, dMu, dSd float64
	switch a.kind {
	case UCB:
		val, dMu, dSd = mu+a.beta*sd, 1, a.beta
	case PI:
		z := (mu - a.best) / sd
		lp, r := logPhi(z)
		val, dMu, dSd = lp, r/sd, -r*z/sd
	default:
		z := (mu - a.best) / sd
		lh, r := logH(z)
		val, dMu, dSd = math.Log(sd)+lh, r/sd, 1/sd-r*z/sd
	}
	if grad == nil {
		if a.cost != nil {
			val -= a.costSD*a.cost.meanGrad(x, nil, a.dist) + a.costMean
		}
		return val
	}
	// dk_i/dx_j = s·m'(r²)·λ_j·2(x_j − x_ij) on continuous dimensions; dσ²
	// = −2 (C⁻¹k*)ᵀ dk, with C⁻¹k* = L⁻ᵀ v.
	blas64.Trmv(blas.Trans, blas64.Triangular{Uplo: blas.Lower, Diag: blas.NonUnit, N: g.n, Stride: g.n, Data: a.linv},
		blas64.Vector{N: g.n, Inc: 1, Data: a.v})
	clear(a.dmu)
	clear(a.dvar)
	for i := range g.n {
		row := g.row(i)
		c := a.dks[i]
		for j := range g.d {
			if g.cat[j] {
				continue
			}
			d := c * g.h.InvSqLengths[j] * 2 * (x[j] - row[j])
			a.dmu[j] += g.alpha[i] * d
			a.dvar[j] -= 2 * a.v[i] * d
		}
	}
	for j := range g.d {
		grad[j] = dMu*a.dmu[j] + dSd*a.dvar[j]/(2*sd)
	}
	if a.cost != nil {
		val -= a.costSD*a.cost.meanGrad(x, a.cgrad, a.dist) + a.costMean
		for j := range grad {
			grad[j] -= a.costSD * a.cgrad[j]
		}
	}
	return val
}

func copyTo(dst, src []float64) []float64 { copy(dst, src); return dst }
