package main

// The openai backend end to end: `experiment run` against an
// OpenAI-compatible server on loopback (internal/openaitest) whose answers
// come from the surrogate model, so every trial must come out exactly as
// the same config run on the sim backend; then faults, bad replies, a
// replay from the cache with the server gone, calibration, and the API key
// nowhere.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/internal/openaitest"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/store"
)

// testKey is the API key of the tests' server: it must appear nowhere a
// run writes.
const (
	testKey    = "sk-test-9f3a7c1e5b2d-DO-NOT-LEAK"
	testKeyEnv = "MABEAM_TEST_OPENAI_KEY"
)

// srvPrefix marks the server's model names: the config maps the team's
// sim-small to srv-sim-small, which the server's surrogate answers as
// sim-small.
const srvPrefix = "srv-"

// newSimServer starts a server answering as the surrogate model of seed 0.
func newSimServer(t *testing.T, opts openaitest.Options) *openaitest.Server {
	return newModelServer(t, opts, sim.New(nil))
}

// newModelServer starts a server answering as m.
func newModelServer(t *testing.T, opts openaitest.Options, m lm.Model) *openaitest.Server {
	t.Helper()
	opts.Key = testKey
	opts.Backend = lm.ModelFunc(func(ctx context.Context, req lm.Request) (lm.Response, error) {
		name, ok := strings.CutPrefix(req.Model, srvPrefix)
		if !ok {
			return lm.Response{}, &lm.Error{Kind: lm.ErrUnknownModel, Model: req.Model}
		}
		req.Model = name
		return m.Generate(ctx, req)
	})
	s := openaitest.New(opts)
	t.Cleanup(s.Close)
	return s
}

// realConfig is a small experiment whose lm section is given: random
// search over two agents of two models, within calls.
func realConfig(lmSection string, calls int) string {
	return `name: real
seeds: [1]
` + lmSection + `
datasets:
  - {name: arith, family: arithmetic, difficulty: 2, train: 8, val: 10, test: 12, metric: numeric}
team:
  agents:
    - id: s1
      model: {choices: [sim-medium, sim-small]}
      temperature: {low: 0, high: 1, step: 0.5}
    - id: s2
      model: {choices: [sim-small, sim-medium]}
  rounds: {low: 0, high: 1}
optimizers: [{name: random}]
budget: {calls: ` + fmt.Sprint(calls) + `}
`
}

// openaiLM is the lm section for server s; extra adds settings.
func openaiLM(s *openaitest.Server, extra string) string {
	return `lm:
  backend: openai
  base_url: ` + s.URL() + `
  api_key_env: ` + testKeyEnv + `
  models: {sim-small: srv-sim-small, sim-medium: srv-sim-medium}
  backoff: 20ms
  prices:
    srv-sim-small: {prompt: 0.15, completion: 0.6}
    srv-sim-medium: {prompt: 0.5, completion: 1.5}
` + extra
}

const simLM = "lm: {backend: sim, seed: 0}"

// trialRow is what a study's trial must be whatever the backend: its
// number, state, parameters, value, calls, tokens, nominal cost and error.
type trialRow struct {
	Study, State, Params, Err string
	Number, Batch             int
	Value                     sql.NullFloat64
	Calls, Tokens             int64
	Cost                      float64
}

func trialTable(t *testing.T, db, experiment string) []trialRow {
	t.Helper()
	h := mustOpenRO(t, db)
	rows, err := h.Query(`SELECT s.name, t.number, t.state, t.params, t.error, t.batch, t.value, t.calls, t.tokens, t.cost_usd
		FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.experiment = ? ORDER BY s.name, t.number`, experiment)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []trialRow
	for rows.Next() {
		var r trialRow
		if err := rows.Scan(&r.Study, &r.Number, &r.State, &r.Params, &r.Err, &r.Batch, &r.Value, &r.Calls, &r.Tokens, &r.Cost); err != nil {
			t.Fatal(err)
		}
		r.Study = strings.TrimPrefix(r.Study, experiment+"/")
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTrials reports the first difference between two trial tables, costs
// compared to a relative 1e-9 (the client and the surrogate sum the same
// prices in another order).
func sameTrials(a, b []trialRow) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d trials, want %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if math.Abs(x.Cost-y.Cost) <= 1e-9*math.Max(math.Abs(y.Cost), 1e-9) {
			x.Cost = y.Cost
		}
		if x != y {
			return fmt.Sprintf("trial %d:\n got  %+v\n want %+v", i, x, y)
		}
	}
	return ""
}

