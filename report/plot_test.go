package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// update (-update, declared in golden_test.go) rewrites the golden images.

// plotMaker is what every plot input has.
type plotMaker interface {
	Plot() (*plot.Plot, error)
}

// The deterministic inputs of the golden images, one per plot kind (two
// where a second layout path needs covering).
func goldenInputs() []struct {
	name string
	in   plotMaker
} {
	return []struct {
		name string
		in   plotMaker
	}{
		{"history", sampleHistory(3, 5, 60)},
		{"contributions", sampleContributions(4)},
		{"contributions_many", sampleContributions(14)},
		{"topology", sampleTopology()},
		{"pareto", samplePareto(3000)},
		{"pareto_small", samplePareto(150)},
		{"importance", sampleImportance(22)},
		{"steps", sampleSteps()},
	}
}

func sampleHistory(lines, runs, trials int) *History {
	rng := rand.New(rand.NewPCG(1, 1))
	names := []string{"random search", "SIMBA", "BEACON", "GPTSwarm", "AgentPrune"}
	h := &History{Title: "Arithmetic, 3-agent team", XLabel: "LM calls"}
	for l := range lines {
		hl := HistoryLine{Name: names[l%len(names)]}
		for range runs {
			var run []Point
			x, best := 0.0, math.Inf(-1)
			for t := range trials {
				x += float64(3 + rng.IntN(6))
				// Later lines learn faster; every run saturates below 1.
				s := 0.3 + 0.6*(1-math.Exp(-float64(t)*(0.02+0.015*float64(l)))) + 0.15*rng.NormFloat64()
				best = math.Max(best, math.Min(s, 0.98))
				run = append(run, Point{X: x, Y: best})
			}
			hl.Runs = append(hl.Runs, run)
		}
		h.Lines = append(h.Lines, hl)
	}
	return h
}

func sampleContributions(agents int) *Contributions {
	rng := rand.New(rand.NewPCG(2, 2))
	roles := []string{"planner", "solver", "critic", "judge", "retriever", "verifier", "summarizer"}
	c := &Contributions{}
	for a := range agents {
		name := roles[a%len(roles)]
		if agents > len(roles) {
			name = fmt.Sprintf("%s_agent_with_a_long_name_%d", name, a)
		}
		c.Agents = append(c.Agents, name)
	}
	for m, name := range []string{"Shapley", "leave-one-out", "DyLAN importance"} {
		cm := ContributionMethod{Name: name}
		for a := range agents {
			v := 0.02 + 0.1*rng.Float64() - 0.03*float64(a%3)
			half := 0.01 + 0.03*rng.Float64()
			cm.Value = append(cm.Value, v)
			cm.Lo = append(cm.Lo, v-half)
			cm.Hi = append(cm.Hi, v+half)
		}
		if m == 2 { // DyLAN: no CIs, one agent not measured
			cm.Lo, cm.Hi = nil, nil
			cm.Value[agents-1] = math.NaN()
		}
		if m == 1 {
			cm.Lo[0], cm.Hi[0] = math.NaN(), math.NaN()
		}
		c.Methods = append(c.Methods, cm)
	}
	return c
}

func sampleTopology() *Topology {
	return &Topology{
		Title: "Debate team, learnt topology",
		Nodes: []TopologyNode{
			{ID: "p", Label: "planner", Size: 0.12},
			{ID: "s1", Label: "solver 1", Size: 0.08},
			{ID: "s2", Label: "solver 2", Size: 0.02},
			{ID: "c", Label: "critic (adversarial)", Size: -0.05},
			{ID: "j", Label: "judge", Size: math.NaN()},
		},
		Edges: []TopologyEdge{
			{From: "p", To: "s1", Weight: 40},
			{From: "p", To: "s2", Weight: 25},
			{From: "s1", To: "c", Weight: 10},
			{From: "c", To: "s1", Weight: 4},
			{From: "s1", To: "j", Weight: 38},
			{From: "s2", To: "j", Weight: 20},
			{From: "c", To: "j", Weight: 0},
			{From: "j", To: "j", Weight: 5},
		},
	}
}

func samplePareto(n int) *Pareto {
	rng := rand.New(rand.NewPCG(3, 3))
	p := &Pareto{}
	for range n {
		cost := 0.002 + 0.05*rng.Float64()*rng.Float64()
		score := math.Min(0.95, 0.35+6*cost+0.12*rng.NormFloat64())
		p.Points = append(p.Points, Point{X: cost, Y: score})
	}
	p.Front = paretoFront(p.Points)
	for i, name := range []string{"random search", "SIMBA", "BEACON"} {
		f := p.Front[len(p.Front)-1-i*len(p.Front)/4]
		p.Best = append(p.Best, LabeledPoint{Name: name, X: f.X, Y: f.Y})
	}
	return p
}

