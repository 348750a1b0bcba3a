package main

import (
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mabeam/mabeam/internal/chromium"
	"github.com/mabeam/mabeam/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// tinyDB runs experiments/testdata/plots.yaml (the plot tests' tiny
// experiment) into dir/tiny.db with the CLI.
func tinyDB(t *testing.T, dir string) string {
	t.Helper()
	cfg := filepath.Join("..", "..", "experiments", "testdata", "plots.yaml")
	db := filepath.Join(dir, "tiny.db")
	if code, _, errOut := cli(t, "run", cfg, "--db", db); code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	return db
}

func TestPlotAndReport(t *testing.T) {
	dir := t.TempDir()
	db := tinyDB(t, dir)
	out := filepath.Join(dir, "plots", "all") // created by plot
	code, stdout, stderr := cli(t, "plot", "--db", db, "--out", out)
	if code != 0 {
		t.Fatalf("plot: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "importance_simba") {
		t.Errorf("plot's stderr %q does not note SIMBA's missing importance plot", stderr)
	}
	paths := strings.Fields(stdout)
	kinds := map[string]int{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatalf("plot printed %s: %v", p, err)
		}
		switch filepath.Ext(p) {
		case ".png":
			if _, err := png.Decode(f); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		case ".svg":
			if err := parseXML(f); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		default:
			t.Errorf("plot wrote %s", p)
		}
		f.Close()
		kinds[filepath.Ext(p)]++
		for _, k := range []string{"history_calls", "history_cost", "pareto", "importance", "contributions", "topology", "steps"} {
			if strings.Contains(p, "_"+k) {
				kinds[k]++
			}
		}
	}
	if kinds[".png"] != kinds[".svg"] || kinds[".png"] != 18 {
		t.Errorf("%d PNG and %d SVG files, want 18 each", kinds[".png"], kinds[".svg"])
	}
	for k, n := range map[string]int{"history_calls": 2, "history_cost": 2, "pareto": 2, "importance": 2, "contributions": 16, "topology": 8, "steps": 4} {
		if kinds[k] != n {
			t.Errorf("%d %s files, want %d", kinds[k], k, n)
		}
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != len(paths) {
		t.Errorf("%d files in %s, %d printed", len(entries), out, len(paths))
	}

	// One study, one format.
	one := filepath.Join(dir, "one")
	code, stdout, stderr = cli(t, "plot", "--db", db, "--out", one, "--study", "tiny/arith/simba/seed1", "--format", "png")
	if code != 0 {
		t.Fatalf("plot --study: exit %d: %s", code, stderr)
	}
	for _, p := range strings.Fields(stdout) {
		if filepath.Ext(p) != ".png" || strings.Contains(p, "random_seed") || strings.Contains(p, "seed2") {
			t.Errorf("plot --study simba/seed1 --format png wrote %s", p)
		}
	}
	if !strings.Contains(stdout, "tiny_arith_simba_seed1_steps.png") {
		t.Errorf("plot --study wrote %q, want SIMBA's steps", stdout)
	}

	var js struct {
		Files    []string `json:"files"`
		NotDrawn []string `json:"not_drawn"`
	}
	code, stdout, stderr = cli(t, "plot", "--db", db, "--out", one, "--study", "tiny/arith/random/seed2", "--format", "svg", "--json")
	if code != 0 {
		t.Fatalf("plot --json: exit %d: %s", code, stderr)
	}
	oneJSON(t, stdout, &js)
	if len(js.Files) != 7 || js.NotDrawn == nil { // 2 histories, Pareto, importance, 2 contributions, topology
		t.Errorf("plot --json: %+v, want 7 files and a list of plots not drawn", js)
	}

	html := filepath.Join(dir, "report.html")
	code, stdout, stderr = cli(t, "report", "--db", db, "--out", html)
	if code != 0 || !strings.Contains(stdout, html) {
		t.Fatalf("report: exit %d: %s%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if n := strings.Count(page, "<svg"); n != kinds[".svg"] {
		t.Errorf("the report has %d <svg> elements, want one per plot (%d)", n, kinds[".svg"])
	}
	for _, frag := range []string{`<table id="comparison"`, "TEST (95% CI)", "GAIN (95% CI)", "CALLS/STUDY",
		"tiny/arith/random/seed1", "SHAPLEY", "BASELINE", "tokens_per_question"} {
		if !strings.Contains(page, frag) {
			t.Errorf("the report lacks %q", frag)
		}
	}
	var rj struct {
		File    string `json:"file"`
		Studies int    `json:"studies"`
		Plots   int    `json:"plots"`
	}
	code, stdout, stderr = cli(t, "report", "--db", db, "--out", html, "--json")
	if code != 0 {
		t.Fatalf("report --json: exit %d: %s", code, stderr)
	}
	if oneJSON(t, stdout, &rj); rj.File != html || rj.Studies != 4 || rj.Plots != kinds[".svg"] {
		t.Errorf("report --json: %+v, want %s with 4 studies and %d plots", rj, html, kinds[".svg"])
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".report.html.*")); len(m) > 0 {
		t.Errorf("report left %v", m)
	}
}

// TestReportInChromium opens the page `experiment report` writes in
// headless Chromium: loading it logs no console error, the DOM holds the
// comparison table and one <svg> per plot the command counted, and its
// screenshot matches testdata/report.png (-update rewrites that).
func TestReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium; skipped with -short")
	}
	bin, err := chromium.Find()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	db := tinyDB(t, dir)
	page := filepath.Join(dir, "tiny.html")
	code, stdout, stderr := cli(t, "report", "--db", db, "--out", page)
	if code != 0 {
		t.Fatalf("report: exit %d: %s%s", code, stdout, stderr)
	}
	m := regexp.MustCompile(`^` + regexp.QuoteMeta(page) + ` \((\d+) studies, (\d+) plots, \d+ bytes\)\n$`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("report printed %q, want %q", stdout, page+" (N studies, N plots, N bytes)")
	}
	plots, _ := strconv.Atoi(m[2])
	if plots == 0 {
		t.Fatalf("report wrote no plot: %s", stdout)
	}
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(src), "<figure "); n != plots {
		t.Fatalf("the report has %d <figure> elements; it said %d plots", n, plots)
	}
	// The subtests run in parallel, each its own Chromium, within 60 s.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)

	t.Run("console", func(t *testing.T) {
		t.Parallel()
		br, err := chromium.Start(ctx, bin)
		if err != nil {
			t.Fatal(err)
		}
		defer br.Close()
		errs, err := br.ConsoleErrors(ctx, chromium.FileURL(page))
		if err != nil {
			t.Fatal(err)
		}
		if len(errs) > 0 {
			t.Errorf("loading the report logged %d errors:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	})

	t.Run("dom", func(t *testing.T) {
		t.Parallel()
		dom, err := chromium.DumpDOM(ctx, bin, page)
		if err != nil {
			t.Fatal(err)
		}
		table := regexp.MustCompile(`<table id="comparison" class="table">\s*<caption>[^<]+</caption>[\s\S]*?</table>`).FindString(dom)
		if table == "" {
			t.Error(`the rendered DOM has no <table id="comparison" class="table"> with a caption`)
		}
		for _, opt := range []string{"random", "simba"} {
			if !strings.Contains(table, "<td>"+opt+"</td>") {
				t.Errorf("the comparison table has no row for %s:\n%s", opt, table)
			}
		}
		if n := strings.Count(dom, "<svg "); n != plots {
			t.Errorf("the rendered DOM has %d <svg> elements; report said it wrote %d plots", n, plots)
		}
		held := regexp.MustCompile(`<figure id="[^"]+" class="plot">\s*<svg [^>]*viewBox="[^"]+"[^>]*>[\s\S]*?</svg>\s*<figcaption>[^<]+</figcaption>\s*</figure>`).FindAllString(dom, -1)
		if len(held) != plots {
			t.Errorf("%d <figure> elements of the rendered DOM hold an <svg> and a caption, want %d", len(held), plots)
		}
		if t.Failed() {
			t.Logf("DOM:\n%s", dom)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		t.Parallel()
		golden := filepath.Join("testdata", "report.png")
		// The subtitle (the store's temporary path, the time) differs from
		// run to run: a few hundred pixels.
		share, err := chromium.MatchScreenshot(ctx, bin, page, golden, 1280, 2000, 0.02, *update)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%.3f%% of the pixels differ from %s", 100*share, golden)
	})
}

// parseXML reads r to the end as XML.
func parseXML(r io.Reader) error {
	d := xml.NewDecoder(r)
	for {
		if _, err := d.Token(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func TestPlotAndReportErrors(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	empty := filepath.Join(dir, "empty.db")
	s, err := store.Open(ctx, empty)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if code, _, errOut := cli(t, "ask", "--db", empty, "--study", "bb", "--space", `{"x":{"type":"float","low":0,"high":1}}`); code != 0 {
		t.Fatalf("ask: exit %d: %s", code, errOut)
	}
	cases := []struct {
		args []string
		frag string
	}{
		{[]string{"plot", "--db", filepath.Join(dir, "missing.db"), "--out", dir}, "no such database"},
		{[]string{"report", "--db", filepath.Join(dir, "missing.db"), "--out", filepath.Join(dir, "r.html")}, "no such database"},
		{[]string{"plot", "--db", empty, "--out", dir}, "holds no experiment study"},
		{[]string{"report", "--db", empty, "--out", filepath.Join(dir, "r.html")}, "holds no experiment study"},
		{[]string{"plot", "--db", empty, "--out", dir, "--study", "nosuch"}, `no study "nosuch"`},
		{[]string{"plot", "--db", empty, "--out", dir, "--study", "bb"}, "ask/tell study"},
		{[]string{"plot", "--db", empty, "--out", dir, "--format", "pdf"}, "want png, svg or both"},
		{[]string{"plot", "--db", empty}, "--out is required"},
		{[]string{"report", "--db", empty, "--out", filepath.Join(dir, "nodir", "r.html")}, "does not exist"},
		{[]string{"report", "--db", empty, "--out", dir}, "is a directory"},
	}
	for _, c := range cases {
		code, _, errOut := cli(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.frag) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, errOut, c.frag)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("plot created the missing store")
	}
}

func TestPlotUnknownStudyListsKnownOnes(t *testing.T) {
	dir := t.TempDir()
	db := tinyDB(t, dir)
	code, _, errOut := cli(t, "plot", "--db", db, "--out", filepath.Join(dir, "p"), "--study", "tiny/arith/random/seed9")
	if code != 2 || !strings.Contains(errOut, `no study "tiny/arith/random/seed9"`) || !strings.Contains(errOut, "tiny/arith/simba/seed2") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming the study and listing the known ones", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "p")); err == nil {
		t.Error("a failed plot created its --out directory")
	}
}
