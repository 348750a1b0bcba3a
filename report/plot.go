package report

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Output size of [Save] and [SVG]; [SaveSize] takes another.
const (
	// Width is the width of a saved plot.
	Width = 16 * vg.Centimeter
	// Height is the height of a saved plot.
	Height = 10 * vg.Centimeter
	// DPI is the resolution of PNG output in dots per inch
	// (16×10 cm is 945×591 pixels).
	DPI = 150
)

// Point is a point of a series: X on the horizontal axis, Y on the vertical.
type Point struct{ X, Y float64 }

// ErrInvalid is matched (errors.Is) by every error reporting input that
// cannot be plotted; the error is an *InputError naming what is wrong.
var ErrInvalid = errors.New("report: invalid plot input")

// InputError is a plot input that cannot be drawn: nothing to draw,
// lengths that disagree, a value that is not finite, an unknown file
// extension. errors.Is(err, ErrInvalid) holds for every *InputError.
type InputError struct {
	// Plot is the kind of plot ("history", "contributions", "topology",
	// "pareto", "importance", "steps") or "save".
	Plot string
	// Field is the offending field as a Go selector, e.g.
	// "Lines[1].Runs[0][3].X"; "" when the whole input is at fault.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error returns "report: <plot>: <field>: <msg>".
func (e *InputError) Error() string {
	s := "report: " + e.Plot + ": "
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg
}

// Is reports whether target is ErrInvalid.
func (e *InputError) Is(target error) bool { return target == ErrInvalid }

func invalid(kind, field, format string, args ...any) error {
	return &InputError{Plot: kind, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Save writes p to path as PNG (at [DPI]) or SVG, chosen by the
// extension (.png or .svg, any case), at [Width]×[Height]. It creates no
// directories: a missing one is an error from the file system. An unknown
// extension is an *InputError naming it, and nothing is written. The plot is
// rendered in full before the file is created, so a failed render leaves no
// file behind.
func Save(p *plot.Plot, path string) error {
	return SaveSize(p, path, Width, Height)
}

// SaveSize is [Save] at the size w×h; both must be positive and at most a
// metre (a PNG of a metre square at [DPI] is already 35 million pixels).
func SaveSize(p *plot.Plot, path string, w, h vg.Length) error {
	ext := strings.ToLower(filepath.Ext(path))
	var format string
	switch ext {
	case ".png":
		format = "png"
	case ".svg":
		format = "svg"
	default:
		return invalid("save", "", "%s: unknown extension %q (want .png or .svg)", path, ext)
	}
	b, err := render(p, format, w, h)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("report: save: %w", err)
	}
	return nil
}

// SVG renders p as an SVG document at [Width]×[Height] for inlining in an
// HTML5 page: the root element is <svg> (no XML declaration), it uses no
// id attributes, so several can share a page, and text refers to the
// Liberation fonts by name without embedding them (a browser falls back to
// a metrically compatible font).
func SVG(p *plot.Plot) ([]byte, error) {
	return render(p, "svg", Width, Height)
}

// render draws p into memory. gonum/plot panics on some states it cannot
// draw; those come back as errors, since a report must not crash a CLI.
func render(p *plot.Plot, format string, w, h vg.Length) (b []byte, err error) {
	if p == nil {
		return nil, invalid("save", "", "nil plot")
	}
	if maxSize := 100 * vg.Centimeter; !(w > 0 && h > 0 && w <= maxSize && h <= maxSize) {
		return nil, invalid("save", "", "size %v×%v: width and height must be positive and at most 1 m", w, h)
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("report: drawing the plot: %v", r)
		}
	}()
	var buf bytes.Buffer
	switch format {
	case "png":
		c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))
		p.Draw(withMargin(draw.New(c)))
		if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("report: encoding PNG: %w", err)
		}
		return buf.Bytes(), nil
	case "svg":
		c := vgsvg.New(w, h)
		p.Draw(withMargin(draw.New(c)))
		if _, err := c.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("report: encoding SVG: %w", err)
		}
		return fixSVG(buf.Bytes()), nil
	}
	return nil, invalid("save", "", "unknown format %q", format)
}

// margin is the blank border around a plot: gonum/plot draws text up to
// the canvas edge.
const margin = vg.Length(5)

// withMargin paints the background over the whole canvas and returns the
// canvas inside the margin.
func withMargin(c draw.Canvas) draw.Canvas {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	return draw.Crop(c, margin, -margin, margin, -margin)
}

// fixSVG drops vgsvg's XML declaration, which is not allowed inside an
// HTML document, and labels its embedded images as the PNG they are.
func fixSVG(b []byte) []byte {
	b = bytes.TrimPrefix(b, []byte(`<?xml version="1.0"?>`))
	b = bytes.TrimLeft(b, "\n")
	return bytes.ReplaceAll(b, []byte("data:image/jpg;base64,"), []byte("data:image/png;base64,"))
}