// paretoFront is the test's reference front: lowest cost, highest score.
func paretoFront(pts []Point) []Point {
	s := append([]Point(nil), pts...)
	for i := 1; i < len(s); i++ { // insertion sort by X: test sizes are small
		for j := i; j > 0 && (s[j].X < s[j-1].X || s[j].X == s[j-1].X && s[j].Y > s[j-1].Y); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	var f []Point
	for _, p := range s {
		if len(f) == 0 || p.Y > f[len(f)-1].Y {
			f = append(f, p)
		}
	}
	return f
}

func sampleImportance(n int) *Importance {
	rng := rand.New(rand.NewPCG(4, 4))
	im := &Importance{}
	for i := range n {
		im.Names = append(im.Names, fmt.Sprintf("agents[%d].%s", i/5, []string{"temperature", "instruction", "demos", "model", "max_tokens"}[i%5]))
		im.Values = append(im.Values, math.Pow(rng.Float64(), 3))
	}
	im.Names[3] = "team.coordination.rounds_before_the_judge_decides_on_an_answer"
	return im
}

func sampleSteps() *Steps {
	rng := rand.New(rand.NewPCG(5, 5))
	s := &Steps{}
	best := math.NaN()
	for st := range 8 {
		step := Step{Step: st, Best: math.NaN()}
		for range 6 {
			v := math.Round((0.45+0.04*float64(st)+0.1*rng.NormFloat64())*32) / 32 // a 32-example batch
			step.Scores = append(step.Scores, v)
			if !(v <= best) {
				best = v
			}
		}
		if st != 3 { // a step whose best was not logged
			step.Best = best
		}
		s.Steps = append(s.Steps, step)
	}
	return s
}

// TestGolden renders each sample to PNG and compares it with
// testdata/<name>.png; -update rewrites the files. The comparison is
// loose (pixels differing by more than a small amount, under 0.5% of
// them) so that anti-aliasing noise does not fail it; on failure the image
// is kept as testdata/<name>.got.png.
func TestGolden(t *testing.T) {
	for _, g := range goldenInputs() {
		t.Run(g.name, func(t *testing.T) {
			if raceEnabled && !*update && g.name != "history" && g.name != "pareto" {
				t.Skip("a PNG takes seconds under the race detector; two plots suffice there")
			}
			t.Parallel()
			p, err := g.in.Plot()
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join("testdata", g.name+".png")
			got := filepath.Join("testdata", g.name+".got.png")
			if *update {
				if err := Save(p, want); err != nil {
					t.Fatal(err)
				}
				os.Remove(got)
				return
			}
			if err := Save(p, got); err != nil {
				t.Fatal(err)
			}
			share, err := pngDiff(want, got)
			if err != nil {
				t.Fatalf("%v (got image kept at %s; go test ./report -update rewrites the golden files)", err, got)
			}
			if share > 0.005 {
				t.Fatalf("%s: %.2f%% of pixels differ from %s (more than 0.5%%); got image kept",
					got, 100*share, want)
			}
			os.Remove(got)
		})
	}
}

// pngDiff returns the share of pixels of two same-size PNG files whose
// colour differs by more than 48 (of 255) in some channel.
func pngDiff(a, b string) (float64, error) {
	ia, err := decodePNG(a)
	if err != nil {
		return 0, err
	}
	ib, err := decodePNG(b)
	if err != nil {
		return 0, err
	}
	if ia.Bounds() != ib.Bounds() {
		return 0, fmt.Errorf("sizes differ: %v in %s, %v in %s", ia.Bounds(), a, ib.Bounds(), b)
	}
	pa, pb := toNRGBA(ia).Pix, toNRGBA(ib).Pix
	diff := 0
	for i := 0; i < len(pa); i += 4 {
		for c := range 4 {
			if d := int(pa[i+c]) - int(pb[i+c]); d > 48 || d < -48 {
				diff++
				break
			}
		}
	}
	return float64(diff) / float64(len(pa)/4), nil
}

// toNRGBA copies img into an NRGBA image at the origin.
func toNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

func decodePNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}

