package evaluation

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// paretoBrute returns the front by the definition, O(n²): the points no
// other point dominates, the first of each equal (cost, score) pair.
func paretoBrute(pts []ParetoPoint) []ParetoPoint {
	var front []ParetoPoint
	for i, p := range pts {
		if math.IsNaN(p.Cost) || math.IsNaN(p.Score) {
			continue
		}
		kept := true
		for j, q := range pts {
			if math.IsNaN(q.Cost) || math.IsNaN(q.Score) {
				continue
			}
			dominates := q.Cost <= p.Cost && q.Score >= p.Score && (q.Cost < p.Cost || q.Score > p.Score)
			if dominates || j < i && q.Cost == p.Cost && q.Score == p.Score {
				kept = false
				break
			}
		}
		if kept {
			front = append(front, p)
		}
	}
	slices.SortFunc(front, func(a, b ParetoPoint) int {
		if a.Cost != b.Cost {
			return cmpFloat(a.Cost, b.Cost)
		}
		return cmpFloat(a.Score, b.Score)
	})
	return front
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// randomPoints draws n points with many ties (costs and scores from small
// grids), a few NaNs and infinities.
func randomPoints(r *rand.Rand, n, levels int) []ParetoPoint {
	pts := make([]ParetoPoint, n)
	for i := range pts {
		pts[i] = ParetoPoint{Cost: float64(r.IntN(levels)), Score: float64(r.IntN(levels)) / 4, Index: i}
		switch r.IntN(40) {
		case 0:
			pts[i].Cost = math.NaN()
		case 1:
			pts[i].Score = math.NaN()
		case 2:
			pts[i].Cost = math.Inf(1)
		case 3:
			pts[i].Score = math.Inf(-1)
		case 4:
			pts[i].Score = math.Inf(1)
		}
	}
	return pts
}

func checkFront(t *testing.T, pts []ParetoPoint) {
	t.Helper()
	orig := slices.Clone(pts)
	got := ParetoFront(pts)
	if !slices.EqualFunc(pts, orig, pointsEqual) {
		t.Fatalf("ParetoFront modified its input")
	}
	for k := 1; k < len(got); k++ {
		if !(got[k].Cost > got[k-1].Cost && got[k].Score > got[k-1].Score) {
			t.Fatalf("front not cost and score strictly increasing at %d: %v, %v", k, got[k-1], got[k])
		}
	}
	if want := paretoBrute(pts); !slices.EqualFunc(got, want, pointsEqual) {
		t.Fatalf("ParetoFront(%v)\n= %v\nwant %v", pts, got, want)
	}
}

func pointsEqual(a, b ParetoPoint) bool {
	same := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	return same(a.Cost, b.Cost) && same(a.Score, b.Score) && a.Index == b.Index
}

func TestParetoFrontRandom(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		for _, n := range []int{1, 2, 5, 30, 200} {
			for _, levels := range []int{2, 5, 50} {
				checkFront(t, randomPoints(r, n, levels))
			}
		}
	}
}

func TestParetoFrontEdges(t *testing.T) {
	if got := ParetoFront(nil); got != nil {
		t.Errorf("ParetoFront(nil) = %v, want nil", got)
	}
	nan := math.NaN()
	if got := ParetoFront([]ParetoPoint{{Cost: nan, Score: 1}, {Cost: 1, Score: nan}}); got != nil {
		t.Errorf("all NaN: %v, want nil", got)
	}
	dup := []ParetoPoint{{1, 2, 10}, {1, 2, 11}, {0, 1, 12}, {0, 1, 13}, {2, 2, 14}, {1, 2, 15}}
	want := []ParetoPoint{{0, 1, 12}, {1, 2, 10}}
	if got := ParetoFront(dup); !slices.Equal(got, want) {
		t.Errorf("duplicates: %v, want %v", got, want)
	}
	same := []ParetoPoint{{3, 3, 0}, {3, 3, 1}, {3, 3, 2}}
	if got := ParetoFront(same); !slices.Equal(got, same[:1]) {
		t.Errorf("all equal: %v, want %v", got, same[:1])
	}
	checkFront(t, dup)
}

func BenchmarkParetoFront(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		r := rand.New(rand.NewPCG(1, 1))
		pts := make([]ParetoPoint, n)
		for i := range pts {
			c := r.Float64()
			pts[i] = ParetoPoint{Cost: c, Score: math.Sqrt(c) - 0.3*r.Float64(), Index: i}
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				ParetoFront(pts)
			}
		})
	}
}
