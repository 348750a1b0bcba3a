package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Contributions is per-agent contribution bars with 95% confidence
// intervals: one group of bars per agent, one bar colour per method.
type Contributions struct {
	// Title is the plot title; "" means "Per-agent contributions", with
	// the method's name when there is one method (there is no legend
	// then) and "(error bars: 95% CI)" when some CI is drawn.
	Title string
	// YLabel is the y-axis label with its unit; "" means "contribution to
	// team score".
	YLabel string
	// Agents are the agents' names, one bar group each, in this order; at
	// least one is required. Long names are cut, and many are drawn slanted.
	Agents []string
	// Methods are the measurements, one bar per agent each; at least one
	// is required.
	Methods []ContributionMethod
}

// ContributionMethod is one method's measurement of every agent.
type ContributionMethod struct {
	// Name is the legend entry, e.g. "Shapley", "leave-one-out", "DyLAN
	// importance"; "" means "method N" (1-based).
	Name string
	// Value holds the contribution of each agent, len(Agents) long; NaN
	// means not measured (no bar).
	Value []float64
	// Lo and Hi are the 95% CI bounds of each agent, each either nil (no
	// CIs for this method) or len(Agents) long; NaN in either means no CI
	// for that agent (no error bar).
	Lo, Hi []float64
}

// Plot draws the bars. It returns an *InputError when there are no agents
// or no methods, a slice's length disagrees with Agents, a value is
// infinite, Lo > Hi, or no method measured any agent.
func (c *Contributions) Plot() (*plot.Plot, error) {
	const kind = "contributions"
	if c == nil {
		return nil, invalid(kind, "", "nil Contributions")
	}
	n := len(c.Agents)
	if n == 0 {
		return nil, invalid(kind, "Agents", "no agents to draw")
	}
	if len(c.Methods) == 0 {
		return nil, invalid(kind, "Methods", "no methods to draw")
	}
	measured, ci := false, false
	for m, meth := range c.Methods {
		f := fmt.Sprintf("Methods[%d]", m)
		if len(meth.Value) != n {
			return nil, invalid(kind, f+".Value", "%d values for %d agents", len(meth.Value), n)
		}
		if (meth.Lo == nil) != (meth.Hi == nil) {
			return nil, invalid(kind, f, "Lo and Hi must both be nil or both be set")
		}
		if meth.Lo != nil && (len(meth.Lo) != n || len(meth.Hi) != n) {
			return nil, invalid(kind, f, "%d Lo and %d Hi values for %d agents", len(meth.Lo), len(meth.Hi), n)
		}
		for a, v := range meth.Value {
			if math.IsInf(v, 0) {
				return nil, invalid(kind, fmt.Sprintf("%s.Value[%d]", f, a), "%v is infinite", v)
			}
			measured = measured || !math.IsNaN(v)
			if meth.Lo == nil {
				continue
			}
			lo, hi := meth.Lo[a], meth.Hi[a]
			if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
				return nil, invalid(kind, fmt.Sprintf("%s.Lo[%d]", f, a), "CI [%v, %v] is infinite", lo, hi)
			}
			if lo > hi {
				return nil, invalid(kind, fmt.Sprintf("%s.Lo[%d]", f, a), "CI [%v, %v]: Lo > Hi", lo, hi)
			}
			ci = ci || !math.IsNaN(lo) && !math.IsNaN(hi)
		}
	}
	if !measured {
		return nil, invalid(kind, "Methods", "every value is NaN: nothing measured")
	}

	title := "Per-agent contributions"
	if len(c.Methods) == 1 {
		title += ": " + or(c.Methods[0].Name, "method 1")
	}
	if ci {
		title += " (error bars: 95% CI)"
	}
	p := newPlot(or(c.Title, title), "agent", or(c.YLabel, "contribution to team score"))
	p.Add(lightGrid(false, true))
	p.Add(zeroLine{})
	leg := newSideLegend()
	nm := len(c.Methods)
	const group = 0.8 // share of an agent's slot the bars fill
	w := group / float64(nm)
	for m, meth := range c.Methods {
		pos := make([]float64, n)
		for a := range pos {
			pos[a] = float64(a) + (float64(m)-float64(nm-1)/2)*w
		}
		col := seriesColor(m)
		p.Add(&bars{pos: pos, val: meth.Value, lo: meth.Lo, hi: meth.Hi, width: w * 0.92, color: col})
		leg.add(or(meth.Name, fmt.Sprintf("method %d", m+1)), boxThumb(col))
	}
	if nm > 1 {
		p.Add(leg)
	}
	p.X.Min, p.X.Max = -0.5, float64(n)-0.5
	nominalX(p, c.Agents, Width-vg.Points(60)-legendWidth(leg, nm > 1))
	return p, nil
}