func TestPNGDiffDetectsChange(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	h := sampleHistory(2, 3, 20)
	p, err := h.Plot()
	if err != nil {
		t.Fatal(err)
	}
	const w, ht = 8 * vg.Centimeter, 5 * vg.Centimeter // small: quick under -race
	if err := SaveSize(p, a, w, ht); err != nil {
		t.Fatal(err)
	}
	h.Lines[0].Runs[0][5].Y += 0.5 // a visible change
	for k := 6; k < len(h.Lines[0].Runs[0]); k++ {
		h.Lines[0].Runs[0][k].Y = math.Max(h.Lines[0].Runs[0][k].Y, h.Lines[0].Runs[0][5].Y)
	}
	h.Title = "A different title"
	if p, err = h.Plot(); err != nil {
		t.Fatal(err)
	}
	if err := SaveSize(p, b, w, ht); err != nil {
		t.Fatal(err)
	}
	share, err := pngDiff(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if share <= 0.005 {
		t.Fatalf("changed plot differs in %.3f%% of pixels; the golden check would not notice", 100*share)
	}
	same, err := pngDiff(a, a)
	if err != nil || same != 0 {
		t.Fatalf("pngDiff(a, a) = %v, %v", same, err)
	}
}

// TestSVG checks that every plot's SVG is well-formed XML with an <svg>
// root and no XML declaration (it is inlined in HTML), and holds the title.
func TestSVG(t *testing.T) {
	for _, g := range goldenInputs() {
		t.Run(g.name, func(t *testing.T) {
			p, err := g.in.Plot()
			if err != nil {
				t.Fatal(err)
			}
			b, err := SVG(p)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.HasPrefix(b, []byte("<?xml")) {
				t.Error("SVG starts with an XML declaration")
			}
			title := p.Title.Text
			root, text, err := parseXML(b)
			if err != nil {
				t.Fatalf("SVG is not well-formed XML: %v", err)
			}
			if root != "svg" {
				t.Errorf("root element %q, want svg", root)
			}
			if !strings.Contains(text, title) {
				t.Errorf("SVG text does not contain the title %q", title)
			}
			if bytes.Contains(b, []byte(" id=")) {
				t.Error("SVG uses id attributes, which would clash between plots on one page")
			}
		})
	}
}

// parseXML returns the root element's name and all character data.
func parseXML(b []byte) (root, text string, err error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	var sb strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return root, sb.String(), nil
		}
		if err != nil {
			return root, sb.String(), err
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tk.Name.Local
			}
		case xml.CharData:
			sb.Write(tk)
		}
	}
}

func TestSVGEscapesTitle(t *testing.T) {
	h := sampleHistory(1, 2, 5)
	h.Title = `Scores <&> "quotes"`
	p, err := h.Plot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := SVG(p)
	if err != nil {
		t.Fatal(err)
	}
	_, text, err := parseXML(b)
	if err != nil {
		t.Fatalf("SVG with markup characters in the title is not XML: %v", err)
	}
	if !strings.Contains(text, h.Title) {
		t.Errorf("title %q not in the SVG text", h.Title)
	}
}

func TestSave(t *testing.T) {
	p, err := sampleSteps().Plot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"a.png", "b.SVG"} {
		path := filepath.Join(dir, name)
		if err := Save(p, path); err != nil {
			t.Fatalf("Save(%s): %v", name, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".png") {
			cfg, err := png.DecodeConfig(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Width != 945 || cfg.Height != 591 {
				t.Errorf("PNG is %d×%d, want 945×591 (16×10 cm at 150 dpi)", cfg.Width, cfg.Height)
			}
		} else if !bytes.HasPrefix(b, []byte("<!--")) && !bytes.HasPrefix(b, []byte("<svg")) {
			t.Errorf("SVG file starts %q", b[:min(20, len(b))])
		}
	}

	err = Save(p, filepath.Join(dir, "c.pdf"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `".pdf"`) {
		t.Errorf("Save(.pdf) = %v, want ErrInvalid naming the extension", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "c.pdf")); statErr == nil {
		t.Error("Save(.pdf) wrote a file")
	}
	err = Save(p, filepath.Join(dir, "noext"))
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("Save(no extension) = %v, want ErrInvalid", err)
	}
	err = Save(p, filepath.Join(dir, "missing", "a.png"))
	if err == nil {
		t.Error("Save into a missing directory succeeded; it must not create directories")
	}
	if _, statErr := os.Stat(filepath.Join(dir, "missing")); statErr == nil {
		t.Error("Save created a directory")
	}
	if err := Save(nil, filepath.Join(dir, "n.png")); !errors.Is(err, ErrInvalid) {
		t.Errorf("Save(nil) = %v, want ErrInvalid", err)
	}
	if err := SaveSize(p, filepath.Join(dir, "z.png"), 0, Height); !errors.Is(err, ErrInvalid) {
		t.Errorf("SaveSize(width 0) = %v, want ErrInvalid", err)
	}
	if _, err := SVG(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("SVG(nil) = %v, want ErrInvalid", err)
	}
}

func TestSaveSize(t *testing.T) {
	p, err := sampleImportance(40).Plot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tall.png")
	if err := SaveSize(p, path, 4*vg.Centimeter, 8*vg.Centimeter); err != nil {
		t.Fatal(err)
	}
	img, err := decodePNG(path)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 236 || b.Dy() != 472 {
		t.Errorf("size %v, want 236×472 (4×8 cm at 150 dpi)", b.Size())
	}
}
