package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/optimizer"
	"golang.org/x/term"
)

// newProgress draws a bar per study when w is a terminal, and prints plain
// log lines otherwise (CI, pipes, files).
func newProgress(w io.Writer) experiments.Progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: w, width: terminalWidth(f)}
	}
	return &lineProgress{w: w, every: 10 * time.Second}
}

// lineProgress prints a line when a study starts and ends, and at most one
// progress line per interval in between.
type lineProgress struct {
	w     io.Writer
	every time.Duration
	last  time.Time
}

func (p *lineProgress) Start(study string, b optimizer.Budget, done int) {
	fmt.Fprintf(p.w, "study %s: starting (%s)", study, budgetString(b))
	if done > 0 {
		fmt.Fprintf(p.w, ", %d trial(s) already done", done)
	}
	fmt.Fprintln(p.w)
	p.last = time.Now()
}

func (p *lineProgress) Trial(study string, t optimizer.Trial, best float64, s optimizer.Spent) {
	if time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "study %s: %d trials", study, s.Trials)
	if s.Trials > 0 && !math.IsNaN(best) {
		fmt.Fprintf(p.w, ", best %.4f", best)
	}
	fmt.Fprintf(p.w, ", %d calls, $%.4f\n", s.Calls, s.Cost)
}

func (p *lineProgress) Finish(s experiments.Summary) {
	fmt.Fprintf(p.w, "study %s: done, %d trials, best val %s, test %s (baseline %s), %d calls, $%.4f, %.2fs\n",
		s.Study, s.Trials, fmtScore(s.BestValScore), fmtScore(s.TestScore), fmtScore(s.BaselineTestScore), s.LMCalls, s.CostUSD, s.WallSeconds)
}

// barProgress redraws one status line per study on a terminal: the study,
// a bar of the budget spent, the trials, the best value so far and the
// cost. The line never has more than width-1 columns, so a redraw
// overwrites it instead of wrapping onto a new line.
type barProgress struct {
	w     io.Writer
	width int // the terminal's columns, at most maxLineWidth

	study  string
	budget optimizer.Budget
	spent  optimizer.Spent
	best   float64   // NaN until a trial completes
	last   time.Time // of the last redraw
	drawn  int       // columns of the line on screen; 0 for none
}

// maxLineWidth bounds the progress line, whatever the terminal's width.
const maxLineWidth = 80

// redrawEvery throttles redraws between a study's start and finish.
const redrawEvery = 100 * time.Millisecond

// terminalWidth returns f's columns, at most maxLineWidth.
func terminalWidth(f *os.File) int {
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil || w <= 0 {
		return maxLineWidth
	}
	return min(w, maxLineWidth)
}

func (p *barProgress) Start(study string, b optimizer.Budget, done int) {
	p.study, p.budget, p.best, p.drawn = study, b, math.NaN(), 0
	p.spent = optimizer.Spent{Trials: done}
	p.draw(true)
}

func (p *barProgress) Trial(study string, t optimizer.Trial, best float64, s optimizer.Spent) {
	p.spent, p.best = s, best
	p.draw(false)
}

func (p *barProgress) Finish(s experiments.Summary) {
	if p.drawn > 0 {
		p.draw(true)
		fmt.Fprintln(p.w)
		p.drawn = 0
	}
	fmt.Fprintf(p.w, "study %s: test %s (baseline %s)\n", s.Study, fmtScore(s.TestScore), fmtScore(s.BaselineTestScore))
}

// draw writes the line over the one on screen, at most every redrawEvery
// unless forced.
func (p *barProgress) draw(force bool) {
	now := time.Now()
	if !force && now.Sub(p.last) < redrawEvery {
		return
	}
	p.last = now
	line := p.line()
	n := utf8.RuneCountInString(line)
	// Spaces clear what is left of a longer previous line.
	fmt.Fprint(p.w, "\r"+line+strings.Repeat(" ", max(0, p.drawn-n)))
	p.drawn = max(n, p.drawn)
}

// line renders the status line in at most width-1 columns.
func (p *barProgress) line() string {
	width := min(max(p.width, 20), maxLineWidth) - 1
	b, s := p.budget, p.spent
	count := fmt.Sprintf(" %d trials", s.Trials)
	if b.Trials > 0 {
		count = fmt.Sprintf(" %d/%d", s.Trials, b.Trials)
	}
	stats := ""
	if s.Trials > 0 && !math.IsNaN(p.best) {
		stats = fmt.Sprintf(" best %.3f", p.best)
	}
	stats += fmt.Sprintf(" %d calls $%.4f", s.Calls, s.Cost)

	// The share of the budget spent: its most-spent bound.
	frac, bounded := 0.0, false
	for _, r := range [][2]float64{{float64(s.Trials), float64(b.Trials)}, {float64(s.Calls), float64(b.Calls)}, {s.Cost, b.Cost}} {
		if r[1] > 0 {
			frac, bounded = max(frac, min(1, r[0]/r[1])), true
		}
	}
	const minBar, maxBar = 10, 30
	name := p.study
	rest := len(count) + len(stats)
	if bounded {
		rest += 3 + minBar // " [" + bar + "]"
	}
	name = truncateLeft(name, max(8, width-rest))
	bar := ""
	if bounded {
		cells := max(minBar, min(maxBar, minBar+width-utf8.RuneCountInString(name)-rest))
		full := int(frac * float64(cells))
		bar = " [" + strings.Repeat("=", full) + strings.Repeat(" ", cells-full) + "]"
	}
	return truncateRight(name+bar+count+stats, width)
}

// truncateLeft shortens s to n columns, keeping its end ("...seed1").
func truncateLeft(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 3 {
		return string(r[len(r)-n:])
	}
	return "..." + string(r[len(r)-(n-3):])
}

// truncateRight shortens s to n columns, keeping its start.
func truncateRight(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

func budgetString(b optimizer.Budget) string {
	s := ""
	add := func(x string) {
		if s != "" {
			s += ", "
		}
		s += x
	}
	if b.Trials > 0 {
		add(fmt.Sprintf("%d trials", b.Trials))
	}
	if b.Calls > 0 {
		add(fmt.Sprintf("%d calls", b.Calls))
	}
	if b.Cost > 0 {
		add(fmt.Sprintf("$%g", b.Cost))
	}
	return "budget " + s
}

func fmtScore(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *p)
}
