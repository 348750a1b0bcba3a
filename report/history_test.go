package report

import (
	"math"
	"slices"
	"testing"
)

func TestHistoryBandsMedianAndSpread(t *testing.T) {
	// Three seeds whose best so far at x = 10 is 1, 3 and 5.
	runs := [][]Point{
		{{X: 2, Y: 0.5}, {X: 10, Y: 1}},
		{{X: 4, Y: 3}},
		{{X: 6, Y: 2}, {X: 8, Y: 5}, {X: 12, Y: 7}},
	}
	bands := historyBands(runs, 400)
	xs := make([]float64, len(bands))
	for i, b := range bands {
		xs[i] = b.X
	}
	if want := []float64{2, 4, 6, 8, 10, 12}; !slices.Equal(xs, want) {
		t.Fatalf("grid %v, want the union of the runs' x values %v", xs, want)
	}
	want := []band{
		{X: 2, Median: 0.5, Lo: 0.5, Hi: 0.5, N: 1}, // only the first run has started
		{X: 4, Median: 1.75, Lo: 0.5, Hi: 3, N: 2},  // even count: mean of the middle two
		{X: 6, Median: 2, Lo: 0.5, Hi: 3, N: 3},
		{X: 8, Median: 3, Lo: 0.5, Hi: 5, N: 3},
		{X: 10, Median: 3, Lo: 1, Hi: 5, N: 3}, // {1, 3, 5}
		{X: 12, Median: 3, Lo: 1, Hi: 7, N: 3}, // a run's last value holds after its end
	}
	for i, w := range want {
		if bands[i] != w {
			t.Errorf("at x = %v: got %+v, want %+v", w.X, bands[i], w)
		}
	}
}

func TestHistoryBandsBetweenPoints(t *testing.T) {
	// A grid point between a run's points takes the earlier point's value.
	runs := [][]Point{{{X: 0, Y: 1}, {X: 10, Y: 2}}, {{X: 5, Y: 4}}}
	b := historyBands(runs, 400)
	if len(b) != 3 || b[1].X != 5 || b[1].Lo != 1 || b[1].Hi != 4 || b[1].Median != 2.5 {
		t.Fatalf("got %+v", b)
	}
}

func TestHistoryBandsEqualX(t *testing.T) {
	// Points with equal X: the later one is the run's value there.
	runs := [][]Point{{{X: 1, Y: 1}, {X: 1, Y: 2}, {X: 3, Y: 2}}}
	b := historyBands(runs, 400)
	if len(b) != 2 || b[0].Median != 2 {
		t.Fatalf("got %+v, want value 2 at x = 1", b)
	}
}

func TestHistoryGridEvenlySpaced(t *testing.T) {
	var run []Point
	for i := range 1000 {
		run = append(run, Point{X: float64(i) * 1.5, Y: float64(i)})
	}
	runs := [][]Point{run, {{X: 3, Y: 10}}}
	grid := historyGrid(runs, 400)
	if len(grid) != 400 {
		t.Fatalf("%d grid points, want 400", len(grid))
	}
	if grid[0] != 0 || grid[399] != 999*1.5 {
		t.Errorf("grid spans [%v, %v], want [0, %v]", grid[0], grid[399], 999*1.5)
	}
	step := grid[1] - grid[0]
	for i := 1; i < len(grid); i++ {
		if d := grid[i] - grid[i-1]; math.Abs(d-step) > 1e-9 {
			t.Fatalf("uneven step %v at %d, want %v", d, i, step)
		}
	}
	// The values are still the step functions' own.
	b := historyBands(runs, 400)
	for _, bb := range b {
		k := math.Floor(bb.X/1.5 + 1e-9) // the first run's last point at or before x
		if bb.X >= 3 {
			if want := math.Max(k, 10); bb.Hi != want {
				t.Fatalf("at x = %v: max %v, want %v", bb.X, bb.Hi, want)
			}
		}
	}
}

func TestHistoryGridSmallUnion(t *testing.T) {
	runs := [][]Point{{{X: 3}, {X: 1}}, {{X: 2}, {X: 3}}} // order and repeats do not matter here
	if g := historyGrid(runs, 400); !slices.Equal(g, []float64{1, 2, 3}) {
		t.Fatalf("grid %v, want [1 2 3]", g)
	}
}

func TestBandOutline(t *testing.T) {
	bands := []band{{X: 0, Lo: 1, Hi: 2}, {X: 1, Lo: 3, Hi: 4}}
	got := bandOutline(bands)
	want := []Point{{0, 2}, {1, 2}, {1, 4}, {1, 3}, {1, 1}, {0, 1}}
	if len(got) != len(want) {
		t.Fatalf("outline %v, want %v", got, want)
	}
	for i := range want {
		if got[i].X != want[i].X || got[i].Y != want[i].Y {
			t.Fatalf("outline %v, want %v", got, want)
		}
	}
}
