package report

import (
	"errors"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var nan = math.NaN()

// TestInvalidInput checks that every kind of unusable input is an
// *InputError matching ErrInvalid that names the offending field.
func TestInvalidInput(t *testing.T) {
	inf := math.Inf(1)
	three := []float64{1, 2, 3}
	cases := []struct {
		name string
		in   plotMaker
		want string // in the message
	}{
		{"history nil", (*History)(nil), "nil History"},
		{"history no lines", &History{}, "Lines: no lines"},
		{"history no points", &History{Lines: []HistoryLine{{Name: "a", Runs: [][]Point{{}, nil}}}}, "Lines[0].Runs: no points"},
		{"history no runs", &History{Lines: []HistoryLine{{Name: "a"}}}, "Lines[0].Runs: no points"},
		{"history NaN", &History{Lines: []HistoryLine{{Runs: [][]Point{{{1, 1}, {2, nan}}}}}}, "Lines[0].Runs[0][1]: point (2, NaN)"},
		{"history Inf X", &History{Lines: []HistoryLine{{Runs: [][]Point{{{inf, 1}}}}}}, "Lines[0].Runs[0][0]"},
		{"history X descends", &History{Lines: []HistoryLine{{Runs: [][]Point{{{1, 1}}, {{5, 1}, {4, 2}}}}}}, "Lines[0].Runs[1][1].X: 4 after 5"},

		{"contributions nil", (*Contributions)(nil), "nil Contributions"},
		{"contributions no agents", &Contributions{Methods: []ContributionMethod{{Value: three}}}, "Agents: no agents"},
		{"contributions no methods", &Contributions{Agents: []string{"a"}}, "Methods: no methods"},
		{"contributions short values", &Contributions{Agents: []string{"a", "b"}, Methods: []ContributionMethod{{Value: three}}}, "Methods[0].Value: 3 values for 2 agents"},
		{"contributions Lo without Hi", &Contributions{Agents: []string{"a", "b", "c"}, Methods: []ContributionMethod{{Value: three, Lo: three}}}, "Methods[0]: Lo and Hi"},
		{"contributions short CI", &Contributions{Agents: []string{"a", "b", "c"}, Methods: []ContributionMethod{{Value: three, Lo: three, Hi: three[:2]}}}, "3 Lo and 2 Hi values for 3 agents"},
		{"contributions Inf", &Contributions{Agents: []string{"a"}, Methods: []ContributionMethod{{Value: []float64{inf}}}}, "Methods[0].Value[0]: +Inf"},
		{"contributions Lo > Hi", &Contributions{Agents: []string{"a"}, Methods: []ContributionMethod{{Value: []float64{1}, Lo: []float64{2}, Hi: []float64{0}}}}, "Lo > Hi"},
		{"contributions all NaN", &Contributions{Agents: []string{"a"}, Methods: []ContributionMethod{{Value: []float64{nan}}}}, "nothing measured"},

		{"topology nil", (*Topology)(nil), "nil Topology"},
		{"topology no nodes", &Topology{}, "Nodes: no nodes"},
		{"topology empty ID", &Topology{Nodes: []TopologyNode{{ID: ""}}}, "Nodes[0].ID: empty"},
		{"topology repeated ID", &Topology{Nodes: []TopologyNode{{ID: "a"}, {ID: "a"}}}, `Nodes[1].ID: ID "a" repeats Nodes[0]`},
		{"topology Inf size", &Topology{Nodes: []TopologyNode{{ID: "a", Size: inf}}}, "Nodes[0].Size"},
		{"topology unknown From", &Topology{Nodes: []TopologyNode{{ID: "a"}}, Edges: []TopologyEdge{{From: "x", To: "a"}}}, `Edges[0].From: unknown node "x"`},
		{"topology unknown To", &Topology{Nodes: []TopologyNode{{ID: "a"}}, Edges: []TopologyEdge{{From: "a", To: "y"}}}, `Edges[0].To: unknown node "y"`},
		{"topology negative weight", &Topology{Nodes: []TopologyNode{{ID: "a"}}, Edges: []TopologyEdge{{From: "a", To: "a", Weight: -1}}}, "Edges[0].Weight"},

		{"pareto nil", (*Pareto)(nil), "nil Pareto"},
		{"pareto empty", &Pareto{}, "no points, front or bests"},
		{"pareto NaN point", &Pareto{Points: []Point{{1, 1}, {nan, 1}}}, "Points[1]"},
		{"pareto front descends", &Pareto{Front: []Point{{2, 1}, {1, 2}}}, "Front[1].X: 1 after 2"},
		{"pareto Inf best", &Pareto{Best: []LabeledPoint{{Name: "a", X: 1, Y: inf}}}, "Best[0]"},

		{"importance nil", (*Importance)(nil), "nil Importance"},
		{"importance empty", &Importance{}, "Names: no parameters"},
		{"importance lengths", &Importance{Names: []string{"a", "b"}, Values: []float64{1}}, "Values: 1 values for 2 names"},
		{"importance NaN", &Importance{Names: []string{"a"}, Values: []float64{nan}}, "Values[0]: NaN"},
		{"importance negative K", &Importance{Names: []string{"a"}, Values: []float64{1}, K: -1}, "K: -1"},

		{"steps nil", (*Steps)(nil), "nil Steps"},
		{"steps empty", &Steps{}, "Steps: no steps"},
		{"steps repeated", &Steps{Steps: []Step{{Step: 1, Best: 1}, {Step: 1, Best: 2}}}, "Steps[1].Step: step 1 repeats Steps[0]"},
		{"steps NaN score", &Steps{Steps: []Step{{Step: 1, Scores: []float64{1, nan}, Best: 1}}}, "Steps[0].Scores[1]"},
		{"steps Inf best", &Steps{Steps: []Step{{Step: 1, Best: inf}}}, "Steps[0].Best"},
		{"steps nothing", &Steps{Steps: []Step{{Step: 1, Best: nan}}}, "no scores and no bests"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.in.Plot()
			if err == nil {
				t.Fatalf("Plot() = %v, nil; want an error", p)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not match ErrInvalid", err)
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Errorf("error %q is not an *InputError", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "report: ") {
				t.Errorf("error %q, want it to start with \"report: \" and contain %q", err, c.want)
			}
		})
	}
}

// TestOddInputNoPanic plots and renders random small, odd inputs (single
// points, constant values, zeros, NaN where allowed, empty names) and
// requires an error or a rendered plot, never a panic.
func TestOddInputNoPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	val := func() float64 {
		switch rng.IntN(5) {
		case 0:
			return 0
		case 1:
			return nan
		case 2:
			return 1
		}
		return rng.NormFloat64()
	}
	for i := range 40 {
		n := rng.IntN(4)
		var ins []plotMaker
		h := &History{}
		c := &Contributions{}
		tp := &Topology{}
		pa := &Pareto{}
		im := &Importance{K: rng.IntN(3)}
		st := &Steps{}
		for k := range n {
			run := []Point{{X: float64(rng.IntN(3)), Y: 1}}
			h.Lines = append(h.Lines, HistoryLine{Runs: [][]Point{run, nil}})
			c.Agents = append(c.Agents, strings.Repeat("x", rng.IntN(40)))
			tp.Nodes = append(tp.Nodes, TopologyNode{ID: string(rune('a' + k)), Size: val()})
			pa.Points = append(pa.Points, Point{X: 1, Y: float64(k)})
			im.Names = append(im.Names, "")
			im.Values = append(im.Values, float64(rng.IntN(2)))
			st.Steps = append(st.Steps, Step{Step: -k, Scores: []float64{0}, Best: val()})
		}
		for m := range rng.IntN(3) {
			cm := ContributionMethod{Name: string(rune('A' + m))}
			for range n {
				cm.Value = append(cm.Value, val())
				cm.Lo, cm.Hi = append(cm.Lo, nan), append(cm.Hi, val())
			}
			c.Methods = append(c.Methods, cm)
		}
		for k := range n {
			tp.Edges = append(tp.Edges, TopologyEdge{From: tp.Nodes[k].ID, To: tp.Nodes[rng.IntN(n)].ID, Weight: math.Abs(val())})
		}
		ins = append(ins, h, c, tp, pa, im, st)
		for _, in := range ins {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("case %d: %T panicked: %v", i, in, r)
					}
				}()
				p, err := in.Plot()
				if err != nil {
					if !errors.Is(err, ErrInvalid) {
						t.Errorf("case %d: %T: error %v does not match ErrInvalid", i, in, err)
					}
					return
				}
				if _, err := SVG(p); err != nil {
					t.Errorf("case %d: %T: SVG: %v", i, in, err)
				}
			}()
		}
	}
}