// testTable lists a store's test results: study, team, example, score,
// answer and calls.
func testTable(t *testing.T, db, experiment string) []string {
	t.Helper()
	h := mustOpenRO(t, db)
	rows, err := h.Query(`SELECT s.name, r.team, r.example, r.score, r.answer, r.calls FROM test_results r
		JOIN studies s ON s.id = r.study_id WHERE s.experiment = ? ORDER BY s.name, r.team, r.example`, experiment)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, team, ex, ans string
		var score sql.NullFloat64
		var calls int
		if err := rows.Scan(&name, &team, &ex, &score, &ans, &calls); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %s %v %q %d", name, team, ex, score.Float64, ans, calls))
	}
	return out
}

func writeConfig(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sqlCount(t *testing.T, db, query string, args ...any) int64 {
	t.Helper()
	h := mustOpenRO(t, db)
	var n sql.NullInt64
	if err := h.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n.Int64
}

// noKey fails if the key appears in any file under dir or in outs.
func noKey(t *testing.T, dir string, outs ...string) {
	t.Helper()
	for i, o := range outs {
		if strings.Contains(o, testKey) {
			t.Errorf("output %d holds the API key", i)
		}
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		if strings.Contains(string(b), testKey) {
			t.Errorf("%s holds the API key", p)
		}
		return nil
	})
}

