package experiments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

func mustParse(t *testing.T, src, file string) *Config {
	t.Helper()
	c, err := Parse([]byte(src), file)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustStudies(t *testing.T, c *Config) []*Study {
	t.Helper()
	sts, err := c.Studies(nil)
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

func TestStudies(t *testing.T) {
	c := mustParse(t, edited(map[int]string{29: "  - random\n  - {name: random, label: random-b}"}), "exp.yaml")
	sts := mustStudies(t, c)
	var names []string
	for _, st := range sts {
		names = append(names, st.Name)
	}
	want := []string{"test/arith/random/seed1", "test/arith/random/seed2", "test/arith/random-b/seed1", "test/arith/random-b/seed2"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("study names %q, want %q", names, want)
	}
	st := sts[1]
	if st.Experiment != "test" || st.Dataset != "arith" || st.Optimizer != "random" || st.Seed != 2 || st.Budget.Trials != 3 {
		t.Errorf("study fields %+v", st)
	}
	p := st.Problem
	if len(p.Train) != 4 || len(p.Val) != 10 || len(p.Test) != 10 {
		t.Errorf("splits %d/%d/%d, want 4/10/10", len(p.Train), len(p.Val), len(p.Test))
	}
	if p.Direction != optimizer.Maximize || p.Seed != 2 || p.Space != st.TeamSpace.Space() || p.Evaluator != st.Evaluator {
		t.Errorf("problem %+v", p)
	}
	if st.Evaluator.Eval == nil || st.Evaluator.Eval.Workers != 1 || st.Evaluator.Model == nil {
		t.Errorf("evaluator %+v", st.Evaluator)
	}
	wantVars := []string{
		"team/topology", "team/rounds", "team/aggregation", "team/budget", "team/active/a2",
		"agent/a1/model", "agent/a1/temperature", "agent/a1/demos", "agent/a2/model",
	}
	if got := p.Space.Names(); !reflect.DeepEqual(got, wantVars) {
		t.Errorf("space %q, want %q", got, wantVars)
	}
	wantBase := space.Assignment{
		"team/topology": "mesh", "team/rounds": 0, "team/aggregation": "majority", "team/budget": "equal",
		"team/active/a2": true, "agent/a1/model": "sim-small", "agent/a1/temperature": 0.0, "agent/a1/demos": 0,
		"agent/a2/model": "sim-medium",
	}
	if !reflect.DeepEqual(p.Baseline, wantBase) {
		t.Errorf("baseline %v, want %v", p.Baseline, wantBase)
	}
	if err := p.Space.Validate(p.Baseline); err != nil {
		t.Errorf("baseline invalid: %v", err)
	}
	// The demo pool is the start of the train split; instructions default to the role's.
	m := st.Evaluator.Materials
	if len(m.Demos) != 2 || m.Demos[0].Question != p.Train[0].Question || m.Demos[1].Answer != p.Train[1].Answer || len(m.Rules) != 0 {
		t.Errorf("materials %+v", m)
	}
	// The space JSON is the CLI's format.
	s, err := space.ParseJSON(st.SpaceJSON)
	if err != nil {
		t.Fatalf("space JSON does not parse: %v\n%s", err, st.SpaceJSON)
	}
	if got, want := s.Names(), slices.Sorted(slices.Values(wantVars)); !reflect.DeepEqual(got, want) {
		t.Errorf("space JSON names %q, want %q", got, want)
	}
	// Each study gets its own data and optimizer; seeds draw different data.
	if sts[0].Opt == sts[2].Opt || reflect.DeepEqual(sts[0].Problem.Val, sts[1].Problem.Val) {
		t.Errorf("studies share an optimizer, or seeds 1 and 2 drew the same data")
	}
	if !reflect.DeepEqual(sts[0].Problem.Val, sts[2].Problem.Val) {
		t.Errorf("two optimizers on the same seed got different data")
	}
	// A study's hash depends on its optimizer but not on the description.
	if sts[0].ConfigHash == sts[2].ConfigHash || sts[0].ConfigHash == sts[1].ConfigHash {
		t.Errorf("hashes of different studies coincide")
	}
	c2 := mustParse(t, edited(map[int]string{1: "name: test\ndescription: changed", 29: "  - random\n  - {name: random, label: random-b}"}), "exp.yaml")
	if h := mustStudies(t, c2)[0].ConfigHash; h != sts[0].ConfigHash {
		t.Errorf("the description changed the config hash")
	}
}

func TestStudiesAreDeterministic(t *testing.T) {
	for _, file := range []string{"quickstart.yaml", "topology_adversary.yaml"} {
		a, b := mustStudies(t, loadShipped(t, file)), mustStudies(t, loadShipped(t, file))
		for i := range a {
			x, y := a[i], b[i]
			if string(x.SpaceJSON) != string(y.SpaceJSON) || x.ConfigHash != y.ConfigHash || string(x.ConfigJSON) != string(y.ConfigJSON) {
				t.Errorf("%s: study %s compiled twice differs", file, x.Name)
			}
			for _, pair := range [][2][]datasets.Example{{x.Problem.Train, y.Problem.Train}, {x.Problem.Val, y.Problem.Val}, {x.Problem.Test, y.Problem.Test}} {
				if !reflect.DeepEqual(pair[0], pair[1]) {
					t.Errorf("%s: study %s: splits differ", file, x.Name)
				}
			}
			if !reflect.DeepEqual(x.Problem.Baseline, y.Problem.Baseline) {
				t.Errorf("%s: study %s: baselines differ", file, x.Name)
			}
		}
	}
}

func TestFileDataset(t *testing.T) {
	dir := t.TempDir()
	writeData(t, dir, 30)
	cfg := edited(map[int]string{6: "    file: data.jsonl", 7: "    format: jsonl", 11: "    metric: numeric"})
	c := mustParse(t, cfg, filepath.Join(dir, "exp.yaml"))
	sts := mustStudies(t, c)
	p := sts[0].Problem
	if len(p.Train) != 4 || len(p.Val) != 10 || len(p.Test) != 10 {
		t.Errorf("splits %d/%d/%d, want 4/10/10", len(p.Train), len(p.Val), len(p.Test))
	}
	seen := map[string]bool{}
	for _, ex := range slices.Concat(p.Train, p.Val, p.Test) {
		if seen[ex.ID] {
			t.Errorf("example %s in two splits", ex.ID)
		}
		seen[ex.ID] = true
	}
	if !strings.Contains(string(sts[0].ConfigJSON), `"sha256":"`) {
		t.Errorf("study config does not pin the data file: %s", sts[0].ConfigJSON)
	}

	// Too few examples for the splits: reported at the dataset's line.
	writeData(t, dir, 12)
	_, err := c.Studies(nil)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Line != 5 || ce.Field != "datasets[0]" || !strings.Contains(ce.Msg, "24 examples, but data.jsonl has 12") {
		t.Errorf("too small a file: %v", err)
	}
	// A bad line: reported at the file key, with the file's own line.
	if err := os.WriteFile(filepath.Join(dir, "data.jsonl"), []byte("{\"question\": \"q\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = c.Studies(nil)
	if !errors.As(err, &ce) || ce.Line != 6 || !errors.Is(err, datasets.ErrBadLine) || !strings.Contains(ce.Msg, `data.jsonl:1: missing "answer"`) {
		t.Errorf("bad data line: %v", err)
	}
}

func loadShipped(t *testing.T, name string) *Config {
	t.Helper()
	c, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every shipped config loads, compiles, and its baseline team runs.
func TestShippedConfigs(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("shipped configs: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			c := loadShipped(t, f)
			if want := strings.TrimSuffix(f, ".yaml"); c.Name != want {
				t.Errorf("name %q, want the file's name %q", c.Name, want)
			}
			sts := mustStudies(t, c)
			if n := len(c.Datasets) * len(c.Optimizers) * len(c.Seeds); len(sts) != n {
				t.Errorf("%d studies, want %d", len(sts), n)
			}
			st := sts[0]
			rep, err := st.Evaluator.Evaluate(context.Background(), st.Problem.Baseline, st.Problem.Val[:5])
			if err != nil {
				t.Fatalf("baseline on 5 examples: %v", err)
			}
			if rep.Calls == 0 {
				t.Errorf("the baseline made no calls")
			}
		})
	}
}

// TestQuickstartRuns: each optimizer of the quickstart runs a study to
// its call budget, within it, and scores its best on test. (Its speed,
// well under 30 s for the whole quickstart, is measured by `make run`.)
func TestQuickstartRuns(t *testing.T) {
	c := loadShipped(t, "quickstart.yaml")
	sts := mustStudies(t, c)
	seen := map[string]bool{}
	for _, st := range sts {
		if seen[st.Optimizer] {
			continue
		}
		seen[st.Optimizer] = true
		start := time.Now()
		res, err := st.Opt.Optimize(context.Background(), st.Problem, st.Budget)
		if err != nil {
			t.Fatal(err)
		}
		if err := optimizer.Conclude(context.Background(), st.Problem, res); err != nil {
			t.Fatal(err)
		}
		if res.Spent.Calls > c.Budget.Calls || !res.BestOK || res.Best.Split != optimizer.SplitVal || res.Test == nil || res.Baseline == nil {
			t.Fatalf("%s: spent %+v of %d calls, best %+v", st.Name, res.Spent, c.Budget.Calls, res.Best)
		}
		t.Logf("%s: %v, %d trials, %d calls, best val %.3f, test %.3f, baseline test %.3f", st.Name,
			time.Since(start), len(res.Trials), res.Spent.Calls, res.Best.Value, res.Test.Mean, res.Baseline.Mean)
	}
	if !seen["random"] || !seen["simba"] {
		t.Errorf("the quickstart runs %v, want random and simba", seen)
	}
}

// gsm8kLine is a GSM8K-style line with the given question.
func gsm8kLine(question, answer string) string {
	b, _ := json.Marshal(map[string]string{"question": question, "answer": "Reasoning. #### " + answer})
	return string(b) + "\n"
}

// The sim backend answers only questions datasets.Solve parses: a file with
// any other is refused at its first such line, before anything runs.
func TestSimRefusesUnparsableFile(t *testing.T) {
	dir := t.TempDir()
	arith, err := datasets.GenerateFamily("arithmetic", 30, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(gsm8kLine(arith[0].Question, arith[0].Answer)) // line 1: one the sim parses
	b.WriteString(gsm8kLine(arith[1].Question, arith[1].Answer))
	for i := range 28 { // lines 3..30: real GSM8K questions, which it does not
		b.WriteString(gsm8kLine(fmt.Sprintf("Natalia sold clips to %d of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?", 40+2*i), strconv.Itoa(60+3*i)))
	}
	if err := os.WriteFile(filepath.Join(dir, "gsm8k.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := edited(map[int]string{6: "    file: gsm8k.jsonl", 7: "    format: gsm8k", 11: "    metric: numeric"})
	c := mustParse(t, cfg, filepath.Join(dir, "exp.yaml")) // Parse does not read data
	_, err = c.Studies(nil)
	var ce *ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, ErrSimCannotParse) || !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Studies = %v, want a *ConfigError matching ErrSimCannotParse", err)
	}
	for _, want := range []string{"gsm8k.jsonl:3: the sim backend cannot parse", "28 of the file's 30 questions", "real model backend", "built-in family"} {
		if !strings.Contains(ce.Msg, want) {
			t.Errorf("message %q lacks %q", ce.Msg, want)
		}
	}
	if ce.Line != 6 || ce.Field != "datasets[0].file" || !strings.HasPrefix(err.Error(), filepath.Join(dir, "exp.yaml")+":6: datasets[0].file: ") {
		t.Errorf("error at %d %q (%v), want at the file key, line 6", ce.Line, ce.Field, err)
	}

	// Only the sim backend is checked: another backend reads such files.
	other := *c
	other.LM.Backend = "real"
	if f, err := other.loadFile(0); err != nil || len(f.examples) != 30 {
		t.Errorf("backend real: %d examples, %v; want the file read unchecked", len(f.examples), err)
	}

	// The same format with questions the sim parses loads, and so does a
	// file exported from each built-in family.
	b.Reset()
	for _, ex := range arith {
		b.WriteString(gsm8kLine(ex.Question, ex.Answer))
	}
	if err := os.WriteFile(filepath.Join(dir, "gsm8k.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if sts := mustStudies(t, c); len(sts[0].Problem.Val) != 10 {
		t.Errorf("parsable GSM8K file: val %d, want 10", len(sts[0].Problem.Val))
	}
	for _, fam := range datasets.Names() {
		exs, err := datasets.GenerateFamily(fam, 30, 5, 0)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := datasets.WriteJSONL(&buf, exs); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "data.jsonl"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		c := mustParse(t, edited(map[int]string{6: "    file: data.jsonl", 7: ""}), filepath.Join(dir, "exp.yaml"))
		if sts := mustStudies(t, c); len(sts[0].Problem.Test) != 10 {
			t.Errorf("%s export: test %d, want 10", fam, len(sts[0].Problem.Test))
		}
	}
}
