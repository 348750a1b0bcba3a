package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/datasets"
)

// cli runs the command in-process and returns its exit code and outputs.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	cases := []struct {
		args []string
		frag string
	}{
		{[]string{"nosuch"}, "unknown command"},
		{[]string{"evaluate", "--n", "x"}, "invalid argument"},
		{[]string{"evaluate", "--family", "chess"}, "unknown family"},
		{[]string{"evaluate", "--teams", "single,solo"}, `unknown team "solo"`},
		{[]string{"evaluate", "extra"}, "takes no arguments"},
		{[]string{"datasets", "export", "arithmetic", "--n", "3"}, "--out is required"},
		{[]string{"datasets", "export", "chess", "--out", "-"}, "unknown family"},
		{[]string{"datasets", "export"}, "takes 1 argument"},
		{[]string{"ask", "--study", "s", "--space", `{"x":{"type":"float","low":0,"high":1}}`}, "--db is required"},
		{[]string{"ask", "--db", "x.db", "--study", "s", "--space", `{"x":{"type":"float","low":2,"high":1}}`}, `"x"`},
		{[]string{"ask", "--db", "x.db", "--study", "s", "--space", `{}`, "--sampler", "tpe"}, "unknown sampler"},
		{[]string{"ask", "--db", "x.db", "--study", "s", "--space", `{}`, "--direction", "up"}, "direction"},
		{[]string{"tell", "--db", "x.db", "--study", "s", "--trial", "0"}, "exactly one of --value"},
		{[]string{"tell", "--db", "x.db", "--study", "s", "--trial", "0", "--value", "nan"}, "not a finite number"},
		{[]string{"run"}, "takes 1 argument"},
		{[]string{"best", "--db", "x.db", "--study", "s"}, "no such database"},
		{[]string{"tell", "--db", "x.db", "--study", "s", "--trial", "0", "--fail"}, "no such database"},
		{[]string{"compare", "--db", "x.db"}, "no such database"},
		{[]string{"worker"}, "--nats URL is required"},
		{[]string{"worker", "--nats", "embedded"}, "give a worker the URL the run prints"},
		{[]string{"worker", "--nats", "nats://127.0.0.1:1", "--concurrency", "0"}, "--concurrency 0"},
		{[]string{"status"}, "--nats URL is required"},
		{[]string{"run", "c.yaml", "--queue", "q"}, "--queue applies to a distributed run"},
		{[]string{"run", "c.yaml", "--nats", "embedded", "--replicas", "7"}, "--replicas 7"},
		{[]string{"run", "c.yaml", "--parallel", "-1"}, "--parallel -1"},
	}
	dir := t.TempDir()
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	for _, c := range cases {
		code, _, errOut := cli(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.frag) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, errOut, c.frag)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Error("a usage error created the database")
	}
}