// Text styles shared by every plot.
var (
	sansFont   = font.Font{Typeface: "Liberation", Variant: "Sans"}
	titleSize  = vg.Points(12)
	labelSize  = vg.Points(10.5)
	tickSize   = vg.Points(9)
	legendSize = vg.Points(9)
)

func textStyle(size vg.Length, xa text.XAlignment, ya text.YAlignment) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(sansFont, size),
		XAlign:  xa,
		YAlign:  ya,
		Handler: plot.DefaultTextHandler,
	}
}

// newPlot returns a plot with the house fonts, the title and axis labels
// (each fitted to the default width), and no legend entries.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.TextStyle = textStyle(titleSize, draw.XCenter, draw.YTop)
	p.Title.Text = fit(p.Title.TextStyle, title, Width-vg.Points(12))
	p.Title.Padding = vg.Points(6)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		xa, ya := a.Label.TextStyle.XAlign, a.Label.TextStyle.YAlign
		a.Label.TextStyle = textStyle(labelSize, xa, ya)
		xa, ya = a.Tick.Label.XAlign, a.Tick.Label.YAlign
		a.Tick.Label = textStyle(tickSize, xa, ya)
		a.Label.Padding = vg.Points(3)
		a.Tick.Marker = niceTicks{}
	}
	p.X.Label.Text = fit(p.X.Label.TextStyle, xlabel, Width-vg.Points(80))
	p.Y.Label.Text = fit(p.Y.Label.TextStyle, ylabel, Height-vg.Points(60))
	return p
}

// or returns s, or def when s is empty.
func or(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// fit returns s, cut at the end with an ellipsis so that it is at most max
// wide in sty; long names must not run into their neighbours.
func fit(sty text.Style, s string, max vg.Length) string {
	if sty.Width(s) <= max {
		return s
	}
	r := []rune(s)
	lo, hi := 0, len(r) // the longest prefix that fits, by bisection
	for lo < hi {
		m := (lo + hi + 1) / 2
		if sty.Width(string(r[:m])+"…") <= max {
			lo = m
		} else {
			hi = m - 1
		}
	}
	return strings.TrimRight(string(r[:lo]), " ") + "…"
}

// palette is a colour-blind-safe qualitative palette (Okabe–Ito without
// its yellow, which is too light on white, plus two darker tones).
var palette = []color.NRGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x55, 0x55, 0x55, 0xff}, // dark grey
	{0x8C, 0x6D, 0x31, 0xff}, // brown
}

// seriesColor is the colour of the i-th series; past the palette the
// colours repeat and seriesDashes tells the series apart.
func seriesColor(i int) color.NRGBA { return palette[i%len(palette)] }

// seriesDashes is the dash pattern of the i-th line series: solid for the
// first round of the palette, then dashed, then dotted.
func seriesDashes(i int) []vg.Length {
	switch (i / len(palette)) % 3 {
	case 1:
		return []vg.Length{vg.Points(5), vg.Points(2.5)}
	case 2:
		return []vg.Length{vg.Points(1.5), vg.Points(1.5)}
	}
	return nil
}

// withAlpha returns c with opacity a in [0, 1].
func withAlpha(c color.NRGBA, a float64) color.NRGBA {
	c.A = uint8(math.Round(255 * a))
	return c
}

var glyphShapes = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{},
	draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.PlusGlyph{}, draw.CrossGlyph{},
}

// glyphShape is the marker shape of the i-th series, shifted against the
// palette so that colour and shape together stay distinct longer.
func glyphShape(i int) draw.GlyphDrawer {
	return glyphShapes[(i+i/len(palette))%len(glyphShapes)]
}

// lightGrid returns grid lines at the major ticks, faint enough to sit
// under the data.
func lightGrid(vertical, horizontal bool) *plotter.Grid {
	sty := draw.LineStyle{Color: color.Gray{Y: 0xdd}, Width: vg.Points(0.5)}
	g := &plotter.Grid{}
	if vertical {
		g.Vertical = sty
	}
	if horizontal {
		g.Horizontal = sty
	}
	return g
}

// sideLegend is a legend drawn outside the data area, to its right, top
// aligned. It is a plotter so that it can reserve its width through a glyph
// box: gonum/plot then narrows the data area and no entry covers data.
type sideLegend struct {
	l plot.Legend
}

// legendGap is the space between the data area and the side legend.
const legendGap = vg.Length(10)

// legendMaxText is the widest legend entry text; longer names are cut.
var legendMaxText = vg.Points(130)

func newSideLegend() *sideLegend {
	l := plot.NewLegend()
	l.TextStyle = textStyle(legendSize, draw.XLeft, draw.YBottom)
	l.Left, l.Top = true, true
	l.Padding = vg.Points(3)
	l.ThumbnailWidth = vg.Points(18)
	return &sideLegend{l: l}
}

