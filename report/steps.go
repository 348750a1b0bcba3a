package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Steps is SIMBA's step log: the candidate scores of each step as dots
// (spread a little sideways so that equal scores stay visible) and the
// best so far as a line.
type Steps struct {
	// Title is the plot title; "" means "SIMBA steps".
	Title string
	// XLabel is the x-axis label; "" means "SIMBA step".
	XLabel string
	// YLabel is the y-axis label; "" means "score (mini-batch)".
	YLabel string
	// Steps are the steps in any order, Step numbers unique; at least one
	// score or best is required.
	Steps []Step
}

// Step is one step of the log.
type Step struct {
	// Step is the step number (the x position).
	Step int
	// Scores are the candidates' scores, finite; nil means none.
	Scores []float64
	// Best is the best score so far; NaN means unknown (the line has a gap).
	Best float64
}

// Plot draws the steps. It returns an *InputError when there are no steps,
// a step number repeats, a score is not finite or a best is infinite, or
// there is nothing to draw.
func (s *Steps) Plot() (*plot.Plot, error) {
	const kind = "steps"
	if s == nil {
		return nil, invalid(kind, "", "nil Steps")
	}
	if len(s.Steps) == 0 {
		return nil, invalid(kind, "Steps", "no steps to draw")
	}
	seen := make(map[int]int, len(s.Steps))
	some := false
	for i, st := range s.Steps {
		f := fmt.Sprintf("Steps[%d]", i)
		if j, dup := seen[st.Step]; dup {
			return nil, invalid(kind, f+".Step", "step %d repeats Steps[%d]", st.Step, j)
		}
		seen[st.Step] = i
		for k, v := range st.Scores {
			if !finite(v) {
				return nil, invalid(kind, fmt.Sprintf("%s.Scores[%d]", f, k), "%v is not finite", v)
			}
		}
		if math.IsInf(st.Best, 0) {
			return nil, invalid(kind, f+".Best", "%v is infinite", st.Best)
		}
		some = some || len(st.Scores) > 0 || !math.IsNaN(st.Best)
	}
	if !some {
		return nil, invalid(kind, "Steps", "no scores and no bests")
	}
	steps := slices.Clone(s.Steps)
	slices.SortFunc(steps, func(a, b Step) int { return cmp.Compare(a.Step, b.Step) })

	p := newPlot(or(s.Title, "SIMBA steps"), or(s.XLabel, "SIMBA step"), or(s.YLabel, "score (mini-batch)"))
	p.Add(lightGrid(false, true))
	p.X.Tick.Marker = integerTicks{}
	leg := newSideLegend()

	var dots plotter.XYs
	for _, st := range steps {
		n := len(st.Scores)
		spread := math.Min(0.5, 0.08*float64(n-1)) // the width of a step's dots
		for k, v := range st.Scores {
			x := float64(st.Step)
			if n > 1 {
				x += spread * (float64(k)/float64(n-1) - 0.5)
			}
			dots = append(dots, plotter.XY{X: x, Y: v})
		}
	}
	series := 0
	if len(dots) > 0 {
		sc, err := plotter.NewScatter(dots)
		if err != nil {
			return nil, fmt.Errorf("report: steps: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: withAlpha(palette[0], 0.55), Radius: vg.Points(2.2), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		th := sc.GlyphStyle
		th.Color = palette[0]
		leg.add("candidates", glyphThumb(th))
		series++
	}

	// The best so far, broken where it is NaN.
	ls := draw.LineStyle{Color: palette[3], Width: vg.Points(1.6)}
	gs := draw.GlyphStyle{Color: palette[3], Radius: vg.Points(2.5), Shape: draw.BoxGlyph{}}
	var seg plotter.XYs
	drawn := false
	flush := func() error {
		if len(seg) == 0 {
			return nil
		}
		lp, sp, err := plotter.NewLinePoints(seg)
		if err != nil {
			return fmt.Errorf("report: steps: %w", err)
		}
		lp.LineStyle, sp.GlyphStyle = ls, gs
		p.Add(lp, sp)
		seg, drawn = nil, true
		return nil
	}
	for _, st := range steps {
		if math.IsNaN(st.Best) {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		seg = append(seg, plotter.XY{X: float64(st.Step), Y: st.Best})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if drawn {
		leg.add("best so far", lineThumb(ls), glyphThumb(gs))
		series++
	}
	if series > 1 {
		p.Add(leg)
	}
	// Half a step of room at each end, for the spread dots.
	p.X.Min = math.Min(p.X.Min, float64(steps[0].Step)-0.5)
	p.X.Max = math.Max(p.X.Max, float64(steps[len(steps)-1].Step)+0.5)
	return p, nil
}
