package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// newProgress draws a bar per study when w is a terminal, and prints plain
// log lines otherwise (CI, pipes, files).
func newProgress(w io.Writer) experiments.Progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: w}
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
	fmt.Fprintf(p.w, "study %s: %d trials, best %.4f, %d calls, $%.4f\n", study, s.Trials, best, s.Calls, s.Cost)
}

func (p *lineProgress) Finish(s experiments.Summary) {
	fmt.Fprintf(p.w, "study %s: done, %d trials, best val %s, test %s (baseline %s), %d calls, $%.4f, %.2fs\n",
		s.Study, s.Trials, fmtScore(s.BestValScore), fmtScore(s.TestScore), fmtScore(s.BaselineTestScore), s.LMCalls, s.CostUSD, s.WallSeconds)
}

// barProgress draws one progress bar per study on a terminal.
type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) Start(study string, b optimizer.Budget, done int) {
	max := int64(b.Trials)
	if max == 0 {
		max = -1 // unknown length: a spinner
	}
	p.bar = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(study),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
	)
	_ = p.bar.Set(done)
}

func (p *barProgress) Trial(study string, t optimizer.Trial, best float64, s optimizer.Spent) {
	p.bar.Describe(fmt.Sprintf("%s best %.3f calls %d $%.4f", study, best, s.Calls, s.Cost))
	_ = p.bar.Set(s.Trials)
}

func (p *barProgress) Finish(s experiments.Summary) {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
	fmt.Fprintf(p.w, "\nstudy %s: test %s (baseline %s)\n", s.Study, fmtScore(s.TestScore), fmtScore(s.BaselineTestScore))
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
