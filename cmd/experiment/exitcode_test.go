package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/store"
)

// TestExitCodeMapping: the one mapping from errors to exit codes, for the
// packages' sentinels as the commands return them (wrapped).
func TestExitCodeMapping(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("study x: %w", err) }
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("disk I/O error"), 1},
		{usagef("--n must be positive"), 2},
		{flagError{errors.New("unknown flag: --nope")}, 2},
		{errors.New(`unknown command "nosuch" for "experiment"`), 2},
		{wrap(store.ErrNotFound), 2},
		{wrap(store.ErrExists), 2},
		{wrap(store.ErrFinished), 2},
		{wrap(store.ErrNotAStore), 2},
		{wrap(store.ErrDamaged), 2},
		{wrap(store.ErrSchemaTooNew), 2},
		{wrap(experiments.ErrConfigChanged), 2},
		{wrap(experiments.ErrStudyExists), 2},
		{wrap(experiments.ErrInvalidConfig), 2},
		{fmt.Errorf("%w; resume with ...", experiments.ErrStopped), 130},
		{errors.Join(experiments.ErrStopped, errors.New("could not mark the study")), 130},
		{fmt.Errorf("%w: run it again", errInterrupted), 130},
	}
	for _, c := range cases {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// exitCase is one command line and the exit code it must give.
type exitCase struct {
	name string
	args []string
	code int
	frag string       // in stderr, if not ""
	then func() error // a check after the command, if not nil
}

// TestExitCodes runs every command in-process, for success and for at
// least one error each, in order (later cases use what earlier ones
// stored), and checks the exit code and what stderr says.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	write := func(name, text string) string {
		if err := os.WriteFile(p(name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p(name)
	}
	unchanged := func(path, want string) func() error {
		return func() error {
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				return fmt.Errorf("%s changed: %q, %v", path, got, err)
			}
			return nil
		}
	}
	noFile := func(path string) func() error {
		return func() error {
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("%s was created", path)
			}
			return nil
		}
	}
	repro := filepath.Join("testdata", "repro.yaml")
	good, err := os.ReadFile(repro)
	if err != nil {
		t.Fatal(err)
	}
	changed := write("changed.yaml", strings.Replace(string(good), "val: 30", "val: 31", 1))
	empty := write("empty.db", "")
	const csv = "id,score\n1,0.5\n"
	text := write("text.db", csv)
	damaged := p("damaged.db")
	makeDamaged(t, damaged)
	exp, bb := p("exp.db"), p("bb.db")
	sp := `{"x":{"type":"float","low":-5,"high":10}}`
	ask := func(db, study string, extra ...string) []string {
		return append([]string{"ask", "--db", db, "--study", study, "--space", sp}, extra...)
	}
	tell := func(trial, value string) []string {
		return []string{"tell", "--db", bb, "--study", "s", "--trial", trial, "--value", value}
	}
	out := p("a.jsonl")

	commands := map[string][]exitCase{
		"run": {
			{"success", []string{"run", repro, "--db", exp, "--json"}, 0, "", nil},
			{"missing config", []string{"run", p("nosuch.yaml"), "--db", exp}, 2, "nosuch.yaml", nil},
			{"existing study without --resume", []string{"run", repro, "--db", exp}, 2, "--resume", nil},
			{"changed config on --resume", []string{"run", changed, "--db", exp, "--resume"}, 2, "", nil},
			{"--db in a missing directory", []string{"run", repro, "--db", p("no/such/x.db")}, 2, "directory " + p("no/such") + " does not exist", noFile(p("no"))},
			{"--resume of a complete experiment", []string{"run", repro, "--db", exp, "--resume", "--json"}, 0, "", nil},
		},
		"compare": {
			{"success", []string{"compare", "--db", exp}, 0, "", nil},
			{"unknown experiment", []string{"compare", "--db", exp, "--experiment", "nosuch"}, 2, "repro", nil},
			{"missing --db", []string{"compare", "--db", p("missing.db")}, 2, "no such database", noFile(p("missing.db"))},
			{"empty file", []string{"compare", "--db", empty}, 2, "not a MABEAM store: " + empty + " is empty", unchanged(empty, "")},
			{"not SQLite", []string{"compare", "--db", text}, 2, text + " is not an SQLite database", unchanged(text, csv)},
			{"damaged store", []string{"compare", "--db", damaged}, 2, "damaged store", nil},
		},
		"evaluate": {
			{"success", []string{"evaluate", "--n", "20", "--teams", "single", "--json"}, 0, "", nil},
			{"--n above the cap", []string{"evaluate", "--n", "1000001"}, 2, "limit of 1000000", nil},
			{"unknown family", []string{"evaluate", "--family", "chess"}, 2, "unknown family", nil},
		},
		"ask": {
			{"success", ask(bb, "s"), 0, "", nil},
			{"again", ask(bb, "s"), 0, "", nil},
			{"another seed", ask(bb, "s", "--seed", "4"), 2, "seed 0", nil},
			{"--db in a missing directory", ask(p("no/x.db"), "s"), 2, "directory " + p("no") + " does not exist", noFile(p("no"))},
			{"--db a directory", ask(dir, "s"), 2, "is a directory", nil},
			{"--db not SQLite", ask(text, "s"), 2, "is not an SQLite database", unchanged(text, csv)},
			{"--db damaged", ask(damaged, "s"), 2, "damaged store", nil},
			{"study without a complete trial", ask(bb, "untold"), 0, "", nil},
			{"sampler settings", ask(bb, "det", "--sampler", "beacon", "--sampler-settings", `{"deterministic": true}`), 0, "", nil},
			{"other sampler settings", ask(bb, "det", "--sampler", "beacon"), 2, "other sampler settings", nil},
			{"unknown sampler setting", ask(bb, "typo", "--sampler", "beacon", "--sampler-settings", `{"determinstic": true}`), 2, `unknown field "determinstic"`, nil},
			{"settings for a sampler without any", ask(bb, "r", "--sampler-settings", `{"a": 1}`), 2, "takes no settings", nil},
			{"settings not an object", ask(bb, "r", "--sampler", "beacon", "--sampler-settings", `[1]`), 2, "not a JSON object", nil},
		},
		"tell": {
			{"success", tell("0", "1.5"), 0, "", nil},
			{"complete trial", tell("0", "2"), 2, "already complete", nil},
			{"unknown trial", tell("99", "2"), 2, "trial 99 not found", nil},
			{"unknown study", []string{"tell", "--db", bb, "--study", "nosuch", "--trial", "0", "--fail"}, 2, `"nosuch" not found`, nil},
			{"-Inf", tell("1", "-Inf"), 2, "not a finite number", nil},
			{"Inf", tell("1", "Inf"), 2, "not a finite number", nil},
			{"infinity", tell("1", "infinity"), 2, "not a finite number", nil},
			{"NaN", tell("1", "NaN"), 2, "not a finite number", nil},
			{"1e309", tell("1", "1e309"), 2, "not a finite number", nil},
			{"empty file", []string{"tell", "--db", empty, "--study", "s", "--trial", "0", "--fail"}, 2, "is empty", unchanged(empty, "")},
		},
		"best": {
			{"success", []string{"best", "--db", bb, "--study", "s", "--json"}, 0, "", nil},
			{"unknown study", []string{"best", "--db", bb, "--study", "nosuch"}, 2, `"nosuch" not found`, nil},
			{"no complete trial", []string{"best", "--db", bb, "--study", "untold"}, 2, "no complete trial", nil},
			{"not SQLite", []string{"best", "--db", text, "--study", "s"}, 2, "is not an SQLite database", unchanged(text, csv)},
		},
		"datasets list": {
			{"success", []string{"datasets", "list"}, 0, "", nil},
			{"extra argument", []string{"datasets", "list", "extra"}, 2, "takes no arguments", nil},
		},
		"datasets export": {
			{"success", []string{"datasets", "export", "logic", "--n", "5", "--out", out}, 0, "", nil},
			{"existing file", []string{"datasets", "export", "logic", "--n", "6", "--out", out}, 2, "pass --force", lines(out, 5)},
			{"--force", []string{"datasets", "export", "logic", "--n", "6", "--out", out, "--force"}, 0, "", lines(out, 6)},
			{"--out a directory", []string{"datasets", "export", "logic", "--n", "5", "--out", dir}, 2, "is a directory", nil},
			{"--out in a missing directory", []string{"datasets", "export", "logic", "--out", p("no/a.jsonl")}, 2, "does not exist", noFile(p("no"))},
			{"--n above the cap", []string{"datasets", "export", "logic", "--n", "1000001", "--out", "-"}, 2, "limit of 1000000", nil},
		},
		"version": {
			{"success", []string{"version"}, 0, "", nil},
			{"extra argument", []string{"version", "extra"}, 2, "takes no arguments", nil},
		},
	}
	// The commands in an order where each finds what it needs.
	order := []string{"run", "compare", "evaluate", "ask", "tell", "best", "datasets list", "datasets export", "version"}
	if len(order) != len(commands) {
		t.Fatal("order lists another set of commands")
	}
	for _, name := range order {
		t.Run(name, func(t *testing.T) {
			for _, c := range commands[name] {
				code, stdout, stderr := cli(t, c.args...)
				if code != c.code || !strings.Contains(stderr, c.frag) {
					t.Errorf("%s: %v: exit %d, stderr %q; want exit %d mentioning %q", c.name, c.args, code, stderr, c.code, c.frag)
				}
				if code == 0 && slices.Contains(c.args, "--json") && !json.Valid([]byte(stdout)) {
					t.Errorf("%s: --json printed %q", c.name, stdout)
				}
				if c.then != nil {
					if err := c.then(); err != nil {
						t.Errorf("%s: %v", c.name, err)
					}
				}
			}
		})
	}

	// No temporary file is left behind by export, whatever happened.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("%s left in %s", e.Name(), dir)
		}
	}

	// A runtime failure (here stdout fails) exits 1.
	var stderr bytes.Buffer
	if code := run([]string{"datasets", "export", "logic", "--n", "5", "--out", "-"}, failWriter{}, &stderr); code != 1 {
		t.Errorf("export to a failing stdout: exit %d (%s), want 1", code, stderr.String())
	}
}

