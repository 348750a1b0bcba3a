package report

import (
	"cmp"
	"fmt"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Importance is parameter importance as horizontal bars, the largest at
// the top, the K largest only.
type Importance struct {
	// Title is the plot title; "" means "Parameter importance" (with "top
	// K of N" when some are left out).
	Title string
	// XLabel is the x-axis label; "" means "importance (share of score
	// variance)".
	XLabel string
	// Names are the parameters, one per value; "" means "parameter N".
	// Long names are cut.
	Names []string
	// Values are the importances, len(Names) long, finite; negative ones
	// are drawn leftwards from zero.
	Values []float64
	// K is how many of the largest to draw; 0 means 15, more than
	// len(Names) means all. Past about 30 the labels get small; save
	// such a plot taller with SaveSize.
	K int
}

// importanceK is the number of bars when K is 0.
const importanceK = 15

// Plot draws the bars. It returns an *InputError when there are no names,
// Values and Names disagree in length, a value is not finite or K is
// negative.
func (im *Importance) Plot() (*plot.Plot, error) {
	const kind = "importance"
	if im == nil {
		return nil, invalid(kind, "", "nil Importance")
	}
	if len(im.Names) == 0 {
		return nil, invalid(kind, "Names", "no parameters to draw")
	}
	if len(im.Values) != len(im.Names) {
		return nil, invalid(kind, "Values", "%d values for %d names", len(im.Values), len(im.Names))
	}
	if im.K < 0 {
		return nil, invalid(kind, "K", "%d is negative", im.K)
	}
	for i, v := range im.Values {
		if !finite(v) {
			return nil, invalid(kind, fmt.Sprintf("Values[%d]", i), "%v is not finite", v)
		}
	}
	order := make([]int, len(im.Values))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(im.Values[b], im.Values[a]) })
	k := im.K
	if k == 0 {
		k = importanceK
	}
	k = min(k, len(order))
	order = order[:k]

	title := "Parameter importance"
	if k < len(im.Names) {
		title = fmt.Sprintf("Parameter importance (top %d of %d)", k, len(im.Names))
	}
	p := newPlot(or(im.Title, title), or(im.XLabel, "importance (share of score variance)"), "")
	// Bar i from the top is at y = k-1-i, so that the largest is on top.
	names := make([]string, k)
	pos := make([]float64, k)
	val := make([]float64, k)
	for i, j := range order {
		y := k - 1 - i
		names[y] = or(im.Names[j], fmt.Sprintf("parameter %d", j+1))
		pos[i], val[i] = float64(y), im.Values[j]
	}
	// Labels no taller than a row of the default height, no wider than a
	// third of the default width.
	sty := p.Y.Tick.Label
	row := (Height - vg.Points(60)) / vg.Length(k)
	if h := sty.Height("Ag"); h > row*0.85 {
		sty.Font.Size = max(vg.Points(5), sty.Font.Size*row*0.85/h)
	}
	for i, s := range names {
		names[i] = fit(sty, s, Width/3)
	}
	p.Y.Tick.Label = sty
	p.Add(lightGrid(true, false))
	p.Add(zeroLine{horizontal: true})
	p.Add(&bars{pos: pos, val: val, width: 0.7, color: palette[0], horizontal: true})
	p.Y.Min, p.Y.Max = -0.5, float64(k)-0.5
	p.NominalY(names...)
	p.X.Padding = 0
	return p, nil
}
