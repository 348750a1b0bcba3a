package main

// End-to-end checks of `experiment run` as a user drives it: a real
// process that is killed, interrupted and resumed, a store read with plain
// SQL, and the JSON a script parses. The test binary is the CLI: with
// e2eEnv set, TestMain runs the command instead of the tests.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/optimizer"
	_ "github.com/mattn/go-sqlite3"
)

// e2eEnv makes the test binary run the CLI with its arguments.
const e2eEnv = "MABEAM_E2E_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(e2eEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	if refDir != "" {
		os.RemoveAll(refDir)
	}
	os.Exit(code)
}

// cliTimeout bounds one CLI process, so a hang fails the test.
const cliTimeout = 2 * time.Minute

// command returns the CLI as a process run in dir ("" means the current
// directory).
func command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), e2eEnv+"=1")
	cmd.Dir = dir
	return cmd
}

// exe runs the CLI to its end and returns its exit code and outputs.
func exe(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := command(ctx, dir, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("experiment %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// raceBuild reports whether the tests (and so the CLI they run) were built
// with the race detector, which makes a run about six times slower.
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// e2eBudget is the trial budget of testdata/e2e.yaml as the tests run it:
// about half a second of trials, long enough to stop a run half-way.
func e2eBudget() int {
	if raceBuild() {
		return 100
	}
	return 300
}

// e2eConfig writes testdata/e2e.yaml with e2eBudget trials into dir.
func e2eConfig(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "e2e.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const line = "\n  trials: 300\n"
	if !bytes.Contains(data, []byte(line)) {
		t.Fatalf("testdata/e2e.yaml lacks %q", line)
	}
	data = bytes.Replace(data, []byte(line), []byte("\n  trials: "+strconv.Itoa(e2eBudget())+"\n"), 1)
	path := filepath.Join(dir, "e2e.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// e2eStudy is the one study of testdata/e2e.yaml.
const e2eStudy = "e2e/arith/random/seed7"

// The uninterrupted run of e2e.yaml, made once and shared by the tests that
// compare a stopped and resumed run with it.
var (
	refOnce sync.Once
	refDir  string
	ref     struct {
		db    string
		hash  string
		study studyRow
		err   error
	}
)

func reference(t *testing.T) (db, hash string, study studyRow) {
	t.Helper()
	refOnce.Do(func() {
		// Stays set if a t.Fatal below ends this function early.
		ref.err = errors.New("the reference run failed (see the first test that made it)")
		dir, err := os.MkdirTemp("", "mabeam-e2e-ref")
		if err != nil {
			ref.err = err
			return
		}
		refDir, ref.db = dir, filepath.Join(dir, "ref.db")
		code, _, stderr := exe(t, "", "run", e2eConfig(t, dir), "--db", ref.db)
		if code != 0 {
			ref.err = fmt.Errorf("reference run: exit %d: %s", code, stderr)
			return
		}
		ref.hash = trialHash(t, ref.db)
		ref.study = readStudy(t, ref.db, e2eStudy)
		ref.err = nil
	})
	if ref.err != nil {
		t.Fatal(ref.err)
	}
	return ref.db, ref.hash, ref.study
}

// openRO opens the SQLite file at path read-only (it must exist), as a
// notebook would while a run writes it.
func openRO(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
}

func mustOpenRO(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := openRO(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// trialHash is a SHA-256 over the ordered rows of the tables a run fills
// (times, durations and ids left out; studies by name), so two stores with
// the same hash hold the same trials, parameters, metrics and results.
func trialHash(t *testing.T, path string) string {
	t.Helper()
	db := mustOpenRO(t, path)
	h := sha256.New()
	for _, q := range []string{
		`SELECT s.name, t.number, t.state, t.value, t.params, t.calls, t.tokens, t.cost_usd, t.batch, t.error, t.note,
		 t.split, t.parent, t.strategy, t.step, t.program, t.data
		 FROM trials t JOIN studies s ON s.id = t.study_id ORDER BY s.name, t.number`,
		`SELECT s.name, p.number, p.name, p.kind, p.value, p.value_num
		 FROM trial_params p JOIN studies s ON s.id = p.study_id ORDER BY s.name, p.number, p.name`,
		`SELECT s.name, a.number, a.agent, a.role, a.model, a.accuracy, a.round0_accuracy, a.calls, a.tokens,
		 a.cost_usd, a.agreement, a.contribution
		 FROM agent_metrics a JOIN studies s ON s.id = a.study_id ORDER BY s.name, a.number, a.agent`,
		`SELECT s.name, e.number, e.example, e.score, e.answer, e.calls, e.tokens, e.cost_usd
		 FROM example_results e JOIN studies s ON s.id = e.study_id ORDER BY s.name, e.number, e.example`,
		`SELECT s.name, r.team, r.example, r.score, r.answer, r.calls, r.tokens, r.cost_usd
		 FROM test_results r JOIN studies s ON s.id = r.study_id ORDER BY s.name, r.team, r.example`,
		`SELECT name, status, best_trial, best_val_score, test_score, baseline_test_score, lm_calls, tokens, cost_usd
		 FROM studies ORDER BY name`,
		`SELECT s.name, c.team, c.method, c.agent, c.value, c.ci_lo, c.ci_hi, c.se
		 FROM contributions c JOIN studies s ON s.id = c.study_id ORDER BY s.name, c.team, c.method, c.agent`,
		`SELECT s.name, m.team, m.name, m.value
		 FROM team_metrics m JOIN studies s ON s.id = m.study_id ORDER BY s.name, m.team, m.name`,
	} {
		n := hashRows(t, db, h, q)
		fmt.Fprintf(h, "#%d\n", n)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashRows writes every row of query to w and returns how many there were.
func hashRows(t *testing.T, db *sql.DB, w io.Writer, query string, args ...any) int {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprintf(w, "%T:%v\x1f", v, v)
		}
		io.WriteString(w, "\n")
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// studyRow is what a study's row says of its outcome.
type studyRow struct {
	Status                              string
	BestTrial                           sql.NullInt64
	BestVal, Test, Baseline, Cost       sql.NullFloat64
	Calls, Tokens                       sql.NullInt64
	BudgetTrials                        int
	UpdatedAt                           string
	Trials, Complete, Running, MaxTrial int
}

func readStudy(t *testing.T, path, name string) studyRow {
	t.Helper()
	db := mustOpenRO(t, path)
	var r studyRow
	err := db.QueryRow(`SELECT status, best_trial, best_val_score, test_score, baseline_test_score, cost_usd,
		lm_calls, tokens, budget_trials, updated_at,
		(SELECT COUNT(*) FROM trials t WHERE t.study_id = s.id),
		(SELECT COUNT(*) FROM trials t WHERE t.study_id = s.id AND t.state = 'complete'),
		(SELECT COUNT(*) FROM trials t WHERE t.study_id = s.id AND t.state = 'running'),
		(SELECT COALESCE(MAX(number), -1) FROM trials t WHERE t.study_id = s.id)
		FROM studies s WHERE name = ?`, name).Scan(
		&r.Status, &r.BestTrial, &r.BestVal, &r.Test, &r.Baseline, &r.Cost, &r.Calls, &r.Tokens,
		&r.BudgetTrials, &r.UpdatedAt, &r.Trials, &r.Complete, &r.Running, &r.MaxTrial)
	if err != nil {
		t.Fatalf("study %s in %s: %v", name, path, err)
	}
	return r
}

// sameOutcome checks that a study's stored outcome equals the reference's
// (the update time aside).
func sameOutcome(t *testing.T, got, want studyRow) {
	t.Helper()
	got.UpdatedAt, want.UpdatedAt = "", ""
	if got != want {
		t.Errorf("study outcome differs from the uninterrupted run:\n got %+v\nwant %+v", got, want)
	}
	if !got.Test.Valid || !got.BestTrial.Valid {
		t.Errorf("study has no test score or best trial: %+v", got)
	}
}

// checkComplete checks a finished e2e store: the budget's trials, numbered
// 0..N-1 once each, all complete, the study complete.
func checkComplete(t *testing.T, path string) {
	t.Helper()
	db := mustOpenRO(t, path)
	rows, err := db.Query(`SELECT t.number, t.state FROM trials t JOIN studies s ON s.id = t.study_id
		WHERE s.name = ? ORDER BY t.number`, e2eStudy)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var n int
		var state string
		if err := rows.Scan(&n, &state); err != nil {
			t.Fatal(err)
		}
		if n != i || state != "complete" {
			t.Fatalf("trial at position %d is number %d, state %s; want number %d, complete", i, n, state, i)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if i != e2eBudget() {
		t.Errorf("%d trials, want the budget %d", i, e2eBudget())
	}
	if st := readStudy(t, path, e2eStudy); st.Status != "complete" {
		t.Errorf("study status %s, want complete", st.Status)
	}
}

// startRun starts `run cfg --db db` and waits until at least half the
// budget's trials are committed; the caller stops it.
func startRun(t *testing.T, cfg, db string) (cmd *exec.Cmd, done <-chan struct{}, stderr *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	t.Cleanup(cancel)
	cmd = command(ctx, "", "run", cfg, "--db", db)
	stderr = new(bytes.Buffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	go func() { cmd.Wait(); close(ch) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-ch })
	half := e2eBudget() / 2
	var conn *sql.DB
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		select {
		case <-ch:
			t.Fatalf("run ended (exit %d) before %d trials were committed: %s", cmd.ProcessState.ExitCode(), half, stderr)
		case <-time.After(2 * time.Millisecond):
		}
		if conn == nil {
			conn, _ = openRO(db)
			if conn == nil {
				continue
			}
		}
		var n int
		// Errors are expected while the store is being created.
		if conn.QueryRow(`SELECT COUNT(*) FROM trials WHERE state = 'complete'`).Scan(&n) == nil && n >= half {
			return cmd, ch, stderr
		}
	}
}

// TestKillAndResume: a run killed with SIGKILL half-way loses nothing
// finished, and --resume completes it to the same trials and results as a
// run never killed.
func TestKillAndResume(t *testing.T) {
	_, wantHash, want := reference(t)
	dir := t.TempDir()
	cfg, db := e2eConfig(t, dir), filepath.Join(dir, "killed.db")

	cmd, done, _ := startRun(t, cfg, db)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done
	st := readStudy(t, db, e2eStudy)
	if st.Complete < e2eBudget()/2 || st.Trials >= e2eBudget() {
		t.Fatalf("after the kill: %d trials (%d complete); want at least %d and fewer than the budget %d (raise the budget if runs got faster)",
			st.Trials, st.Complete, e2eBudget()/2, e2eBudget())
	}
	t.Logf("killed after %d of %d trials", st.Trials, e2eBudget())
	if st.Status != "running" {
		t.Errorf("killed study has status %s, want running", st.Status)
	}
	if st.MaxTrial != st.Trials-1 {
		t.Errorf("killed study: trials numbered up to %d, but %d stored", st.MaxTrial, st.Trials)
	}

	code, _, stderr := exe(t, "", "run", cfg, "--db", db, "--resume")
	if code != 0 {
		t.Fatalf("--resume: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "resuming after") {
		t.Errorf("--resume did not say where it resumed: %s", stderr)
	}
	checkComplete(t, db)
	sameOutcome(t, readStudy(t, db, e2eStudy), want)
	if got := trialHash(t, db); got != wantHash {
		t.Error("the resumed run's trials differ from the uninterrupted run's")
	}
}

// TestInterruptAndResume: Ctrl-C stops a run after the trial in progress,
// says how to resume, leaves a consistent store, and --resume finishes it
// as if never interrupted.
func TestInterruptAndResume(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT on windows")
	}
	_, wantHash, want := reference(t)
	dir := t.TempDir()
	cfg, db := e2eConfig(t, dir), filepath.Join(dir, "ctrlc.db")

	cmd, done, stderr := startRun(t, cfg, db)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-done
	if code := cmd.ProcessState.ExitCode(); code == 0 || code == -1 {
		t.Errorf("interrupted run exited with %d (%v); want a non-zero exit code", code, cmd.ProcessState)
	}
	if !strings.Contains(stderr.String(), "--resume") {
		t.Errorf("stderr does not say how to resume: %s", stderr)
	}
	st := readStudy(t, db, e2eStudy)
	if st.Status != "interrupted" || st.Running != 0 || st.Complete != st.Trials || st.Trials >= e2eBudget() {
		t.Errorf("interrupted store: %+v; want status interrupted, fewer trials than %d, all complete", st, e2eBudget())
	}
	t.Logf("interrupted after %d of %d trials", st.Trials, e2eBudget())
	var check string
	if err := mustOpenRO(t, db).QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q, %v", check, err)
	}

	code, _, errOut := exe(t, "", "run", cfg, "--db", db, "--resume")
	if code != 0 {
		t.Fatalf("--resume: exit %d: %s", code, errOut)
	}
	checkComplete(t, db)
	sameOutcome(t, readStudy(t, db, e2eStudy), want)
	if got := trialHash(t, db); got != wantHash {
		t.Error("the resumed run's trials differ from the uninterrupted run's")
	}
}

// summaryKeys are the keys of a `run --json` study row (DESIGN.md, the CLI
// contract, and billed_cost_usd beside the nominal cost_usd).
var summaryKeys = []string{"study", "optimizer", "dataset", "seed", "trials", "lm_calls", "tokens",
	"cost_usd", "billed_cost_usd", "best_val_score", "test_score", "baseline_test_score", "wall_seconds"}

// oneJSON decodes stdout, which must be exactly one JSON document.
func oneJSON(t *testing.T, stdout string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if s := strings.TrimSpace(stdout[dec.InputOffset():]); s != "" {
		t.Fatalf("stdout holds more than one JSON document: %q after it", s)
	}
}

// TestReproducibleRuns: the same config and seeds give the same store, and
// --json prints exactly the documented summary; compare --json gives a row
// per optimizer.
func TestReproducibleRuns(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join("testdata", "repro.yaml")
	var hashes []string
	var docs []map[string][]map[string]any
	for _, name := range []string{"a.db", "b.db"} {
		db := filepath.Join(dir, name)
		code, stdout, stderr := exe(t, "", "run", cfg, "--db", db, "--json")
		if code != 0 {
			t.Fatalf("run: exit %d: %s", code, stderr)
		}
		var raw map[string][]map[string]json.RawMessage
		oneJSON(t, stdout, &raw)
		if len(raw) != 2 || len(raw["studies"]) != 4 || len(raw["best_teams"]) != 4 {
			t.Fatalf("run --json: want {\"studies\": [4 rows], \"best_teams\": [4 rows]}, got %s", stdout)
		}
		for _, bt := range raw["best_teams"] {
			var agents []experiments.TeamAgent
			if err := json.Unmarshal(bt["agents"], &agents); err != nil || len(agents) == 0 || len(agents[0].Contributions) == 0 || bt["params"] == nil {
				t.Fatalf("run --json: a best team without its agents' contributions or params: %s (%v)", bt["agents"], err)
			}
		}
		for _, row := range raw["studies"] {
			keys := make([]string, 0, len(row))
			for k := range row {
				keys = append(keys, k)
			}
			if !sameSet(keys, summaryKeys) {
				t.Fatalf("run --json study row has keys %v, want exactly %v", keys, summaryKeys)
			}
		}
		var doc map[string][]map[string]any
		oneJSON(t, stdout, &doc)
		for _, row := range doc["studies"] {
			if row["trials"] != 12.0 || row["test_score"] == nil || row["cost_usd"].(float64) <= 0 {
				t.Errorf("study row %v: want 12 trials, a test score and a cost", row)
			}
			delete(row, "wall_seconds")
		}
		docs = append(docs, doc)
		hashes = append(hashes, trialHash(t, db))
	}
	if hashes[0] != hashes[1] {
		t.Error("two runs of the same config and seeds stored different trials")
	}
	if !reflect.DeepEqual(docs[0], docs[1]) {
		t.Errorf("two runs printed different summaries:\n%v\n%v", docs[0], docs[1])
	}

	code, stdout, stderr := exe(t, "", "compare", "--db", filepath.Join(dir, "a.db"), "--json")
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	var cmp compareDoc
	oneJSON(t, stdout, &cmp)
	var opts []string
	for _, r := range cmp.Rows {
		opts = append(opts, r.Optimizer)
		if r.Seeds != 2 || r.TestMean <= 0 || r.TestCI == nil || r.TestCI[0] > r.TestMean || r.TestCI[1] < r.TestMean {
			t.Errorf("compare row %+v: want 2 seeds and a CI around a positive mean", r)
		}
	}
	if !sameSet(opts, []string{"random", "random-again"}) || len(opts) != 2 {
		t.Errorf("compare --json rows are for %v, want one per optimizer (random, random-again)", opts)
	}

}

// TestCompareAgainst: compare --against prints each other optimizer's
// paired difference to the named one on the same seeds and test examples,
// whose point estimate is the difference of their means, inside its
// interval; run shows it by itself when random search is among several
// optimizers.
func TestCompareAgainst(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "simba.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(data), "seeds: [5]", "seeds: [5, 6]", 1)
	cfg = strings.Replace(cfg, "  - name: simba\n", "  - name: random\n  - name: simba\n    settings: {batch_size: 8, num_candidates: 2, max_steps: 2}\n", 1)
	cfg = strings.Replace(cfg, "calls: 40000", "calls: 4000", 1)
	path := filepath.Join(dir, "vs.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "vs.db")
	code, stdout, stderr := exe(t, "", "run", path, "--db", db)
	if code != 0 || !strings.Contains(stdout, "VS RANDOM (95% CI)") {
		t.Fatalf("run: exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, stderr = exe(t, "", "compare", "--db", db, "--json", "--against", "random")
	if code != 0 {
		t.Fatalf("compare --against: exit %d: %s", code, stderr)
	}
	var vs compareDoc
	oneJSON(t, stdout, &vs)
	if len(vs.Rows) != 2 || vs.Rows[0].Optimizer != "random" || vs.Rows[0].Against != "" || vs.Rows[0].VsCI != nil {
		t.Fatalf("compare --against rows %+v", vs.Rows)
	}
	if r := vs.Rows[1]; r.Optimizer != "simba" || r.Against != "random" || r.VsSeeds != 2 || r.VsMean == 0 ||
		math.Abs(r.VsMean-(r.TestMean-vs.Rows[0].TestMean)) > 1e-9 || r.VsCI == nil || !(r.VsCI[0] < r.VsMean && r.VsMean < r.VsCI[1]) {
		t.Errorf("compare --against row %+v (random's test mean %v)", r, vs.Rows[0].TestMean)
	}

	// best prints a SIMBA study's program: parameters and materials, as
	// optimizer.Program's JSON.
	code, stdout, stderr = exe(t, "", "best", "--db", db, "--study", "simba-resume/arith/simba/seed5", "--json")
	if code != 0 {
		t.Fatalf("best: exit %d: %s", code, stderr)
	}
	var best struct {
		Params  map[string]any
		Program *optimizer.Program
	}
	oneJSON(t, stdout, &best)
	if best.Program == nil || len(best.Program.Agents) == 0 || len(best.Program.Params) != len(best.Params) ||
		best.Program.Params.String("team/topology") != best.Params["team/topology"] {
		t.Errorf("best --json of a SIMBA study: %s", stdout)
	}
}

// compareDoc is what the tests read of compare --json.
type compareDoc struct {
	Rows []struct {
		Optimizer string      `json:"optimizer"`
		Seeds     int         `json:"seeds"`
		TestMean  float64     `json:"test_mean"`
		TestCI    *[2]float64 `json:"test_ci"`
		Against   string      `json:"against"`
		VsSeeds   int         `json:"vs_seeds"`
		VsMean    float64     `json:"vs_mean"`
		VsCI      *[2]float64 `json:"vs_ci"`
	} `json:"rows"`
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestRunRejects: a malformed config and a second run into the same store
// are usage errors that touch no store.
func TestRunRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "repro.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// broken is repro.yaml with old replaced by new, and the line of old.
	broken := func(old, new string) (string, int) {
		i := strings.Index(string(good), old)
		if i < 0 {
			t.Fatalf("testdata/repro.yaml lacks %q", old)
		}
		return strings.Replace(string(good), old, new, 1), strings.Count(string(good[:i]), "\n") + 1
	}
	type rejected struct {
		name, yaml string
		line       int
	}
	cases := []rejected{
		{"syntax", "name: bad\nseeds: [1\ndatasets: []\n", 2},
		{"unknown key", "name: bad\nseeds: [1]\nbudgett: {trials: 3}\n", 3},
	}
	for _, b := range []struct{ name, old, new string }{
		{"negative split", "val: 30", "val: -3"},
		{"unknown role", "role: judge", "role: jester"},
		{"not a number", "trials: 12", "trials: twelve"},
		{"same optimizer twice", "label: random-again", "label: random"},
	} {
		y, line := broken(b.old, b.new)
		if b.name == "same optimizer twice" {
			line-- // the error names the optimizer's entry
		}
		cases = append(cases, rejected{b.name, y, line})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(c.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"run", "bad.yaml", "--db", "x/bad.db"}, {"run", "bad.yaml"}} {
				code, _, stderr := exe(t, dir, args...)
				if want := "bad.yaml:" + strconv.Itoa(c.line); code != 2 || !strings.Contains(stderr, want) {
					t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %s", args, code, stderr, want)
				}
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("a rejected config left %v in the directory; want only bad.yaml", names)
			}
		})
	}

	t.Run("existing study", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "r.db")
		cfg := filepath.Join("testdata", "repro.yaml")
		if code, _, stderr := exe(t, "", "run", cfg, "--db", db); code != 0 {
			t.Fatalf("run: exit %d: %s", code, stderr)
		}
		before := storeState(t, db)
		code, stdout, stderr := exe(t, "", "run", cfg, "--db", db, "--json")
		if code != 2 || !strings.Contains(stderr, "--resume") || stdout != "" {
			t.Errorf("second run: exit %d, stdout %q, stderr %q; want exit 2 suggesting --resume, nothing on stdout", code, stdout, stderr)
		}
		if after := storeState(t, db); after != before {
			t.Error("a rejected second run changed the store")
		}
	})
}

// storeState hashes the trials and everything of the studies and events
// (times included), to tell that a store was left unchanged.
func storeState(t *testing.T, path string) string {
	t.Helper()
	h := sha256.New()
	io.WriteString(h, trialHash(t, path))
	db := mustOpenRO(t, path)
	hashRows(t, db, h, `SELECT * FROM studies ORDER BY id`)
	hashRows(t, db, h, `SELECT * FROM events ORDER BY id`)
	hashRows(t, db, h, `SELECT key, cost_usd FROM lm_cache ORDER BY key`)
	return hex.EncodeToString(h.Sum(nil))
}

// TestLMCacheAcrossExperiments: with `lm: {cache: true}`, a second
// experiment making the same requests into the same store gets every
// response from the cache: same calls, tokens and results, no cost.
func TestLMCacheAcrossExperiments(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	data, err := os.ReadFile(filepath.Join("testdata", "cache.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	again := bytes.Replace(data, []byte("\nname: cached\n"), []byte("\nname: cached-again\n"), 1)
	if bytes.Equal(again, data) {
		t.Fatal("testdata/cache.yaml has no `name: cached` line")
	}
	cfg2 := filepath.Join(dir, "again.yaml")
	if err := os.WriteFile(cfg2, again, 0o644); err != nil {
		t.Fatal(err)
	}

	type summary struct {
		Study   string   `json:"study"`
		Calls   int64    `json:"lm_calls"`
		Tokens  int64    `json:"tokens"`
		Cost    float64  `json:"cost_usd"`
		Billed  float64  `json:"billed_cost_usd"`
		BestVal *float64 `json:"best_val_score"`
		Test    *float64 `json:"test_score"`
	}
	runJSON := func(cfg string) (summary, string) {
		code, stdout, stderr := exe(t, "", "run", cfg, "--db", db, "--json")
		if code != 0 {
			t.Fatalf("run %s: exit %d: %s", cfg, code, stderr)
		}
		var doc struct{ Studies []summary }
		oneJSON(t, stdout, &doc)
		if len(doc.Studies) != 1 {
			t.Fatalf("run %s printed %s", cfg, stdout)
		}
		return doc.Studies[0], stderr
	}
	entries := func() int {
		var n int
		if err := mustOpenRO(t, db).QueryRow(`SELECT COUNT(*) FROM lm_cache`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	first, firstErr := runJSON(filepath.Join("testdata", "cache.yaml"))
	n := entries()
	if n == 0 || first.Cost <= 0 {
		t.Fatalf("first run: %d cache entries, cost %g; want responses cached and a cost", n, first.Cost)
	}
	second, stderr := runJSON(cfg2)
	if second.Study == first.Study {
		t.Fatalf("both runs wrote study %s", first.Study)
	}
	// The nominal cost is the first run's; nothing was billed.
	if second.Billed != 0 || second.Cost != first.Cost || first.Billed <= 0 || first.Billed > first.Cost || second.Calls != first.Calls || second.Tokens != first.Tokens || second.Calls == 0 {
		t.Errorf("cached run: %+v; want the first run's calls, tokens and nominal cost (%+v), nothing billed", second, first)
	}
	if *second.Test != *first.Test || *second.BestVal != *first.BestVal {
		t.Errorf("cached run scored differently: %+v vs %+v", second, first)
	}
	if m := entries(); m != n {
		t.Errorf("the cached run added %d responses; want none (every request was cached)", m-n)
	}
	// Every request of the first run (the study's, the team analytics' and
	// the baselines') is served from the cache in the second.
	var hits1, misses1 int
	at := strings.Index(firstErr, "lm cache: ")
	if at < 0 {
		t.Fatalf("the first run printed no cache line: %s", firstErr)
	}
	if _, err := fmt.Sscanf(firstErr[at:], "lm cache: %d hits, %d misses", &hits1, &misses1); err != nil || misses1 == 0 {
		t.Fatalf("first run's cache line: %v in %s", err, firstErr)
	}
	if int64(hits1+misses1) <= second.Calls || !strings.Contains(stderr, fmt.Sprintf("lm cache: %d hits, 0 misses", hits1+misses1)) {
		t.Errorf("second run's stderr does not report the first run's %d requests as cache hits and no miss: %s", hits1+misses1, stderr)
	}

	// Without cache: true nothing is cached.
	refDB, _, _ := reference(t)
	var refEntries int
	if err := mustOpenRO(t, refDB).QueryRow(`SELECT COUNT(*) FROM lm_cache`).Scan(&refEntries); err != nil || refEntries != 0 {
		t.Errorf("a run without lm.cache stored %d responses (%v); want none", refEntries, err)
	}
}

// TestRunNoAnalysis: --no-analysis skips the team analytics and the
// matched baselines; without it both are stored.
func TestRunNoAnalysis(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		flag string
		want bool
	}{{"--no-analysis", false}, {"--json", true}} {
		db := filepath.Join(dir, strings.TrimLeft(c.flag, "-")+".db")
		if code, _, stderr := exe(t, "", "run", filepath.Join("testdata", "repro.yaml"), "--db", db, c.flag); code != 0 {
			t.Fatalf("run %s: exit %d: %s", c.flag, code, stderr)
		}
		var contribs, sc int
		ro := mustOpenRO(t, db)
		if err := ro.QueryRow(`SELECT COUNT(*) FROM contributions`).Scan(&contribs); err != nil {
			t.Fatal(err)
		}
		if err := ro.QueryRow(`SELECT COUNT(*) FROM test_results WHERE team = 'self_consistency'`).Scan(&sc); err != nil {
			t.Fatal(err)
		}
		if (contribs > 0) != c.want || (sc > 0) != c.want {
			t.Errorf("run %s: %d contributions, %d self-consistency results", c.flag, contribs, sc)
		}
	}
}