func TestAskTellBest(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bb.db")
	sp := `{"x":{"type":"float","low":-5,"high":10},"n":{"type":"int","low":1,"high":8},"c":{"type":"choice","choices":["a","b"]}}`
	ask := func() (int, map[string]any) {
		code, out, errOut := cli(t, "ask", "--db", db, "--study", "s", "--space", sp, "--seed", "3", "--direction", "minimize")
		if code != 0 {
			t.Fatalf("ask: exit %d: %s", code, errOut)
		}
		var r struct {
			Trial  int            `json:"trial"`
			Params map[string]any `json:"params"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("ask printed %q: %v", out, err)
		}
		return r.Trial, r.Params
	}
	best := 1e9
	for i := range 6 {
		n, p := ask()
		if n != i {
			t.Fatalf("ask %d gave trial %d", i, n)
		}
		x := p["x"].(float64)
		if x < -5 || x > 10 || p["c"] == nil {
			t.Fatalf("params %v", p)
		}
		v := (x - 1) * (x - 1)
		best = min(best, v)
		if code, _, e := cli(t, "tell", "--db", db, "--study", "s", "--trial", itoa(n), "--value", ftoa(v)); code != 0 {
			t.Fatalf("tell: %s", e)
		}
	}
	n, _ := ask()
	if code, _, e := cli(t, "tell", "--db", db, "--study", "s", "--trial", itoa(n), "--fail"); code != 0 {
		t.Fatalf("tell --fail: %s", e)
	}
	if code, _, e := cli(t, "tell", "--db", db, "--study", "s", "--trial", itoa(n), "--value", "1"); code == 0 || !strings.Contains(e, "already") {
		t.Errorf("second tell: exit %d %q", code, e)
	}
	if code, _, e := cli(t, "ask", "--db", db, "--study", "s", "--space", sp, "--seed", "4", "--direction", "minimize"); code != 2 || !strings.Contains(e, "seed 3") {
		t.Errorf("ask with another seed: exit %d %q", code, e)
	}
	code, out, e := cli(t, "best", "--db", db, "--study", "s", "--json")
	if code != 0 {
		t.Fatalf("best: %s", e)
	}
	var b struct {
		Value  float64 `json:"value"`
		Trials int     `json:"trials"`
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil || b.Value != best || b.Trials != 7 {
		t.Errorf("best = %s (err %v), want value %g over 7 trials", out, err, best)
	}
}

func TestDatasetsExportAndList(t *testing.T) {
	f := filepath.Join(t.TempDir(), "a.jsonl")
	if code, _, e := cli(t, "datasets", "export", "logic", "--n", "7", "--seed", "2", "--out", f); code != 0 {
		t.Fatal(e)
	}
	exs, err := datasets.LoadFile(f, "jsonl")
	if err != nil || len(exs) != 7 {
		t.Fatalf("exported file: %d examples, %v", len(exs), err)
	}
	want, _ := datasets.GenerateFamily("logic", 7, 2, 0)
	for i := range exs {
		if exs[i] != want[i] {
			t.Fatalf("example %d differs from the generator's", i)
		}
	}
	code, out, _ := cli(t, "datasets", "list", "--json")
	if code != 0 || !strings.Contains(out, `"arithmetic"`) || !json.Valid([]byte(out)) {
		t.Errorf("datasets list --json: %d %q", code, out)
	}
}

func TestEvaluateJSON(t *testing.T) {
	code, out, e := cli(t, "evaluate", "--n", "40", "--teams", "single,large", "--json")
	if code != 0 {
		t.Fatal(e)
	}
	var r struct {
		Teams []struct {
			Team     string  `json:"team"`
			Accuracy float64 `json:"accuracy"`
			Calls    int     `json:"lm_calls"`
		} `json:"teams"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Teams) != 2 {
		t.Fatalf("evaluate --json printed %q: %v", out, err)
	}
	if r.Teams[0].Calls != 40 || r.Teams[0].Accuracy <= 0 || r.Teams[0].Accuracy >= 1 {
		t.Errorf("single team row %+v", r.Teams[0])
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func ftoa(v float64) string { b, _ := json.Marshal(v); return string(b) }

// simFileConfig is an experiment config on the dataset file data.jsonl.
const simFileConfig = `name: simfile
seeds: [1]
lm: {backend: sim}
datasets:
  - name: mine
    file: data.jsonl
    train: 2
    val: 5
    test: 5
    metric: numeric
team:
  agents:
    - id: a1
      model: {choices: [sim-small, sim-medium]}
optimizers: [random]
budget: {trials: 2}
`

// TestRunRefusesFileTheSimCannotParse: with the sim backend, a GSM8K file
// of questions it cannot parse (it would answer "unknown" and score 0) is a
// usage error naming the file's line, and no store is created; a file
// exported from a built-in family runs.
func TestRunRefusesFileTheSimCannotParse(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 12 {
		line, _ := json.Marshal(map[string]string{
			"question": "Weng earns $" + itoa(12+i) + " an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?",
			"answer":   "Weng earns " + itoa(12+i) + "/60 per minute. #### " + itoa(10+i),
		})
		b.Write(line)
		b.WriteByte('\n')
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("data.jsonl", b.String())
	write("exp.yaml", simFileConfig)
	for _, args := range [][]string{{"run", "exp.yaml", "--db", "out/x.db"}, {"run", "exp.yaml"}} {
		code, stdout, stderr := exe(t, dir, args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "exp.yaml:6: datasets[0].file: data.jsonl:1: the sim backend cannot parse") ||
			!strings.Contains(stderr, "12 of the file's 12 questions") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 naming data.jsonl:1", args, code, stdout, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
			t.Fatalf("%v: a refused config created %s", args, filepath.Join(dir, "out"))
		}
	}

	// Questions the sim parses, exported from a family, run to the end.
	if code, _, e := exe(t, dir, "datasets", "export", "arithmetic", "--n", "12", "--out", "data.jsonl", "--force"); code != 0 {
		t.Fatal(e)
	}
	if code, _, e := exe(t, dir, "run", "exp.yaml", "--json"); code != 0 {
		t.Fatalf("run on an exported file: exit %d: %s", code, e)
	}
}