// A study through the server is the study on the surrogate, trial for
// trial; its calls are recorded, and it replays from the cache with the
// server gone: no request, the same trials, nothing billed. The key is in
// no file, output or JSON.
func TestOpenAIBackendEndToEnd(t *testing.T) {
	t.Setenv(testKeyEnv, testKey)
	dir := t.TempDir()
	srv := newSimServer(t, openaitest.Options{})
	// SIMBA too: its own calls (instruction proposals, advice) go through
	// the same client and cache.
	withSIMBA := func(c string) string {
		return strings.Replace(c, "optimizers: [{name: random}]",
			"optimizers: [{name: random}, {name: simba, settings: {batch_size: 6, num_candidates: 4, max_steps: 3}}]", 1)
	}
	cfg := writeConfig(t, dir, "real.yaml", withSIMBA(realConfig(openaiLM(srv, ""), 400)))
	db := filepath.Join(dir, "real.db")
	code, stdout, stderr := cli(t, "run", cfg, "--db", db, "--json")
	if code != 0 {
		t.Fatalf("run exited %d: %s", code, stderr)
	}
	var sum struct {
		Studies []struct {
			Study     string   `json:"study"`
			TestScore *float64 `json:"test_score"`
		} `json:"studies"`
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || len(sum.Studies) != 2 || sum.Studies[0].TestScore == nil {
		t.Fatalf("run --json: %v\n%s", err, stdout)
	}
	requests := srv.Requests()
	got := trialTable(t, db, "real")

	simDB := filepath.Join(dir, "sim.db")
	simCfg := writeConfig(t, dir, "sim.yaml", withSIMBA(realConfig(simLM, 400)))
	if code, _, stderr := cli(t, "run", simCfg, "--db", simDB); code != 0 {
		t.Fatalf("sim run exited %d: %s", code, stderr)
	}
	want := trialTable(t, simDB, "real")
	if len(want) < 5 {
		t.Fatalf("only %d trials", len(want))
	}
	if d := sameTrials(got, want); d != "" {
		t.Fatalf("the openai run's trials differ from the sim run's: %s", d)
	}

	// The test teams too, the matched baselines included: self-consistency's
	// samples of a question go in one request with n (so its prompt tokens
	// count once; the tokens are left out here).
	if g, w := testTable(t, db, "real"), testTable(t, simDB, "real"); !reflect.DeepEqual(g, w) || len(w) == 0 {
		t.Errorf("test results differ from the sim run's:\n got  %v\n want %v", g, w)
	}
	if n := sqlCount(t, db, `SELECT COUNT(*) FROM test_results WHERE team = 'self_consistency'`); n == 0 {
		t.Errorf("no self-consistency results")
	}
	if n := sqlCount(t, db, `SELECT COUNT(*) FROM trials WHERE strategy = 'append_rule' AND program LIKE '%"Rules"%'`); n == 0 {
		t.Fatalf("SIMBA appended no rule: the optimizer's own calls are not exercised")
	}

	// Every trial's calls are recorded (on by default for openai), parsed.
	// (The trials' calls also count SIMBA's own, which are no agent's.)
	trialCalls := sqlCount(t, db, `SELECT SUM(calls) FROM example_results`)
	if n := sqlCount(t, db, `SELECT COUNT(*) FROM calls`); n != trialCalls || n == 0 {
		t.Errorf("%d recorded calls, want the trials' agents' %d", n, trialCalls)
	}
	if n := sqlCount(t, db, `SELECT COUNT(*) FROM calls WHERE parsed = 0 OR score IS NULL OR family != 'arithmetic' OR messages NOT LIKE '%"system"%'`); n != 0 {
		t.Errorf("%d recorded calls unparsed, unscored or without their request", n)
	}
	if n := sqlCount(t, simDB, `SELECT COUNT(*) FROM calls`); n != 0 {
		t.Errorf("the sim run recorded %d calls; it records none by default", n)
	}

	// Replay offline: the same config as a new experiment, served by the
	// store's cache with the server closed.
	srv.Close()
	code, replayOut, replayErr := cli(t, "run", cfg, "--db", db, "--new-experiment", "replay", "--json")
	if code != 0 {
		t.Fatalf("replay exited %d: %s", code, replayErr)
	}
	if n := srv.Requests(); n != requests {
		t.Errorf("the replay sent %d requests", n-requests)
	}
	if d := sameTrials(trialTable(t, db, "replay"), got); d != "" {
		t.Errorf("the replay's trials differ: %s", d)
	}
	if n := sqlCount(t, db, `SELECT SUM(t.billed_cost_usd * 1e9) FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.experiment = 'replay'`); n != 0 {
		t.Errorf("the replay billed %d nano-dollars", n)
	}
	code, cmpOut, cmpErr := cli(t, "compare", "--db", db)
	if code != 0 {
		t.Errorf("compare exited %d: %s", code, cmpErr)
	}
	noKey(t, dir, stdout, stderr, replayOut, replayErr, cmpOut, cmpErr)
}

// With a fifth of the replies 429 or 500, every call is answered in the
// end: the trials are those of the run without faults (here, the
// surrogate's), and their retries are counted in the store.
func TestOpenAIFaultsRetried(t *testing.T) {
	t.Setenv(testKeyEnv, testKey)
	dir := t.TempDir()
	srv := newSimServer(t, openaitest.Options{Rate429: 0.1, Rate500: 0.1, Seed: 3})
	cfg := writeConfig(t, dir, "real.yaml", realConfig(openaiLM(srv, ""), 500))
	db := filepath.Join(dir, "real.db")
	code, stdout, stderr := cli(t, "run", cfg, "--db", db, "--no-analysis")
	if code != 0 {
		t.Fatalf("run exited %d: %s", code, stderr)
	}
	simCfg := writeConfig(t, dir, "sim.yaml", realConfig(simLM, 500))
	simDB := filepath.Join(dir, "sim.db")
	if code, _, stderr := cli(t, "run", simCfg, "--db", simDB, "--no-analysis"); code != 0 {
		t.Fatalf("sim run exited %d: %s", code, stderr)
	}
	got := trialTable(t, db, "real")
	if d := sameTrials(got, trialTable(t, simDB, "real")); d != "" {
		t.Fatalf("trials under faults differ from the sim run's: %s", d)
	}
	var calls int64
	for _, r := range got {
		calls += r.Calls
	}
	c := srv.Counts()
	faults := c.RateLimited + c.ServerErrors
	retries := sqlCount(t, db, `SELECT SUM(retries) FROM trials`)
	callRetries := sqlCount(t, db, `SELECT SUM(retries) FROM calls`)
	t.Logf("%d trial calls, %d requests, %d faults (%d 429, %d 500); %d retries in trials", calls, c.Requests, faults, c.RateLimited, c.ServerErrors, retries)
	if calls < 450 || retries < calls/10 || retries > faults || callRetries != retries {
		t.Errorf("%d trial calls, %d retries in trials (%d in calls), %d faults served: want ≥450 calls and the trials' retries between a tenth of the calls and the faults", calls, retries, callRetries, faults)
	}
	if !strings.Contains(stdout, "retries of rate-limited, failed or timed-out requests") {
		t.Errorf("compare's output does not show the retries:\n%s", stdout)
	}
}

// Replies that are not JSON or cut short are retried like server errors;
// with no retries allowed, the calls that fail fail their trials, with the
// reason, and the run goes on; the store stays whole either way.
func TestOpenAIBadReplies(t *testing.T) {
	t.Setenv(testKeyEnv, testKey)
	dir := t.TempDir()
	srv := newSimServer(t, openaitest.Options{RateMalformed: 0.1, RateTruncated: 0.1, Seed: 5})
	cfg := writeConfig(t, dir, "bad.yaml", realConfig(openaiLM(srv, ""), 150))
	db := filepath.Join(dir, "bad.db")
	if code, _, stderr := cli(t, "run", cfg, "--db", db, "--no-analysis"); code != 0 {
		t.Fatalf("run exited %d: %s", code, stderr)
	}
	if n := sqlCount(t, db, `SELECT COUNT(*) FROM trials WHERE state != 'complete' AND state != 'stopped'`); n != 0 {
		t.Errorf("%d trials not complete: unreadable replies should have been retried", n)
	}
	if n := sqlCount(t, db, `SELECT SUM(retries) FROM trials`); n == 0 {
		t.Errorf("no retries recorded with a fifth of the replies unreadable")
	}

	srv2 := newSimServer(t, openaitest.Options{Rate500: 0.04, Seed: 9})
	cfg2 := writeConfig(t, dir, "fail.yaml", realConfig(openaiLM(srv2, "  max_retries: 0\n"), 150))
	db2 := filepath.Join(dir, "fail.db")
	code, stdout, stderr := cli(t, "run", cfg2, "--db", db2, "--no-analysis")
	failed := sqlCount(t, db2, `SELECT COUNT(*) FROM trials WHERE state = 'fail' AND error LIKE '%HTTP 500%'`)
	complete := sqlCount(t, db2, `SELECT COUNT(*) FROM trials WHERE state = 'complete'`)
	t.Logf("exit %d; %d failed and %d complete trials", code, failed, complete)
	if code != 0 && !strings.Contains(stderr, "--resume") {
		t.Errorf("a run stopped by the server does not say how to continue:\n%s", stderr)
	}
	if failed == 0 || complete == 0 {
		t.Errorf("%d failed (with the server's error) and %d complete trials: want both, the run going on past failures\n%s\n%s", failed, complete, stdout, stderr)
	}
	for _, p := range []string{db, db2} {
		var ok string
		if err := mustOpenRO(t, p).QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
			t.Errorf("%s: integrity check %q, %v", p, ok, err)
		}
	}
	if s, err := store.Open(context.Background(), db2); err != nil {
		t.Errorf("the store does not reopen: %v", err)
	} else {
		s.Close()
	}
}