// legendWidth is the width a side legend takes from the data area.
func legendWidth(l *sideLegend, shown bool) vg.Length {
	if !shown {
		return 0
	}
	return l.width() + legendGap
}

// nominalX labels the x axis with names at 0, 1, …, fitted into avail (the
// estimated width of the data area): cut to at most 110 points, slanted
// at 45° when they do not fit side by side (the first ones cut shorter so
// that they end in the blank corner under the y axis), vertical (and
// smaller) when even slanted ones would touch.
func nominalX(p *plot.Plot, names []string, avail vg.Length) {
	sty := p.X.Tick.Label
	per := avail / vg.Length(len(names)) // room per name
	labels := make([]string, len(names))
	widest := vg.Length(0)
	for i, s := range names {
		labels[i] = fit(sty, or(s, fmt.Sprintf("agent %d", i+1)), vg.Points(110))
		widest = max(widest, sty.Width(labels[i]))
	}
	h := sty.Height("Ag")
	// corner is about the y axis's width, as gonum/plot will compute it
	// (the data are added, so the y range is known).
	corner := p.Y.Label.TextStyle.Height("Ag") + p.Y.Label.Padding + p.Y.Tick.Length + p.Y.Padding
	if p.Y.Max > p.Y.Min {
		for _, tk := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
			corner = max(corner, p.Y.Label.TextStyle.Height("Ag")+p.Y.Label.Padding+p.Y.Tick.Label.Width(tk.Label+" "))
		}
	}
	switch {
	case widest <= per*0.9:
		p.NominalX(labels...)
		return
	case per >= 1.6*h:
		sty.Rotation = math.Pi / 4
		for i, s := range names {
			room := (corner+(vg.Length(i)+0.5)*per)/vg.Length(math.Sqrt2/2) - h
			labels[i] = fit(sty, or(s, fmt.Sprintf("agent %d", i+1)), max(vg.Points(20), min(vg.Points(110), room)))
		}
	default:
		sty.Rotation = math.Pi / 2
		if per < 1.2*h { // shrink so that neighbours do not touch
			sty.Font.Size = max(vg.Points(5), per/1.2*sty.Font.Size/h)
		}
	}
	sty.XAlign, sty.YAlign = text.XRight, text.YCenter
	p.X.Tick.Label = sty
	p.NominalX(labels...)
	p.Y.Padding = vg.Points(3)
	p.Add(&labelRoom{labels: labels, sty: sty, corner: corner})
}

// labelRoom reserves room left of the data area for slanted x tick labels
// that reach past the corner under the y axis (gonum/plot's padding leaves
// x tick labels out on the left, expecting the y axis to cover them); it
// draws nothing.
type labelRoom struct {
	labels []string // at x = 0, 1, …
	sty    text.Style
	corner vg.Length // room under the y axis
}

func (*labelRoom) Plot(draw.Canvas, *plot.Plot) {}