// add adds an entry; the name is cut to legendMaxText.
func (s *sideLegend) add(name string, thumbs ...plot.Thumbnailer) {
	s.l.Add(fit(s.l.TextStyle, name, legendMaxText), thumbs...)
}

func (s *sideLegend) width() vg.Length {
	r := s.l.Rectangle(draw.Canvas{})
	return r.Max.X - r.Min.X
}

// Plot draws the legend to the right of the data canvas c.
func (s *sideLegend) Plot(c draw.Canvas, _ *plot.Plot) {
	w := s.width()
	lc := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: c.Max.X + legendGap, Y: c.Min.Y},
		Max: vg.Point{X: c.Max.X + legendGap + w, Y: c.Max.Y},
	}}
	s.l.Draw(lc)
}

// GlyphBoxes reserves the legend's width at the right edge of the data area.
func (s *sideLegend) GlyphBoxes(*plot.Plot) []plot.GlyphBox {
	return []plot.GlyphBox{{
		X: 1, Y: 0.5,
		Rectangle: vg.Rectangle{Max: vg.Point{X: legendGap + s.width()}},
	}}
}

// The plotters of this package and the optional interfaces they meet.
var (
	_ plot.GlyphBoxer = (*sideLegend)(nil)
	_ plot.GlyphBoxer = (*labelRoom)(nil)
	_ plot.GlyphBoxer = (*cloud)(nil)
	_ plot.DataRanger = (*cloud)(nil)
	_ plot.DataRanger = (*bars)(nil)
	_ plot.Plotter    = (*graph)(nil)
	_ plot.Plotter    = zeroLine{}
)

// thumb draws a legend thumbnail with a function.
type thumb func(c *draw.Canvas)

func (t thumb) Thumbnail(c *draw.Canvas) { t(c) }

// glyphThumb is a legend thumbnail showing one glyph.
func glyphThumb(sty draw.GlyphStyle) plot.Thumbnailer {
	return thumb(func(c *draw.Canvas) { c.DrawGlyph(sty, c.Center()) })
}

// lineThumb is a legend thumbnail showing a horizontal line.
func lineThumb(sty draw.LineStyle) plot.Thumbnailer {
	return thumb(func(c *draw.Canvas) {
		y := c.Center().Y // inset, so that the line does not touch the text
		c.StrokeLine2(sty, c.Min.X+1, y, c.Max.X-2, y)
	})
}

// boxThumb is a legend thumbnail showing a filled box.
func boxThumb(fill color.Color) plot.Thumbnailer {
	return thumb(func(c *draw.Canvas) {
		pts := []vg.Point{
			{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y},
			{X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y},
		}
		c.FillPolygon(fill, c.ClipPolygonXY(pts))
	})
}

// niceTicks labels every major tick, about five of them, at steps of 1,
// 2, 2.5 or 5 times a power of ten (gonum's default labels as few as
// two on a short axis), without minor ticks.
type niceTicks struct{}

func (niceTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) || !finite(min) || !finite(max) {
		return nil
	}
	mag := math.Pow(10, math.Floor(math.Log10((max-min)/5)))
	step, mult := mag, 1.0
	for _, m := range []float64{1, 2, 2.5, 5, 10} { // the count nearest 5, the larger step on ties
		if math.Abs((max-min)/(m*mag)-5) <= math.Abs((max-min)/step-5) {
			step, mult = m*mag, m
		}
	}
	digits := int(math.Max(0, -math.Floor(math.Log10(step)+1e-9)))
	if mult == 2.5 {
		digits++
	}
	big := math.Max(math.Abs(min), math.Abs(max)) >= 1e6
	first := math.Ceil(min/step-1e-9) * step
	var ticks []plot.Tick
	for i := 0; ; i++ {
		v := first + float64(i)*step
		if v > max+step*1e-9 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0 // never "-0"
		}
		label := strconv.FormatFloat(v, 'f', digits, 64)
		if big {
			label = strconv.FormatFloat(v, 'g', 4, 64)
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label})
	}
	return ticks
}

// integerTicks marks integers only, at most about ten labelled ones, for
// axes that count steps.
type integerTicks struct{}

func (integerTicks) Ticks(min, max float64) []plot.Tick {
	lo, hi := math.Ceil(min), math.Floor(max)
	if !(hi >= lo) || hi-lo > 1e7 {
		return niceTicks{}.Ticks(min, max)
	}
	step := 1.0
	for _, s := range []float64{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000} {
		step = s
		if (hi-lo)/s <= 10 {
			break
		}
	}
	if (hi-lo)/step > 10 {
		return niceTicks{}.Ticks(min, max)
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		t := v
		if t == 0 {
			t = 0 // -0 would print as "-0"
		}
		ticks = append(ticks, plot.Tick{Value: t, Label: strconv.FormatFloat(t, 'f', 0, 64)})
	}
	return ticks
}