// A wrong key fails at once with a message that says what to fix and does
// not echo the key, which the server's own error message does.
func TestOpenAIWrongKey(t *testing.T) {
	t.Setenv(testKeyEnv, "sk-wrong-key-SECRET-0123456789")
	dir := t.TempDir()
	srv := newSimServer(t, openaitest.Options{})
	cfg := writeConfig(t, dir, "real.yaml", realConfig(openaiLM(srv, ""), 60))
	code, stdout, stderr := cli(t, "run", cfg, "--db", filepath.Join(dir, "w.db"), "--json")
	if code == 0 {
		t.Fatalf("run with a wrong key exited 0")
	}
	if !strings.Contains(stderr, testKeyEnv) || !strings.Contains(stderr, "refused the API key") {
		t.Errorf("the error does not say what to fix:\n%s", stderr)
	}
	for _, o := range []string{stdout, stderr} {
		if strings.Contains(o, "SECRET-0123456789") || strings.Contains(o, testKey) {
			t.Errorf("the output echoes a key:\n%s", o)
		}
	}
	if c := srv.Counts(); c.Unauthorized == 0 || c.Requests > c.Unauthorized+2 {
		t.Errorf("%+v: want the refused requests only, not retried", c)
	}
}

// calibrationConfig is a run to calibrate a surrogate from: one agent on
// many validation questions, its model and temperature searched.
func calibrationConfig(lmSection, datasets string) string {
	return `name: calib
seeds: [1]
` + lmSection + `
datasets: [` + datasets + `]
team:
  agents:
    - id: solo
      model: {choices: [sim-small, sim-medium]}
      temperature: {low: 0, high: 1, step: 0.5}
  rounds: 0
optimizers: [{name: random}]
budget: {trials: 6}
`
}