func (l *labelRoom) GlyphBoxes(plt *plot.Plot) []plot.GlyphBox {
	boxes := make([]plot.GlyphBox, len(l.labels))
	for i, s := range l.labels {
		r := l.sty.Rectangle(s)
		boxes[i] = plot.GlyphBox{X: plt.X.Norm(float64(i)),
			Rectangle: vg.Rectangle{Min: vg.Point{X: min(0, r.Min.X+l.corner)}, Max: vg.Point{X: r.Max.X}}}
	}
	return boxes
}

// bars draws one series of bars from zero, vertical or horizontal, with
// optional error bars; positions and width are in data units along the
// category axis.
type bars struct {
	pos, val   []float64 // val NaN: no bar
	lo, hi     []float64 // nil, or NaN at an index: no error bar
	width      float64
	color      color.Color
	horizontal bool
}

func (b *bars) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	tr := func(pos, v float64) vg.Point { // from (category, value) to the canvas
		if b.horizontal {
			return vg.Point{X: trX(v), Y: trY(pos)}
		}
		return vg.Point{X: trX(pos), Y: trY(v)}
	}
	for i, v := range b.val {
		if math.IsNaN(v) {
			continue
		}
		p0, p1 := tr(b.pos[i]-b.width/2, 0), tr(b.pos[i]+b.width/2, v)
		pts := []vg.Point{p0, {X: p1.X, Y: p0.Y}, p1, {X: p0.X, Y: p1.Y}}
		c.FillPolygon(b.color, c.ClipPolygonXY(pts))
	}
	if b.lo == nil {
		return
	}
	sty := draw.LineStyle{Color: color.Gray{Y: 0x22}, Width: vg.Points(1)}
	for i := range b.val {
		lo, hi := b.lo[i], b.hi[i]
		if math.IsNaN(lo) || math.IsNaN(hi) {
			continue
		}
		a, z := tr(b.pos[i], lo), tr(b.pos[i], hi)
		w0, w1 := tr(b.pos[i]-b.width/2, 0), tr(b.pos[i]+b.width/2, 0)
		capw := min(vg.Points(4), (w1.X-w0.X+w1.Y-w0.Y)/2*0.6) / 2 // half the cap
		c.StrokeLine2(sty, a.X, a.Y, z.X, z.Y)
		for _, e := range []vg.Point{a, z} {
			if b.horizontal {
				c.StrokeLine2(sty, e.X, e.Y-capw, e.X, e.Y+capw)
			} else {
				c.StrokeLine2(sty, e.X-capw, e.Y, e.X+capw, e.Y)
			}
		}
	}
}

// DataRange covers every bar and error bar and zero.
func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	pmin, pmax := math.Inf(1), math.Inf(-1)
	vmin, vmax := 0.0, 0.0
	for i, v := range b.val {
		pmin = math.Min(pmin, b.pos[i]-b.width/2)
		pmax = math.Max(pmax, b.pos[i]+b.width/2)
		for _, x := range []float64{v, valueAt(b.lo, i), valueAt(b.hi, i)} {
			if !math.IsNaN(x) {
				vmin, vmax = math.Min(vmin, x), math.Max(vmax, x)
			}
		}
	}
	if b.horizontal {
		return vmin, vmax, pmin, pmax
	}
	return pmin, pmax, vmin, vmax
}

// valueAt is s[i], or NaN for a nil s.
func valueAt(s []float64, i int) float64 {
	if s == nil {
		return math.NaN()
	}
	return s[i]
}

// zeroLine draws the line y = 0 across the data area when 0 is in range.
type zeroLine struct{ horizontal bool }

func (z zeroLine) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	sty := draw.LineStyle{Color: color.Gray{Y: 0x44}, Width: vg.Points(0.7)}
	if z.horizontal { // bars along x: the zero line is vertical
		if x := trX(0); x >= c.Min.X && x <= c.Max.X {
			c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
		}
		return
	}
	if y := trY(0); y >= c.Min.Y && y <= c.Max.Y {
		c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
	}
}
