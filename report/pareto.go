package report

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Pareto is score against nominal cost across every trial of an
// experiment: the trials as small grey dots, the Pareto front as a step
// line and each optimizer's best as a marker named in the legend.
type Pareto struct {
	// Title is the plot title; "" means "Score against cost (every
	// trial)".
	Title string
	// XLabel is the x-axis label with its unit; "" means "nominal cost
	// (US$)".
	XLabel string
	// YLabel is the y-axis label; "" means "validation score".
	YLabel string
	// Points are the trials; nil means none. Any number may be given: more
	// than 2,000 are drawn as one raster image at the output's resolution,
	// which keeps 100,000 trials fast and their SVG small.
	Points []Point
	// Front is the Pareto front, X ascending, drawn as given (it is not
	// computed here); nil means none.
	Front []Point
	// Best holds each optimizer's best, one legend entry each; nil means
	// none.
	Best []LabeledPoint
}

// LabeledPoint is a named point, such as an optimizer's best trial.
type LabeledPoint struct {
	// Name is the legend entry; "" means "best N" (1-based).
	Name string
	// X and Y are the point's coordinates.
	X, Y float64
}

// paretoVector is the most trials drawn as vector dots; more are
// rasterised.
const paretoVector = 2000

var trialGrey = color.NRGBA{0x80, 0x80, 0x80, 0xff}

// Plot draws the trials, front and bests. It returns an *InputError when
// all three are empty, a value is not finite or the front's X decreases.
func (pa *Pareto) Plot() (*plot.Plot, error) {
	const kind = "pareto"
	if pa == nil {
		return nil, invalid(kind, "", "nil Pareto")
	}
	if len(pa.Points) == 0 && len(pa.Front) == 0 && len(pa.Best) == 0 {
		return nil, invalid(kind, "", "no points, front or bests to draw")
	}
	for i, pt := range pa.Points {
		if !finite(pt.X) || !finite(pt.Y) {
			return nil, invalid(kind, fmt.Sprintf("Points[%d]", i), "(%v, %v) is not finite", pt.X, pt.Y)
		}
	}
	for i, pt := range pa.Front {
		if !finite(pt.X) || !finite(pt.Y) {
			return nil, invalid(kind, fmt.Sprintf("Front[%d]", i), "(%v, %v) is not finite", pt.X, pt.Y)
		}
		if i > 0 && pt.X < pa.Front[i-1].X {
			return nil, invalid(kind, fmt.Sprintf("Front[%d].X", i), "%v after %v: X must be ascending", pt.X, pa.Front[i-1].X)
		}
	}
	for i, b := range pa.Best {
		if !finite(b.X) || !finite(b.Y) {
			return nil, invalid(kind, fmt.Sprintf("Best[%d]", i), "(%v, %v) is not finite", b.X, b.Y)
		}
	}

	p := newPlot(or(pa.Title, "Score against cost (every trial)"),
		or(pa.XLabel, "nominal cost (US$)"), or(pa.YLabel, "validation score"))
	p.Add(lightGrid(true, true))
	leg := newSideLegend()
	series := 0
	if len(pa.Points) > 0 {
		dot := draw.GlyphStyle{Color: withAlpha(trialGrey, 0.5), Radius: vg.Points(1.3), Shape: draw.CircleGlyph{}}
		if len(pa.Points) > paretoVector {
			p.Add(&cloud{pts: pa.Points, color: trialGrey, alpha: 0.35, radius: vg.Points(1.2)})
		} else {
			s, err := plotter.NewScatter(toXYs(pa.Points))
			if err != nil {
				return nil, fmt.Errorf("report: pareto: %w", err)
			}
			s.GlyphStyle = dot
			p.Add(s)
		}
		dot.Color, dot.Radius = trialGrey, vg.Points(2)
		leg.add("trials ("+thousands(len(pa.Points))+")", glyphThumb(dot))
		series++
	}
	if len(pa.Front) > 0 {
		ls := draw.LineStyle{Color: color.Black, Width: vg.Points(1.4)}
		if len(pa.Front) == 1 {
			s, err := plotter.NewScatter(toXYs(pa.Front))
			if err != nil {
				return nil, fmt.Errorf("report: pareto: %w", err)
			}
			s.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
			p.Add(s)
		} else {
			l, err := plotter.NewLine(toXYs(pa.Front))
			if err != nil {
				return nil, fmt.Errorf("report: pareto: %w", err)
			}
			l.LineStyle = ls
			l.StepStyle = plotter.PostStep
			p.Add(l)
		}
		leg.add("Pareto front", lineThumb(ls))
		series++
	}
	for i, b := range pa.Best {
		g := draw.GlyphStyle{Color: seriesColor(i), Radius: vg.Points(4), Shape: glyphShape(i)}
		halo := draw.GlyphStyle{Color: color.White, Radius: g.Radius + 1.5, Shape: draw.CircleGlyph{}}
		xy := plotter.XYs{{X: b.X, Y: b.Y}}
		h, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, fmt.Errorf("report: pareto: %w", err)
		}
		h.GlyphStyle = halo
		s, _ := plotter.NewScatter(xy)
		s.GlyphStyle = g
		p.Add(h, s)
		leg.add(or(b.Name, fmt.Sprintf("best %d", i+1)), glyphThumb(g))
		series++
	}
	if series > 1 {
		p.Add(leg)
	}
	return p, nil
}