// lines checks that path holds n lines.
func lines(path string, n int) func() error {
	return func() error {
		b, err := os.ReadFile(path)
		if got := bytes.Count(b, []byte("\n")); err != nil || got != n {
			return fmt.Errorf("%s has %d lines (%v), want %d", path, got, err, n)
		}
		return nil
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// makeDamaged writes a store whose schema_version table was emptied.
func makeDamaged(t *testing.T, path string) {
	t.Helper()
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM schema_version`); err != nil {
		t.Fatal(err)
	}
}

// TestAskWideFloatRange: ask over a float range wider than the largest
// float64 proposes values spread over it, not its upper bound each time.
func TestAskWideFloatRange(t *testing.T) {
	db := filepath.Join(t.TempDir(), "w.db")
	sp := `{"x":{"type":"float","low":-1.7e308,"high":1.7e308}}`
	var neg, pos int
	for i := range 12 {
		code, stdout, stderr := cli(t, "ask", "--db", db, "--study", "w", "--space", sp, "--seed", "1")
		var r struct{ Params map[string]float64 }
		if code != 0 || json.Unmarshal([]byte(stdout), &r) != nil {
			t.Fatalf("ask %d: exit %d %q %s", i, code, stdout, stderr)
		}
		switch x := r.Params["x"]; {
		case x == 1.7e308:
			t.Fatalf("ask %d proposed the upper bound", i)
		case x < 0:
			neg++
		default:
			pos++
		}
	}
	if neg == 0 || pos == 0 {
		t.Errorf("12 asks: %d negative, %d positive values; want both", neg, pos)
	}
}

// stderrWatcher collects a process's stderr and reports when it first
// holds a string.
type stderrWatcher struct {
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *stderrWatcher) Write(b []byte) (int, error) {
	had := strings.Contains(w.buf.String(), w.want)
	w.buf.Write(b)
	if !had && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
	}
	return len(b), nil
}

// TestEvaluateInterruptExits130: Ctrl-C during evaluate exits 130 and says
// what to do.
func TestEvaluateInterruptExits130(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT on windows")
	}
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	// Long enough (millions of calls) to be interrupted.
	cmd := command(ctx, "", "evaluate", "--n", "200000", "--teams", "debate5")
	w := &stderrWatcher{want: "evaluating debate5", seen: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = io.Discard, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-w.seen:
	case err := <-done:
		t.Fatalf("evaluate ended before it was interrupted: %v", err)
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("evaluate did not start evaluating within a minute")
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-done
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(w.buf.String(), "interrupted") {
		t.Errorf("interrupted evaluate: exit %d, stderr %q; want 130 saying it was interrupted", code, w.buf.String())
	}
}

// TestRunSignalExits130: SIGINT (Ctrl-C) and SIGTERM stop a run with exit
// 130 and say how to resume.
func TestRunSignalExits130(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT or SIGTERM on windows")
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		dir := t.TempDir()
		cmd, done, stderr := startRun(t, e2eConfig(t, dir), filepath.Join(dir, "sig.db"))
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		<-done
		if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(stderr.String(), "--resume") {
			t.Errorf("run stopped by %v: exit %d, stderr %q; want 130 saying how to resume", sig, code, stderr)
		}
	}
}

// TestWriteFileAtomicLeavesNoTemp: a failed write or rename removes the
// temporary file and leaves the target as it was.
func TestWriteFileAtomicLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "a.jsonl")
	if err := os.WriteFile(target, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	failing := func(w io.Writer) error {
		io.WriteString(w, "partial")
		return errors.New("generator failed")
	}
	if err := writeFileAtomic(target, failing); err == nil {
		t.Error("a failed write reported success")
	}
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(sub, func(w io.Writer) error { _, err := io.WriteString(w, "x\n"); return err }); err == nil {
		t.Error("a rename over a directory reported success")
	}
	if b, _ := os.ReadFile(target); string(b) != "old\n" {
		t.Errorf("the target changed: %q", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("left %v; want only a.jsonl and sub", names)
	}
}