// calibrate fits profiles to a run on a "real" model (the surrogate with
// sim-small made much stronger at arithmetic than the built-in), and
// the fitted file stands in for it: on held-out questions its expected
// accuracy is within three standard errors of the real one while the
// built-in profile's is far off, and a sim config with lm.profiles runs.
func TestCalibrateFromRealRun(t *testing.T) {
	t.Setenv(testKeyEnv, testKey)
	dir := t.TempDir()
	var small sim.Profile
	for _, p := range sim.DefaultProfiles() {
		if p.Name == "sim-small" {
			small = p
		}
	}
	small.Skill = map[string]float64{"arithmetic": small.Skill["arithmetic"] + 1.2}
	srv := newModelServer(t, openaitest.Options{}, sim.New(&sim.Options{Profiles: []sim.Profile{small}}))
	cfg := writeConfig(t, dir, "real.yaml", calibrationConfig(openaiLM(srv, ""), "{name: arith, family: arithmetic, val: 400}"))
	db := filepath.Join(dir, "real.db")
	if code, _, stderr := cli(t, "run", cfg, "--db", db, "--no-analysis"); code != 0 {
		t.Fatalf("run exited %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "profiles.yaml")
	code, stdout, stderr := cli(t, "calibrate", "--db", db, "--out", out, "--json")
	if code != 0 {
		t.Fatalf("calibrate exited %d: %s", code, stderr)
	}
	var res experiments.CalibrateDoc
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("calibrate --json: %v\n%s", err, stdout)
	}
	if res.Duplicates == 0 || res.Fit+res.Held+res.Duplicates != res.Calls {
		t.Errorf("%d calls: %d fitted, %d held out, %d repeats left out; want repeats, and the three to add up", res.Calls, res.Fit, res.Held, res.Duplicates)
	}
	found := false
	for _, h := range res.HeldOut {
		t.Logf("%s %s: %d held-out calls of %d questions, real %.3f, fitted %.3f, built-in %.3f (se %.3f)", h.Model, h.Family, h.N, h.Questions, h.Accuracy, h.Fitted, h.Base, h.DiffSE)
		if h.Questions < 60 {
			t.Errorf("%s %s: %d held-out questions; want at least 60", h.Model, h.Family, h.Questions)
			continue
		}
		if d := math.Abs(float64(h.Fitted - h.Accuracy)); d > 3*float64(h.DiffSE) {
			t.Errorf("%s %s: fitted %.3f vs real %.3f on %d held-out questions: more than 3 standard errors (%.3f) apart", h.Model, h.Family, h.Fitted, h.Accuracy, h.Questions, h.DiffSE)
		}
		if h.Model == "sim-small" {
			found = true
			if h.Accuracy-h.Base < 3*h.DiffSE {
				t.Errorf("sim-small: the built-in profile's %.3f is within 3 standard errors of the real %.3f: the test cannot tell a fit from none", h.Base, h.Accuracy)
			}
		}
	}
	if !found {
		t.Fatalf("no held-out check of sim-small: %+v", res.HeldOut)
	}
	ps, err := sim.LoadProfiles(out)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range ps {
		names[p.Name] = true
		if p.Name == "sim-small" && (p.PromptPrice != 0.15 || p.CompletionPrice != 0.6) {
			t.Errorf("sim-small priced %g/%g, want the config's 0.15/0.6", p.PromptPrice, p.CompletionPrice)
		}
	}
	if !names["sim-small"] || !names["sim-medium"] {
		t.Errorf("profiles file has %v", names)
	}
	simCfg := writeConfig(t, dir, "stand-in.yaml", strings.Replace(realConfig("lm: {backend: sim, profiles: profiles.yaml}", 200), "name: real", "name: stand-in", 1))
	if code, _, stderr := cli(t, "run", simCfg, "--db", filepath.Join(dir, "stand-in.db"), "--no-analysis"); code != 0 {
		t.Fatalf("a sim run on the fitted profiles exited %d: %s", code, stderr)
	}
	if code, _, stderr := cli(t, "calibrate", "--db", db, "--out", filepath.Join(dir, "no", "p.yaml")); code != 2 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("calibrate into a missing directory: exit %d, %s", code, stderr)
	}
	if code, _, stderr := cli(t, "calibrate", "--db", filepath.Join(dir, "stand-in.db"), "--out", out); code != 2 || !strings.Contains(stderr, "no recorded calls") {
		t.Errorf("calibrate on a store without calls: exit %d, %s", code, stderr)
	}
}

