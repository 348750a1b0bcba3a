package evaluation

import (
	"cmp"
	"math"
	"slices"
)

// ParetoPoint is one trial's cost (lower is better) and score (higher is
// better), with an index back to the caller's data. The zero value is a
// point of cost 0 and score 0 at index 0.
type ParetoPoint struct {
	Cost, Score float64
	Index       int // position of the trial in the caller's data; ParetoFront only carries it along
}

// ParetoFront returns the non-dominated points of pts, cost ascending with
// score strictly increasing along the front. A point is dominated when
// another has cost <= and score >= with one of them strict. Of points with
// equal cost and score, which dominate none of each other, only the first in
// pts is kept, so the front has one point per (cost, score) pair. Points with
// a NaN cost or score are skipped; infinities are ordinary values. It returns
// a new slice (nil if no point remains) and leaves pts unchanged. O(n log n).
func ParetoFront(pts []ParetoPoint) []ParetoPoint {
	order := make([]int, 0, len(pts)) // positions of the points without NaN
	for i, p := range pts {
		if !math.IsNaN(p.Cost) && !math.IsNaN(p.Score) {
			order = append(order, i)
		}
	}
	// Cost ascending, score descending, then position, so the first of equal
	// points leads (pdqsort with a total order: O(n log n), unlike a stable sort).
	slices.SortFunc(order, func(i, j int) int {
		a, b := &pts[i], &pts[j]
		if c := cmp.Compare(a.Cost, b.Cost); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(i, j)
	})
	var front []ParetoPoint
	for _, i := range order {
		p := pts[i]
		// Every point before p costs no more, so p is on the front only if it
		// scores strictly more than all of them.
		if len(front) == 0 || p.Score > front[len(front)-1].Score {
			front = append(front, p)
		}
	}
	return front
}
