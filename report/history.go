package report

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// History is the best-so-far validation score against LM calls (or
// nominal cost), one line per optimizer: the median over seeds, with a
// translucent band from the lowest to the highest seed at each x.
type History struct {
	// Title is the plot title; "" means "Best-so-far validation score
	// (median over seeds, band: min–max)".
	Title string
	// XLabel is the x-axis label with its unit, e.g. "LM calls" or
	// "nominal cost (US$)"; "" means "LM calls".
	XLabel string
	// YLabel is the y-axis label; "" means "validation score (best so far)".
	YLabel string
	// Lines are the optimizers, drawn in this order with the palette's
	// colours; at least one is required.
	Lines []HistoryLine
}

// HistoryLine is one optimizer's runs.
type HistoryLine struct {
	// Name is the legend entry; "" means "line N" (1-based).
	Name string
	// Runs holds one run per seed: the best so far after each trial, X
	// ascending (cumulative LM calls or cost; equal X allowed, the later
	// point wins) and Y the best score so far. A run with no points is
	// left out; a line needs at least one point.
	Runs [][]Point
}

// historyGridMax is the most x values of a line's grid: a line whose runs
// have more distinct x values is evaluated at this many evenly spaced ones.
const historyGridMax = 400

// band is the summary of a line's runs at one x of its grid.
type band struct {
	X, Median, Lo, Hi float64
	N                 int // runs defined at X (those whose first point is at or before X)
}

// Plot draws the history. It returns an *InputError when there are no
// lines, a line has no points, a value is not finite or a run's X
// decreases.
func (h *History) Plot() (*plot.Plot, error) {
	const kind = "history"
	if h == nil {
		return nil, invalid(kind, "", "nil History")
	}
	if len(h.Lines) == 0 {
		return nil, invalid(kind, "Lines", "no lines to draw")
	}
	for i, l := range h.Lines {
		if err := checkRuns(l.Runs, fmt.Sprintf("Lines[%d]", i)); err != nil {
			return nil, err
		}
	}
	p := newPlot(or(h.Title, "Best-so-far validation score (median over seeds, band: min–max)"),
		or(h.XLabel, "LM calls"), or(h.YLabel, "validation score (best so far)"))
	p.Add(lightGrid(true, true))
	leg := newSideLegend()
	var lines []plot.Plotter // drawn over every band
	for i, l := range h.Lines {
		bands := historyBands(l.Runs, historyGridMax)
		col := seriesColor(i)
		ls := draw.LineStyle{Color: col, Width: vg.Points(1.6), Dashes: seriesDashes(i)}
		med := make(plotter.XYs, len(bands))
		spread := false
		for j, b := range bands {
			med[j] = plotter.XY{X: b.X, Y: b.Median}
			spread = spread || b.Hi > b.Lo
		}
		var thumbs []plot.Thumbnailer
		if spread {
			poly, err := plotter.NewPolygon(bandOutline(bands))
			if err != nil {
				return nil, fmt.Errorf("report: history: band of line %d: %w", i, err)
			}
			poly.Color = withAlpha(col, 0.18)
			poly.LineStyle.Width = 0
			p.Add(poly)
			thumbs = append(thumbs, boxThumb(poly.Color))
		}
		if len(med) == 1 { // a single x: a line would be invisible
			s, err := plotter.NewScatter(med)
			if err != nil {
				return nil, fmt.Errorf("report: history: line %d: %w", i, err)
			}
			s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			lines = append(lines, s)
		} else {
			ln, err := plotter.NewLine(med)
			if err != nil {
				return nil, fmt.Errorf("report: history: line %d: %w", i, err)
			}
			ln.LineStyle = ls
			ln.StepStyle = plotter.PostStep
			lines = append(lines, ln)
		}
		thumbs = append(thumbs, lineThumb(ls))
		leg.add(fmt.Sprintf("%s (%s)", or(l.Name, fmt.Sprintf("line %d", i+1)), seedCount(l.Runs)), thumbs...)
	}
	p.Add(lines...)
	p.Add(leg) // even for one line: it names the optimizer and its seeds
	return p, nil
}

