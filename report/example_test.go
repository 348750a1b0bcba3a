package report_test

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/mabeam/mabeam/report"
)

// Plot two optimizers' best-so-far validation scores against LM calls
// (two seeds each), save the plot as PNG and SVG, and put it in an HTML
// report page.
func Example() {
	h := report.History{Lines: []report.HistoryLine{
		{Name: "random", Runs: [][]report.Point{
			{{X: 100, Y: 0.55}, {X: 300, Y: 0.60}, {X: 500, Y: 0.60}},
			{{X: 120, Y: 0.50}, {X: 280, Y: 0.65}, {X: 520, Y: 0.70}},
		}},
		{Name: "simba", Runs: [][]report.Point{
			{{X: 150, Y: 0.55}, {X: 350, Y: 0.75}, {X: 500, Y: 0.80}},
			{{X: 150, Y: 0.60}, {X: 330, Y: 0.70}, {X: 510, Y: 0.85}},
		}},
	}}
	p, err := h.Plot()
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "report-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"history.png", "history.svg"} {
		if err := report.Save(p, filepath.Join(dir, name)); err != nil {
			fmt.Println(err)
			return
		}
	}
	f, err := os.Open(filepath.Join(dir, "history.png"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("history.png: %d×%d pixels\n", cfg.Width, cfg.Height)

	svg, err := report.SVG(p)
	if err != nil {
		fmt.Println(err)
		return
	}
	page := report.Page{Title: "Demo", Sections: []report.Section{{
		Heading: "Best so far",
		Tables:  []report.Table{{Caption: "Best", Header: []string{"optimizer", "score"}, Rows: [][]string{{"random", "0.65"}, {"simba", "0.83"}}}},
		Figures: []report.Figure{{Caption: "Best-so-far validation score", SVG: svg}},
	}}}
	var html bytes.Buffer
	if err := page.WriteHTML(&html); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("page:", strings.Count(html.String(), "<figure"), "figure,", strings.Count(html.String(), "<table"), "table")

	// Invalid input is an error, never a panic.
	_, err = (&report.History{}).Plot()
	fmt.Println(err)
	// Output:
	// history.png: 945×591 pixels
	// page: 1 figure, 1 table
	// report: history: Lines: no lines to draw
}