// A model that ignores the answer format shows in compare: its replies
// without an "Answer:" line are counted per model.
func TestUnparsedRepliesShown(t *testing.T) {
	t.Setenv(testKeyEnv, testKey)
	dir := t.TempDir()
	m := sim.New(nil)
	srv := newModelServer(t, openaitest.Options{}, lm.ModelFunc(func(ctx context.Context, req lm.Request) (lm.Response, error) {
		r, err := m.Generate(ctx, req)
		if req.Model == "sim-small" { // answers in prose
			r.Text = strings.NewReplacer("Answer: ", "So the result is ", "Confidence:", "I am this sure:").Replace(r.Text)
		}
		return r, err
	}))
	cfg := writeConfig(t, dir, "real.yaml", realConfig(openaiLM(srv, ""), 120))
	db := filepath.Join(dir, "real.db")
	if code, _, stderr := cli(t, "run", cfg, "--db", db, "--no-analysis"); code != 0 {
		t.Fatalf("run exited %d: %s", code, stderr)
	}
	small := sqlCount(t, db, `SELECT SUM(calls) FROM agent_metrics WHERE model = 'sim-small'`)
	unparsed := sqlCount(t, db, `SELECT SUM(unparsed) FROM agent_metrics WHERE model = 'sim-small'`)
	if small == 0 || unparsed != small || sqlCount(t, db, `SELECT SUM(unparsed) FROM agent_metrics WHERE model = 'sim-medium'`) != 0 {
		t.Fatalf("sim-small: %d of %d calls unparsed; want all of them, and none of sim-medium's", unparsed, small)
	}
	_, out, _ := cli(t, "compare", "--db", db)
	if want := fmt.Sprintf("replies that ignored the answer format: sim-small %d of %d calls", unparsed, small); !strings.Contains(out, want) {
		t.Errorf("compare does not show %q:\n%s", want, out)
	}
}

// A server that fails every call fails ten trials, each stored with the
// reason, and then stops the study with a message that says so.
func TestFailedInARowStops(t *testing.T) {
	t.Setenv(testKeyEnv, testKey)
	dir := t.TempDir()
	srv := newSimServer(t, openaitest.Options{Rate500: 1})
	cfg := writeConfig(t, dir, "down.yaml", realConfig(openaiLM(srv, "  max_retries: 0\n"), 500))
	db := filepath.Join(dir, "down.db")
	code, _, stderr := cli(t, "run", cfg, "--db", db)
	if code != 1 || !strings.Contains(stderr, "10 trials in a row failed") || !strings.Contains(stderr, "--resume") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if n := sqlCount(t, db, `SELECT COUNT(*) FROM trials WHERE state = 'fail' AND error LIKE '%HTTP 500%'`); n != experiments.MaxFailedInARow {
		t.Errorf("%d failed trials stored, want %d", n, experiments.MaxFailedInARow)
	}
}
