package beacon

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLogEI: exp(log h) equals φ(z) + zΦ(z) where that is accurate, the
// two branches meet at z = −25, and log h stays finite and increasing far
// below, where EI itself underflows to 0.
func TestLogEI(t *testing.T) {
	for z := -20.0; z <= 6; z += 0.25 {
		cdf := 0.5 * math.Erfc(-z/math.Sqrt2)
		pdf := math.Exp(-0.5*z*z) / math.Sqrt(2*math.Pi)
		want := z*cdf + pdf
		lh, r := logH(z)
		if got := math.Exp(lh); math.Abs(got-want) > 1e-9*want {
			t.Errorf("z %v: exp(log h) %v, h %v", z, got, want)
		}
		if math.Abs(r-cdf/want) > 1e-8*cdf/want {
			t.Errorf("z %v: Φ/h %v, want %v", z, r, cdf/want)
		}
	}
	a, _ := logH(-25 + 1e-9)
	b, _ := logH(-25 - 1e-9)
	if math.Abs(a-b) > 1e-6 {
		t.Errorf("the branches disagree at −25: %v vs %v", a, b)
	}
	prev := math.Inf(-1)
	for _, z := range []float64{-1e4, -1e3, -300, -100, -40, -26} {
		lh, r := logH(z)
		if math.IsInf(lh, 0) || math.IsNaN(lh) || !(lh > prev) || math.IsNaN(r) {
			t.Errorf("z %v: log h %v (previous %v), ratio %v", z, lh, prev, r)
		}
		prev = lh
	}
}

// TestAcqGradient: each acquisition's gradient with respect to the point
// matches central finite differences on continuous dimensions.
func TestAcqGradient(t *testing.T) {
	g := randomGP(30, 3, []bool{false, true, false}, 9)
	if err := g.setHyper(Hyper{InvSqLengths: []float64{3, 1, 5}, Scale: 1.2, Noise: 0.01}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	cost := randomGP(30, 3, []bool{false, true, false}, 9)
	for i := range cost.y {
		cost.y[i] = math.Cos(4 * cost.x[i*3+2])
	}
	if err := cost.setHyper(Hyper{InvSqLengths: []float64{1, 1, 2}, Scale: 1, Noise: 0.01}); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{LogEI, UCB, PI, "cost-aware"} {
		a := newAcq(g, kind, 1.5, 2)
		if kind == "cost-aware" { // log EI per unit of predicted cost
			a = newAcq(g, LogEI, 1.5, 2)
			a.cost, a.costMean, a.costSD, a.cgrad = cost, 0.3, 1.7, make([]float64, 3)
		}
		for range 5 {
			x := []float64{r.Float64(), 0.5 / 3, r.Float64()}
			grad := make([]float64, 3)
			v := a.value(x, grad)
			if a.cost != nil { // the log acquisition less the predicted log cost
				cm, _ := cost.posterior(x)
				if plain := newAcq(g, LogEI, 1.5, 2).value(x, nil); math.Abs(v-(plain-1.7*cm-0.3)) > 1e-9 {
					t.Errorf("cost-aware %v, log EI %v, predicted log cost %v", v, plain, 1.7*cm+0.3)
				}
			}
			for _, j := range []int{0, 2} {
				const eps = 1e-6
				up, down := append([]float64(nil), x...), append([]float64(nil), x...)
				up[j] += eps
				down[j] -= eps
				num := (a.value(up, nil) - a.value(down, nil)) / (2 * eps)
				if math.Abs(num-grad[j]) > 1e-4*max(1, math.Abs(num)) {
					t.Errorf("%s at %v: d/dx%d analytic %v, numeric %v", kind, x, j, grad[j], num)
				}
			}
		}
	}
}