func seedCount(runs [][]Point) string {
	n := 0
	for _, r := range runs {
		if len(r) > 0 {
			n++
		}
	}
	if n == 1 {
		return "1 seed"
	}
	return fmt.Sprintf("%d seeds", n)
}

// checkRuns reports runs that cannot be drawn: no points at all, a value
// that is not finite, an X that decreases.
func checkRuns(runs [][]Point, field string) error {
	n := 0
	for r, run := range runs {
		for k, pt := range run {
			f := fmt.Sprintf("%s.Runs[%d][%d]", field, r, k)
			if !finite(pt.X) || !finite(pt.Y) {
				return invalid("history", f, "point (%v, %v) is not finite", pt.X, pt.Y)
			}
			if k > 0 && pt.X < run[k-1].X {
				return invalid("history", f+".X", "%v after %v: X must be ascending", pt.X, run[k-1].X)
			}
		}
		n += len(run)
	}
	if n == 0 {
		return invalid("history", field+".Runs", "no points in any run")
	}
	return nil
}

// historyGrid returns the x values at which a line's runs are summarised:
// the sorted union of their x values, or, when that has more than max
// values, max evenly spaced values from the smallest x to the largest.
func historyGrid(runs [][]Point, max int) []float64 {
	total := 0
	for _, r := range runs {
		total += len(r)
	}
	xs := make([]float64, 0, total)
	for _, r := range runs {
		for _, pt := range r {
			xs = append(xs, pt.X)
		}
	}
	if len(xs) == 0 {
		return nil
	}
	slices.Sort(xs)
	xs = slices.Compact(xs)
	if len(xs) <= max || max < 2 {
		return xs
	}
	lo, hi := xs[0], xs[len(xs)-1]
	grid := xs[:max]
	for i := range grid {
		grid[i] = lo + (hi-lo)*float64(i)/float64(max-1)
	}
	grid[max-1] = hi // exact, whatever the rounding
	return grid
}

// historyBands evaluates each run's best-so-far step function on the grid
// of historyGrid (a run's value at x is its last point with X <= x,
// undefined before its first point) and returns the median, minimum and
// maximum of the runs defined at each x. The median of an even count is the
// mean of the middle two. Every grid x has at least one run defined, since
// the grid starts at the smallest first x.
func historyBands(runs [][]Point, max int) []band {
	grid := historyGrid(runs, max)
	out := make([]band, len(grid))
	idx := make([]int, len(runs)) // per run: points at or before the current x
	vals := make([]float64, 0, len(runs))
	for g, x := range grid {
		vals = vals[:0]
		for r, run := range runs {
			k := idx[r]
			for k < len(run) && run[k].X <= x {
				k++
			}
			idx[r] = k
			if k > 0 {
				vals = append(vals, run[k-1].Y)
			}
		}
		slices.Sort(vals)
		b := band{X: x, N: len(vals), Median: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
		if n := len(vals); n > 0 {
			b.Lo, b.Hi = vals[0], vals[n-1]
			if n%2 == 1 {
				b.Median = vals[n/2]
			} else {
				b.Median = (vals[n/2-1] + vals[n/2]) / 2
			}
		}
		out[g] = b
	}
	return out
}

// bandOutline is the polygon of the min..max band drawn as steps like the
// median: along the maxima left to right, back along the minima.
func bandOutline(bands []band) plotter.XYs {
	n := len(bands)
	pts := make(plotter.XYs, 0, 4*n)
	for i, b := range bands {
		pts = append(pts, plotter.XY{X: b.X, Y: b.Hi})
		if i+1 < n {
			pts = append(pts, plotter.XY{X: bands[i+1].X, Y: b.Hi})
		}
	}
	for i := n - 1; i >= 0; i-- {
		b := bands[i]
		if i+1 < n {
			pts = append(pts, plotter.XY{X: bands[i+1].X, Y: b.Lo})
		}
		pts = append(pts, plotter.XY{X: b.X, Y: b.Lo})
	}
	return pts
}
