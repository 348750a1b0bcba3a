package beacon

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// hartmann6 is the 6-dimensional Hartmann function (minimum −3.32237).
func hartmann6(x []float64) float64 {
	a := [4][6]float64{{10, 3, 17, 3.5, 1.7, 8}, {0.05, 10, 17, 0.1, 8, 14}, {3, 3.5, 1.7, 10, 17, 8}, {17, 8, 0.05, 10, 0.1, 14}}
	p := [4][6]float64{{1312, 1696, 5569, 124, 8283, 5886}, {2329, 4135, 8307, 3736, 1004, 9991},
		{2348, 1451, 3522, 2883, 3047, 6650}, {4047, 8828, 8732, 5743, 1091, 381}}
	c := [4]float64{1, 1.2, 3, 3.2}
	s := 0.0
	for i := range 4 {
		e := 0.0
		for j := range 6 {
			d := x[j] - p[i][j]*1e-4
			e += a[i][j] * d * d
		}
		s -= c[i] * math.Exp(-e)
	}
	return s
}

// BenchmarkBeaconAsk is one ask after 200 told trials in 6 dimensions, the
// hyperparameter fit (warm-started from the previous trial's, as a stored
// study gives it) included. It reports the median ask and the split
// between the fit and the acquisition search.
func BenchmarkBeaconAsk(b *testing.B) {
	sp := space.MustNew(space.Float("x0", 0, 1), space.Float("x1", 0, 1), space.Float("x2", 0, 1),
		space.Float("x3", 0, 1), space.Float("x4", 0, 1), space.Float("x5", 0, 1))
	r := rand.New(rand.NewPCG(1, 2))
	hist := make([]optimizer.Trial, 200)
	for i := range hist {
		a, _ := sp.Sample(r)
		x := []float64{a.Float("x0"), a.Float("x1"), a.Float("x2"), a.Float("x3"), a.Float("x4"), a.Float("x5")}
		hist[i] = optimizer.Trial{Number: i, Params: a, State: optimizer.Complete, Value: hartmann6(x)}
	}
	// Trial 199 keeps the hyperparameters fitted on the 199 before it.
	_, d, err := Sampler{}.SampleData(sp, optimizer.Minimize, hist[:199], optimizer.TrialRand(0, 199))
	if err != nil {
		b.Fatal(err)
	}
	hist[199].Data = d
	var asks, fits, evals []float64
	for b.Loop() {
		start := time.Now()
		if _, _, err := (Sampler{}).SampleData(sp, optimizer.Minimize, hist, optimizer.TrialRand(0, 200)); err != nil {
			b.Fatal(err)
		}
		asks = append(asks, float64(time.Since(start).Microseconds())/1000)
		// The fit alone, on the same data from the same start.
		g := benchGP(sp, hist)
		var dt data
		_ = json.Unmarshal(d, &dt)
		start = time.Now()
		_ = g.fit(*dt.GP)
		fits = append(fits, float64(time.Since(start).Microseconds())/1000)
		evals = append(evals, float64(g.evals))
	}
	ask, fit := median(asks), median(fits)
	b.ReportMetric(ask, "ms/ask")
	b.ReportMetric(fit, "ms/fit")
	b.ReportMetric(ask-fit, "ms/acquisition")
	b.ReportMetric(median(evals), "evals/fit")
}

// benchGP is the GP SampleData builds from a history of complete trials.
func benchGP(sp *space.Space, hist []optimizer.Trial) *gp {
	enc := sp.Encoder(space.Encoding{Index: true, Fill: fill})
	d := enc.Dim()
	g := &gp{n: len(hist), d: d, cat: make([]bool, d)}
	ys := make([]float64, len(hist))
	for i, t := range hist {
		g.x = append(g.x, enc.Encode(t.Params)...)
		ys[i] = -t.Value
	}
	m, s := meanSD(ys)
	for _, y := range ys {
		g.y = append(g.y, (y-m)/s)
	}
	return g
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
