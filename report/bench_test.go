package report

import (
	"testing"
	"time"
)

// renderBoth plots in and renders it as PNG and SVG, as the HTML report
// and Save would.
func renderBoth(tb testing.TB, in plotMaker) {
	p, err := in.Plot()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := render(p, "png", Width, Height); err != nil {
		tb.Fatal(err)
	}
	if _, err := SVG(p); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkHistory100k: 5 lines × 5 seeds × 4,000 trials, plotted and
// rendered as PNG and SVG.
func BenchmarkHistory100k(b *testing.B) {
	h := sampleHistory(5, 5, 4000)
	b.ResetTimer()
	for b.Loop() {
		renderBoth(b, h)
	}
}

// BenchmarkPareto100k: 100,000 trials with a front and three bests,
// plotted and rendered as PNG and SVG.
func BenchmarkPareto100k(b *testing.B) {
	pa := samplePareto(1000)
	pa.Points = paretoPoints(100_000)
	b.ResetTimer()
	for b.Loop() {
		renderBoth(b, pa)
	}
}

// BenchmarkHistoryBands is the grid and median computation alone, on
// 5 seeds × 4,000 trials.
func BenchmarkHistoryBands(b *testing.B) {
	runs := sampleHistory(1, 5, 4000).Lines[0].Runs
	for b.Loop() {
		historyBands(runs, historyGridMax)
	}
}

func paretoPoints(n int) []Point {
	var pts []Point
	src := samplePareto(2000).Points
	for i := range n {
		p := src[i%len(src)]
		p.X *= 1 + 0.001*float64(i%997)/997 // distinct points, same cloud
		pts = append(pts, p)
	}
	return pts
}

// TestLargeInputsFast guards the benchmarks' claim: the 100,000-trial
// history and Pareto plots each plot and render to PNG and SVG in well
// under a second (the limit here is loose for slow, shared machines and
// the race detector).
func TestLargeInputsFast(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("renders 200,000 points; timing is meaningless under the race detector")
	}
	pa := samplePareto(1000)
	pa.Points = paretoPoints(100_000)
	for _, in := range []plotMaker{sampleHistory(5, 5, 4000), pa} {
		start := time.Now()
		renderBoth(t, in)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%T: %v to plot and render, want well under a second", in, d)
		}
	}
}
