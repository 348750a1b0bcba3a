package simba

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTopKPlusBaseline(t *testing.T) {
	// The baseline (0) scores lowest here, so it is forced in as the last
	// of the top k; ties keep pool order.
	p := &pool{means: []float64{0, 0.5, 0.9, 0.5, 0.7}}
	if got := p.topKPlusBaseline(3); !slices.Equal(got, []int{2, 4, 0}) {
		t.Errorf("top 3 = %v, want [2 4 0]", got)
	}
	if got := p.topKPlusBaseline(10); !slices.Equal(got, []int{2, 4, 1, 3, 0}) {
		t.Errorf("top 10 = %v, want [2 4 1 3 0]", got)
	}
	if got := (&pool{means: []float64{0.3}}).topKPlusBaseline(6); !slices.Equal(got, []int{0}) {
		t.Errorf("baseline alone: %v", got)
	}
}

// TestSoftmaxFrequencies holds the pick frequencies to the formula
// exp(s/T)/Σ, each within 4 standard errors over 200,000 picks.
func TestSoftmaxFrequencies(t *testing.T) {
	p := &pool{means: []float64{0, 0.6, 0.8, 0.3}}
	ids := []int{0, 1, 2, 3}
	const temp, n = 0.2, 200000
	r := rand.New(rand.NewPCG(11, 12))
	count := map[int]int{}
	for range n {
		count[p.softmaxPick(r, ids, temp)]++
	}
	sum := 0.0
	for _, i := range ids {
		sum += math.Exp(p.avg(i) / temp)
	}
	for _, i := range ids {
		want := math.Exp(p.avg(i)/temp) / sum
		got := float64(count[i]) / n
		if se := math.Sqrt(want * (1 - want) / n); math.Abs(got-want) > 4*se {
			t.Errorf("program %d picked %.4f of the time, formula says %.4f (se %.4f)", i, got, want, se)
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{4, 1, 3, 2} // NumPy: percentile([1,2,3,4], 10) = 1.3, 90 → 3.7
	if got := percentile(xs, 10); math.Abs(got-1.3) > 1e-12 {
		t.Errorf("p10 = %g, want 1.3", got)
	}
	if got := percentile(xs, 90); math.Abs(got-3.7) > 1e-12 {
		t.Errorf("p90 = %g, want 3.7", got)
	}
	if xs[0] != 4 {
		t.Error("percentile sorted its argument")
	}
}

func TestOrderBuckets(t *testing.T) {
	scores := [][]float64{
		{1, 1, 1},   // gap 0
		{1, 0, 0},   // gap 1, max 1, toAvg 2/3
		{1, 1, 0},   // gap 1, max 1, toAvg 1/3
		{0.5, 0, 0}, // gap 0.5
		{1, 0, 0},   // ties with 1: stays after it
	}
	if got := orderBuckets(scores); !slices.Equal(got, []int{1, 4, 2, 3, 0}) {
		t.Errorf("bucket order %v, want [1 4 2 3 0]", got)
	}
}

func TestDemosToDrop(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	if got := demosToDrop(r, 0, 4); len(got) != 0 {
		t.Errorf("no demos: dropped %v", got)
	}
	sum := 0
	const n = 20000
	for range n {
		for _, c := range []struct{ d, cap int }{{2, 4}, {4, 4}, {6, 4}, {3, 0}} {
			got := demosToDrop(r, c.d, c.cap)
			eff, lo := c.cap, 0
			if eff == 0 {
				eff = 3 // DSPy's cap when max_demos is 0
			}
			if c.d >= eff {
				lo = 1
			}
			if len(got) < lo || len(got) > c.d {
				t.Fatalf("D=%d cap=%d: dropped %d, want %d..%d", c.d, c.cap, len(got), lo, c.d)
			}
			for _, i := range got {
				if i < 0 || i >= c.d {
					t.Fatalf("D=%d: index %d out of range", c.d, i)
				}
			}
			if c.d == 2 {
				sum += len(got)
			}
		}
	}
	// D=2, cap 4: k = min(Poisson(0.5), 2): mean 0.5 − P(k≥3 clipped) ≈ 0.4883.
	want := 0.0
	for k := 0; k <= 30; k++ {
		pk := math.Exp(-0.5) * math.Pow(0.5, float64(k)) / math.Gamma(float64(k+1))
		want += pk * float64(min(k, 2))
	}
	if got := float64(sum) / n; math.Abs(got-want) > 0.02 {
		t.Errorf("mean drop at D=2 %.4f, want %.4f", got, want)
	}
}

func TestFinalIndices(t *testing.T) {
	for _, c := range []struct {
		m, n int
		want []int
	}{
		{8, 7, []int{0, 1, 3, 4, 5, 7, 8}}, // DSPy's defaults: 9 winners, 7 candidates
		{0, 7, []int{0}},
		{2, 7, []int{0, 1, 2}},
		{5, 3, []int{0, 2, 5}}, // 2.5 rounds half to even: 2 (math.Round would give 3)
		{3, 3, []int{0, 2, 3}},
	} {
		if got := finalIndices(c.m, c.n); !slices.Equal(got, c.want) {
			t.Errorf("finalIndices(%d, %d) = %v, want %v", c.m, c.n, got, c.want)
		}
	}
}
