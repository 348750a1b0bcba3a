package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestErrDist: the tabulated error distribution is exact for one logistic
// draw (whose CDF is the sigmoid) and matches sampling for the sums the
// model draws.
func TestErrDist(t *testing.T) {
	one := newErrDist([]float64{1})
	worst := 0.0
	for x := -15.0; x <= 15; x += 0.0137 {
		worst = max(worst, math.Abs(one.cdf(x)-sigmoid(x)))
	}
	if worst > 1e-7 {
		t.Errorf("one logistic draw: CDF off the sigmoid by up to %.2g", worst)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, temp := range []float64{0, 0.7} {
		d := errDistAt(temp)
		ws := errWeights(temp)
		const n = 200000
		xs := make([]float64, n)
		for i := range xs {
			for _, w := range ws {
				u := r.Float64()
				xs[i] += w * math.Log(u/(1-u))
			}
		}
		slices.Sort(xs)
		for _, x := range []float64{-3, -1, -0.3, 0, 0.5, 2, 4} {
			emp := float64(sortSearch(xs, x)) / n
			if se := math.Sqrt(emp*(1-emp)/n) + 1e-6; math.Abs(d.cdf(x)-emp) > 4*se {
				t.Errorf("T=%g: P(ε < %g) = %.4f tabulated, %.4f sampled", temp, x, d.cdf(x), emp)
			}
		}
	}
}

func sortSearch(xs []float64, x float64) int {
	i, _ := slices.BinarySearch(xs, x)
	return i
}
