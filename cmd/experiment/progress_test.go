package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/optimizer"
)

// screenLines splits what a progress writer wrote into the lines as drawn
// on a terminal: a carriage return starts the line again.
func screenLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		lines = append(lines, strings.Split(l, "\r")...)
	}
	return lines
}

// TestBarProgressFitsTheTerminal: every redraw of the progress line fits
// in the terminal's width, at most 80 columns, so it overwrites the last
// one instead of wrapping; a long study name is shortened from the left;
// no best score is shown before a trial completed.
func TestBarProgressFitsTheTerminal(t *testing.T) {
	long := "topology_adversary_with_a_long_name/beacon-large-budget/multihop-hard/seed123456"
	score := 0.8125
	for _, width := range []int{80, 120, 60, 40} {
		for _, b := range []optimizer.Budget{{Trials: 300}, {Calls: 1_000_000}, {Trials: 12, Cost: 4}} {
			for _, name := range []string{"q/random/arith/seed1", long} {
				var buf bytes.Buffer
				p := &barProgress{w: &buf, width: width}
				p.Start(name, b, 0)
				start := buf.String()
				if strings.Contains(start, "best") {
					t.Errorf("width %d: the line at 0 trials shows a best score: %q", width, start)
				}
				p.Trial(name, optimizer.Trial{}, math.NaN(), optimizer.Spent{Trials: 1, Calls: 40, Cost: 0.01})
				p.last = p.last.Add(-redrawEvery)
				if strings.Contains(buf.String(), "best") {
					t.Errorf("width %d: a best score shown with no complete trial: %q", width, buf.String())
				}
				p.Trial(name, optimizer.Trial{}, 0.7, optimizer.Spent{Trials: 150, Calls: 123_456, Cost: 12.3456})
				p.last = p.last.Add(-redrawEvery)
				p.Trial(name, optimizer.Trial{}, 0.75, optimizer.Spent{Trials: 299_999, Calls: 99_999_999, Cost: 12345.6789})
				p.Finish(experiments.Summary{Study: name, TestScore: &score})
				out := buf.String()
				if !strings.Contains(out, "best 0.750") && width >= 80 {
					t.Errorf("width %d: the last redraw does not show the best score: %q", width, out)
				}
				lines := screenLines(out)
				for _, l := range lines[:len(lines)-2] { // the summary line after the bar may wrap
					if n := utf8.RuneCountInString(l); n > min(width, maxLineWidth)-1 {
						t.Errorf("width %d, budget %+v: a %d-column line: %q", width, b, n, l)
					}
				}
				if name == long && !strings.Contains(out, "seed123456") {
					t.Errorf("width %d: the shortened name lost its end: %q", width, out)
				}
			}
		}
	}
}

// TestLineProgressNoBestBeforeATrial: the log line shows no best score
// before a trial completed.
func TestLineProgressNoBestBeforeATrial(t *testing.T) {
	var buf bytes.Buffer
	p := &lineProgress{w: &buf}
	p.Trial("s", optimizer.Trial{}, math.NaN(), optimizer.Spent{Trials: 2})
	p.Trial("s", optimizer.Trial{}, 0.5, optimizer.Spent{Trials: 3})
	if out := buf.String(); strings.Contains(out, "NaN") || !strings.Contains(out, "3 trials, best 0.5000") {
		t.Errorf("lineProgress printed %q", out)
	}
}
