package beacon

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func randomGP(n, d int, cat []bool, seed uint64) *gp {
	r := rand.New(rand.NewPCG(seed, 1))
	g := &gp{n: n, d: d, x: make([]float64, n*d), y: make([]float64, n), cat: cat}
	for i := range g.x {
		g.x[i] = r.Float64()
		if cat[i%d] {
			g.x[i] = (float64(r.IntN(3)) + 0.5) / 3
		}
	}
	for i := range g.y {
		g.y[i] = math.Sin(6*g.x[i*d]) + 0.1*r.NormFloat64()
	}
	return g
}

// TestPosteriorClosedForm: on three points the posterior mean and variance
// equal k*ᵀC⁻¹y and k(x,x) − k*ᵀC⁻¹k*, computed by an explicit inverse.
func TestPosteriorClosedForm(t *testing.T) {
	g := &gp{n: 3, d: 1, x: []float64{0.1, 0.5, 0.9}, y: []float64{1, -1, 0.5}, cat: []bool{false}}
	h := Hyper{InvSqLengths: []float64{4}, Scale: 1.5, Noise: 0.01}
	if err := g.setHyper(h); err != nil {
		t.Fatal(err)
	}
	m := func(a, b float64) float64 { k, _ := matern52(4 * (a - b) * (a - b)); return 1.5 * k }
	c := mat.NewDense(3, 3, nil)
	for i := range 3 {
		for j := range 3 {
			c.Set(i, j, m(g.x[i], g.x[j]))
			if i == j {
				c.Set(i, j, c.At(i, j)+0.01)
			}
		}
	}
	var inv mat.Dense
	if err := inv.Inverse(c); err != nil {
		t.Fatal(err)
	}
	x := 0.3
	ks := mat.NewVecDense(3, []float64{m(x, 0.1), m(x, 0.5), m(x, 0.9)})
	var cy, ck mat.VecDense
	cy.MulVec(&inv, mat.NewVecDense(3, g.y))
	ck.MulVec(&inv, ks)
	wantMean, wantVar := mat.Dot(ks, &cy), 1.5-mat.Dot(ks, &ck)
	mean, v := g.posterior([]float64{x})
	if math.Abs(mean-wantMean) > 1e-10 || math.Abs(v-wantVar) > 1e-10 {
		t.Errorf("posterior (%v, %v), closed form (%v, %v)", mean, v, wantMean, wantVar)
	}
}

// TestLossGradient: the analytic gradient of the negative log posterior
// matches central finite differences, with continuous and categorical
// dimensions.
func TestLossGradient(t *testing.T) {
	g := randomGP(25, 3, []bool{false, true, false}, 3)
	raw := (&Hyper{InvSqLengths: []float64{2, 0.5, 7}, Scale: 0.8, Noise: 0.05}).raw()
	grad := make([]float64, len(raw))
	if _, err := g.loss(raw, grad); err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		const eps = 1e-6
		up, down := append([]float64(nil), raw...), append([]float64(nil), raw...)
		up[i] += eps
		down[i] -= eps
		fu, _ := g.loss(up, nil)
		fd, _ := g.loss(down, nil)
		if num := (fu - fd) / (2 * eps); math.Abs(num-grad[i]) > 1e-5*max(1, math.Abs(num)) {
			t.Errorf("d loss / d raw[%d]: analytic %v, numeric %v", i, grad[i], num)
		}
	}
}

// TestFitImproves: the MAP fit lowers the loss from its start and learns a
// short length scale for the dimension the data vary along.
func TestFitImproves(t *testing.T) {
	g := randomGP(40, 2, []bool{false, false}, 5)
	start := defaultHyper(2)
	f0, _ := g.loss(start.raw(), nil)
	if err := g.fit(start); err != nil {
		t.Fatal(err)
	}
	f1, _ := g.loss(g.h.raw(), nil)
	if !(f1 < f0) || !(g.h.InvSqLengths[0] > g.h.InvSqLengths[1]) {
		t.Errorf("loss %v → %v, hyper %+v", f0, f1, g.h)
	}
}