func TestImportanceOrderAndK(t *testing.T) {
	im := &Importance{Names: []string{"a", "b", "c", "d"}, Values: []float64{0.1, 0.4, -0.2, 0.3}, K: 3}
	p, err := im.Plot()
	if err != nil {
		t.Fatal(err)
	}
	ticks := p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max)
	var got []string
	for i := len(ticks) - 1; i >= 0; i-- { // top to bottom
		got = append(got, ticks[i].Label)
	}
	if strings.Join(got, ",") != "b,d,a" {
		t.Errorf("bars top to bottom %v, want [b d a] (descending, top 3)", got)
	}
	if !strings.Contains(p.Title.Text, "top 3 of 4") {
		t.Errorf("title %q does not say top 3 of 4", p.Title.Text)
	}

	var names []string
	var vals []float64
	for i := range 20 {
		names = append(names, string(rune('a'+i)))
		vals = append(vals, float64(i))
	}
	p, err = (&Importance{Names: names, Values: vals}).Plot()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max)); n != 15 {
		t.Errorf("K = 0 drew %d bars, want 15", n)
	}
}

func TestNiceTicks(t *testing.T) {
	cases := []struct {
		min, max float64
		want     string
	}{
		{0, 1, "0.0 0.2 0.4 0.6 0.8 1.0"},
		{0.07, 0.98, "0.2 0.4 0.6 0.8"},
		{-0.05, 0.12, "-0.05 0.00 0.05 0.10"},
		{3, 353, "100 200 300"},
		{0, 40, "0 10 20 30 40"},
		{0.2, 0.9, "0.2 0.4 0.6 0.8"},
		{0, 0.05, "0.00 0.01 0.02 0.03 0.04 0.05"},
		{0, 1e7, "0 2e+06 4e+06 6e+06 8e+06 1e+07"},
	}
	for _, c := range cases {
		var got []string
		for _, tk := range (niceTicks{}).Ticks(c.min, c.max) {
			got = append(got, tk.Label)
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("ticks over [%v, %v] = %q, want %q", c.min, c.max, s, c.want)
		}
	}
	if ticks := (niceTicks{}).Ticks(1, 1); ticks != nil {
		t.Errorf("empty range gave %v", ticks)
	}
	var got []string
	for _, tk := range (integerTicks{}).Ticks(-0.5, 7.5) {
		got = append(got, tk.Label)
	}
	if s := strings.Join(got, " "); s != "0 1 2 3 4 5 6 7" {
		t.Errorf("integer ticks %q", s)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFit(t *testing.T) {
	sty := textStyle(tickSize, 0, 0)
	if s := fit(sty, "short", vg.Points(100)); s != "short" {
		t.Errorf("fit cut a short string: %q", s)
	}
	long := strings.Repeat("long name ", 20)
	s := fit(sty, long, vg.Points(100))
	if !strings.HasSuffix(s, "…") || sty.Width(s) > vg.Points(100) || len(s) < 10 {
		t.Errorf("fit(long) = %q (width %v)", s, sty.Width(s))
	}
}

// TestCloudMatchesScatter checks that the rasterised trials sit where the
// vector dots would: the centroid of the ink of both renderings agrees.
func TestCloudMatchesScatter(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	pts := make([]Point, 300)
	for i := range pts {
		pts[i] = Point{X: rng.Float64() * rng.Float64(), Y: rng.Float64()}
	}
	mk := func(raster bool) image.Image {
		p := plot.New()
		p.HideAxes()
		if raster {
			p.Add(&cloud{pts: pts, color: color.NRGBA{A: 255}, alpha: 1, radius: vg.Points(1.5)})
		} else {
			s, err := plotter.NewScatter(toXYs(pts))
			if err != nil {
				t.Fatal(err)
			}
			s.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(1.5), Shape: draw.CircleGlyph{}}
			p.Add(s)
		}
		c := vgimg.NewWith(vgimg.UseWH(Width/2, Height/2), vgimg.UseDPI(DPI))
		p.Draw(draw.New(c))
		return c.Image()
	}
	cx := func(img image.Image) (x, y, ink float64) {
		b := img.Bounds()
		for j := b.Min.Y; j < b.Max.Y; j++ {
			for i := b.Min.X; i < b.Max.X; i++ {
				r, _, _, _ := img.At(i, j).RGBA()
				w := 1 - float64(r)/0xffff
				x, y, ink = x+w*float64(i), y+w*float64(j), ink+w
			}
		}
		return x / ink, y / ink, ink
	}
	vx, vy, vink := cx(mk(false))
	rx, ry, rink := cx(mk(true))
	if math.Abs(vx-rx) > 0.5 || math.Abs(vy-ry) > 0.5 {
		t.Errorf("raster centroid (%.2f, %.2f), vector (%.2f, %.2f): more than half a pixel apart", rx, ry, vx, vy)
	}
	if r := rink / vink; r < 0.8 || r > 1.25 {
		t.Errorf("raster ink %.0f, vector %.0f: dots of different sizes", rink, vink)
	}
}

func TestTopologyLegendOnlyForSeveralKinds(t *testing.T) {
	one := &Topology{Nodes: []TopologyNode{{ID: "a", Size: 1}, {ID: "b", Size: 2}}}
	p, err := one.Plot()
	if err != nil {
		t.Fatal(err)
	}
	if hasSideLegend(p) {
		t.Error("all-positive topology has a legend")
	}
	two := sampleTopology()
	if p, err = two.Plot(); err != nil {
		t.Fatal(err)
	}
	if !hasSideLegend(p) {
		t.Error("topology with negative and unmeasured nodes has no legend")
	}
}

// hasSideLegend reports whether p reserves room for a side legend.
func hasSideLegend(p *plot.Plot) bool {
	for _, b := range p.GlyphBoxes(p) {
		if b.X == 1 && b.Y == 0.5 && b.Size().Y == 0 && b.Size().X > legendGap {
			return true
		}
	}
	return false
}
