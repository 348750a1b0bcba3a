package sim

import (
	"math"
	"testing"
)

// clusterSE treats each question as one draw: the standard error of the
// mean over questions of sums, worked by hand.
func TestClusterSE(t *testing.T) {
	// Three questions of 2 calls each: sums 2, 0 and 1, so the mean is 0.5
	// and the question totals deviate by +1, −1 and 0 from 2·0.5.
	qs := map[string][2]float64{"a": {2, 2}, "b": {2, 0}, "c": {2, 1}}
	want := math.Sqrt((1+1+0)*3.0/2) / 6
	if got := clusterSE(qs, 0.5, 6); math.Abs(got-want) > 1e-15 {
		t.Errorf("clusterSE = %v, want %v", got, want)
	}
	if got := clusterSE(map[string][2]float64{"a": {3, 2}}, 2.0/3, 3); !math.IsNaN(got) {
		t.Errorf("one question: %v, want NaN", got)
	}
}