// thousands formats n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func toXYs(pts []Point) plotter.XYs {
	xys := make(plotter.XYs, len(pts))
	for i, p := range pts {
		xys[i] = plotter.XY{X: p.X, Y: p.Y}
	}
	return xys
}

// cloud draws many points as one image of translucent dots, rasterised at
// the output's resolution (or 2 pixels a point for vector output): the
// cost is one pass over the points, whatever their number, and an SVG
// holds one image instead of a path per point.
type cloud struct {
	pts    []Point
	color  color.NRGBA
	alpha  float64   // opacity of one dot
	radius vg.Length // of a dot
}

func (cl *cloud) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, p := range cl.pts {
		xmin, xmax = math.Min(xmin, p.X), math.Max(xmax, p.X)
		ymin, ymax = math.Min(ymin, p.Y), math.Max(ymax, p.Y)
	}
	return
}

// GlyphBoxes pads the data area by a dot's radius, as a scatter would.
func (cl *cloud) GlyphBoxes(*plot.Plot) []plot.GlyphBox {
	r := cl.radius
	box := vg.Rectangle{Min: vg.Point{X: -r, Y: -r}, Max: vg.Point{X: r, Y: r}}
	return []plot.GlyphBox{{X: 0, Y: 0, Rectangle: box}, {X: 1, Y: 1, Rectangle: box}}
}

func (cl *cloud) Plot(c draw.Canvas, plt *plot.Plot) {
	dpi := 144.0
	if d, ok := c.Canvas.(interface{ DPI() float64 }); ok {
		dpi = d.DPI()
	}
	ppt := dpi / 72 // pixels per point
	r := float64(cl.radius) * ppt
	m := int(math.Ceil(r)) + 1 // margin so that dots at the edge are whole
	size := c.Size()
	w := int(math.Ceil(float64(size.X)*ppt)) + 2*m + 1
	h := int(math.Ceil(float64(size.Y)*ppt)) + 2*m + 1
	if w <= 2*m || h <= 2*m || w > 1<<14 || h > 1<<14 {
		return
	}

	// The stamp of one dot: its coverage of each pixel around the centre.
	k := 2*m + 1
	stamp := make([]float32, k*k)
	for dy := -m; dy <= m; dy++ {
		for dx := -m; dx <= m; dx++ {
			cov := r + 0.5 - math.Hypot(float64(dx), float64(dy))
			stamp[(dy+m)*k+dx+m] = float32(cl.alpha * math.Max(0, math.Min(1, cov)))
		}
	}
	// trans is the light each pixel lets through: dots of one colour
	// composite as a product of (1 - coverage).
	trans := make([]float32, w*h)
	for i := range trans {
		trans[i] = 1
	}
	sx, sy := float64(size.X)*ppt, float64(size.Y)*ppt
	for _, p := range cl.pts {
		// The pixel holding the point; the image's top left corner is at
		// (Min.X - margin, Max.Y + margin) of the data canvas.
		px := int(math.Floor(plt.X.Norm(p.X)*sx)) + m
		py := int(math.Floor((1-plt.Y.Norm(p.Y))*sy)) + m
		if px < m || py < m || px+m >= w || py+m >= h {
			continue
		}
		for dy := 0; dy < k; dy++ {
			row := trans[(py-m+dy)*w+px-m : (py-m+dy)*w+px-m+k]
			srow := stamp[dy*k : dy*k+k]
			for dx, s := range srow {
				row[dx] *= 1 - s
			}
		}
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, t := range trans {
		if t >= 1 {
			continue
		}
		img.Pix[4*i] = cl.color.R
		img.Pix[4*i+1] = cl.color.G
		img.Pix[4*i+2] = cl.color.B
		img.Pix[4*i+3] = uint8(math.Round(255 * float64(1-t)))
	}
	mm := vg.Length(float64(m) / ppt)
	c.DrawImage(vg.Rectangle{
		Min: vg.Point{X: c.Min.X - mm, Y: c.Max.Y + mm - vg.Length(float64(h)/ppt)},
		Max: vg.Point{X: c.Min.X - mm + vg.Length(float64(w)/ppt), Y: c.Max.Y + mm},
	}, img)
}
