package experiments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/space"
)

// baseConfig is a small valid config; the malformed cases edit its lines
// by number, so keep the numbering in the comments true.
var baseConfig = []string{
	/* 1 */ "name: test",
	/* 2 */ "seeds: [1, 2]",
	/* 3 */ "lm: {backend: sim, seed: 0}",
	/* 4 */ "datasets:",
	/* 5 */ "  - name: arith",
	/* 6 */ "    family: arithmetic",
	/* 7 */ "    difficulty: 2",
	/* 8 */ "    train: 4",
	/* 9 */ "    val: 10",
	/* 10 */ "    test: 10",
	/* 11 */ "    metric: exact",
	/* 12 */ "team:",
	/* 13 */ "  agents:",
	/* 14 */ "    - id: a1",
	/* 15 */ "      role: solver",
	/* 16 */ "      model: {choices: [sim-small, sim-medium]}",
	/* 17 */ "      temperature: {low: 0, high: 1, step: 0.5}",
	/* 18 */ "      demos: {low: 0, high: 2}",
	/* 19 */ "    - id: a2",
	/* 20 */ "      role: critic",
	/* 21 */ "      optional: true",
	/* 22 */ "      model: sim-medium",
	/* 23 */ "  topology: {choices: [mesh, chain]}",
	/* 24 */ "  rounds: {low: 0, high: 2}",
	/* 25 */ "  aggregation: majority",
	/* 26 */ "baseline:",
	/* 27 */ "  a1.model: sim-small",
	/* 28 */ "optimizers:",
	/* 29 */ "  - name: random",
	/* 30 */ "budget:",
	/* 31 */ "  trials: 3",
	/* 32 */ "workers: 1",
}

// edited returns baseConfig with the given 1-based lines replaced; a
// replacement may span several lines or be empty.
func edited(repl map[int]string) string {
	lines := make([]string, len(baseConfig))
	copy(lines, baseConfig)
	for n, s := range repl {
		lines[n-1] = s
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestParseBaseConfig(t *testing.T) {
	c, err := Parse([]byte(edited(nil)), "base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "test" || len(c.Seeds) != 2 || len(c.Team.Agents) != 2 || c.Budget.Trials != 3 || c.Workers != 1 {
		t.Errorf("parsed %+v", c)
	}
}

// manyAgents is n more agent entries.
func manyAgents(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "    - id: x%d\n      model: sim-small\n", i)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name  string
		repl  map[int]string
		frag  string // in the message
		line  int
		field string // "" skips the check
	}{
		{"unknown top key", map[int]string{32: "wrkers: 1"}, `unknown key "wrkers" (did you mean "workers"?)`, 32, "wrkers"},
		{"unknown agent key", map[int]string{15: "      rol: solver"}, "valid: id, role, optional, model", 15, "team.agents[0].rol"},
		{"seeds not a list", map[int]string{2: "seeds: 3"}, "want a list", 2, "seeds"},
		{"empty seeds", map[int]string{2: "seeds: []"}, "no seeds", 2, "seeds"},
		{"duplicate seed", map[int]string{2: "seeds: [1, 1]"}, "seed 1 is listed twice", 2, "seeds[1]"},
		{"negative seed", map[int]string{2: "seeds: [-1]"}, "want a whole number from 0", 2, "seeds[0]"},
		{"low above high", map[int]string{17: "      temperature: {low: 1, high: 0}"}, "high 0 is below low 1", 17, "team.agents[0].temperature.high"},
		{"temperature above 2", map[int]string{17: "      temperature: {low: 0, high: 3}"}, "above 2, the largest temperature allowed", 17, "team.agents[0].temperature.high"},
		{"log with low 0", map[int]string{17: "      temperature: {low: 0, high: 1, log: true}"}, "log scale needs low > 0", 17, "team.agents[0].temperature.log"},
		{"step not dividing", map[int]string{17: "      temperature: {low: 0, high: 1, step: 0.3}"}, "step 0.3 does not divide high - low = 1 (e.g. step: 0.333", 17, "team.agents[0].temperature.step"},
		{"int variable given a fraction", map[int]string{18: "      demos: {low: 0, high: 1.5}"}, "want a whole number", 18, "team.agents[0].demos.high"},
		{"wrong type", map[int]string{31: "  trials: many"}, `want a whole number (at most 2^53 in size); have "many" (a string)`, 31, "budget.trials"},
		{"string wanted", map[int]string{15: "      role: 7"}, "want a string; have 7 (a number)", 15, "team.agents[0].role"},
		{"unknown optimizer", map[int]string{29: "  - name: bogus"}, `unknown optimizer "bogus" (known: `, 29, "optimizers[0].name"},
		{"bad optimizer settings", map[int]string{29: "  - {name: random, settings: {bsize: 3}}"}, `unknown field "bsize"`, 29, "optimizers[0].settings"},
		{"unknown family", map[int]string{6: "    family: algebra"}, `unknown family "algebra" (known: arithmetic, logic, multihop)`, 6, "datasets[0].family"},
		{"unknown metric", map[int]string{11: "    metric: bleu"}, `unknown metric "bleu" (known: exact, numeric, numeric:TOL, f1)`, 11, "datasets[0].metric"},
		{"unknown role", map[int]string{20: "      role: jester"}, `unknown role "jester" (known: critic, judge, planner, solver)`, 20, "team.agents[1].role"},
		{"unknown fixed model", map[int]string{22: "      model: gpt-9"}, `unknown model "gpt-9" (known: sim-adversary, sim-large, sim-medium, sim-small)`, 22, "team.agents[1].model"},
		{"unknown model choice", map[int]string{16: "      model: {choices: [sim-small, sim-huge]}"}, `unknown model "sim-huge"`, 16, "team.agents[0].model.choices[1]"},
		{"unknown topology", map[int]string{23: "  topology: {choices: [mesh, hypercube]}"}, `unknown topology "hypercube" (known: chain, star, ring, tree, mesh, explicit)`, 23, "team.topology.choices[1]"},
		{"unknown aggregation", map[int]string{25: "  aggregation: plurality"}, `unknown aggregation "plurality" (known: majority, supermajority, weighted, hierarchical, judge)`, 25, "team.aggregation"},
		{"judge without a judge", map[int]string{25: "  aggregation: judge"}, "needs an agent with role: judge", 25, "team.aggregation"},
		{"unknown backend", map[int]string{3: "lm: {backend: claude}"}, `unknown backend "claude" (known: sim, openai)`, 3, "lm.backend"},
		{"openai without a server", map[int]string{3: "lm: {backend: openai}"}, `backend openai needs lm.base_url`, 3, "lm"},
		{"openai bad url", map[int]string{3: "lm: {backend: openai, base_url: 'localhost:8000', prices: {sim-medium: {prompt: 0, completion: 0}}}"}, `base_url "localhost:8000" is not an http or https URL`, 3, "lm.base_url"},
		{"openai model without a price", map[int]string{3: "lm: {backend: openai, base_url: 'http://127.0.0.1:1/v1', models: {sim-medium: gpt-x}, prices: {gpt-y: {prompt: 1, completion: 2}}}"}, `no price for server model "gpt-x" (the team's "sim-medium"): add lm.prices.gpt-x`, 3, "lm.models.sim-medium"},
		{"openai price missing a field", map[int]string{3: "lm: {backend: openai, base_url: 'http://127.0.0.1:1/v1', prices: {gpt-y: {prompt: 1}}}"}, `missing key "completion" in lm.prices.gpt-y`, 3, "lm.prices.gpt-y.completion"},
		{"openai model the team names is unknown", map[int]string{3: "lm: {backend: openai, base_url: 'http://127.0.0.1:1/v1', models: {sim-medium: gpt-x}, prices: {gpt-x: {prompt: 1, completion: 2}}}"}, `unknown model "sim-small" (known: gpt-x, sim-medium)`, 16, "team.agents[0].model.choices[0]"},
		{"openai bad timeout", map[int]string{3: "lm: {backend: openai, base_url: 'http://127.0.0.1:1/v1', timeout: soon, prices: {sim-medium: {prompt: 0, completion: 0}}}"}, `"soon": want a positive duration such as 60s or 2m`, 3, "lm.timeout"},
		{"api key in the file", map[int]string{3: "lm: {backend: openai, api_key: sk-SECRET-VALUE}"}, `the API key is never read from the config file`, 3, "lm.api_key"},
		{"api key as the variable", map[int]string{3: "lm: {backend: openai, base_url: 'http://127.0.0.1:1/v1', api_key_env: sk-SECRET-VALUE, prices: {sim-medium: {prompt: 0, completion: 0}}}"}, `api_key_env names the environment variable`, 3, "lm.api_key_env"},
		{"openai setting under sim", map[int]string{3: "lm: {backend: sim, base_url: 'http://127.0.0.1:1/v1'}"}, `lm.base_url is a setting of backend openai`, 3, "lm.base_url"},
		{"missing profiles file", map[int]string{3: "lm: {backend: sim, profiles: no-such-profiles.yaml}"}, `no-such-profiles.yaml`, 3, "lm.profiles"},
		{"duplicate agent id", map[int]string{19: "    - id: a1"}, `agent id "a1" is used twice`, 19, "team.agents[1].id"},
		{"bad agent id", map[int]string{19: "    - id: a/2"}, `agent id "a/2": use letters`, 19, "team.agents[1].id"},
		{"duplicate dataset name", map[int]string{11: "    metric: exact\n  - name: arith\n    family: logic\n    val: 5"}, `dataset name "arith" is used twice`, 12, "datasets[1].name"},
		{"no datasets", map[int]string{4: "datasets: []", 5: "", 6: "", 7: "", 8: "", 9: "", 10: "", 11: ""}, "no datasets", 4, "datasets"},
		{"no optimizers", map[int]string{28: "optimizers: []", 29: ""}, "no optimizers", 28, "optimizers"},
		{"missing budget", map[int]string{30: "", 31: ""}, `missing key "budget" (e.g. budget: {trials: 12})`, 1, "budget"},
		{"budget without bound", map[int]string{31: "  trials: 0"}, "no bound: set trials, calls or cost", 30, "budget"},
		{"missing val", map[int]string{9: ""}, `missing key "val" in datasets[0] (e.g. val: 40)`, 5, "datasets[0].val"},
		{"edge to unknown agent", map[int]string{23: "  topology: explicit\n  edges: [[a1, a3]]"}, `edge to "a3": not an agent (agents: a1, a2)`, 24, "team.edges[0]"},
		{"edges without explicit", map[int]string{23: "  topology: mesh\n  edges: [[a1, a2]]"}, "edges are used only by the explicit topology", 24, "team.edges"},
		{"explicit without edges", map[int]string{23: "  topology: {choices: [mesh, explicit]}"}, "the explicit topology needs candidate edges", 23, "team.topology"},
		{"unknown edge type", map[int]string{23: "  topology: explicit\n  edges: [[a1, a2, gossip]]"}, `unknown edge type "gossip" (valid: data, feedback, command, supervision)`, 24, "team.edges[0]"},
		{"negative size", map[int]string{8: "    train: -1"}, "train size -1 is negative", 8, "datasets[0].train"},
		{"val zero", map[int]string{9: "    val: 0"}, "val is 0", 9, "datasets[0].val"},
		{"missing file", map[int]string{6: "    file: no-such-file.jsonl", 7: ""}, "no-such-file.jsonl does not exist", 6, "datasets[0].file"},
		{"family and file", map[int]string{7: "    file: x.jsonl"}, "give either family or file, not both", 7, "datasets[0].file"},
		{"difficulty out of range", map[int]string{7: "    difficulty: 4"}, "difficulty 4 outside 0..3", 7, "datasets[0].difficulty"},
		{"demos beyond train", map[int]string{18: "      demos: {low: 0, high: 8}"}, `up to 8 demos need 8 train examples, but dataset "arith" has train: 4`, 18, "team.agents[0].demos.high"},
		{"default not a choice", map[int]string{16: "      model: {choices: [sim-small, sim-medium], default: sim-large}"}, `default: "sim-large" is not among the choices`, 16, "team.agents[0].model.default"},
		{"default off the grid", map[int]string{17: "      temperature: {low: 0, high: 1, step: 0.5, default: 0.7}"}, "0.7 is off the grid 0, 0.5, ..., 1", 17, "team.agents[0].temperature.default"},
		{"weights mismatch", map[int]string{16: "      model: {choices: [sim-small, sim-medium], weights: [1]}"}, "1 weights for 2 choices", 16, "team.agents[0].model.weights"},
		{"choices for a number", map[int]string{17: "      temperature: {choices: [hot, cold]}"}, "temperature is a float variable: it takes low, high, step, log and default, not choices", 17, "team.agents[0].temperature.choices"},
		{"ambiguous extra", map[int]string{18: "      demos: {low: 0, high: 2}\n      vars: {depth: {low: 1, high: 3}}"}, "type: int or float is required", 19, "team.agents[0].vars.depth.type"},
		{"wrong type key", map[int]string{17: "      temperature: {type: int, low: 0, high: 1}"}, "temperature is a float variable; drop type or write type: float", 17, "team.agents[0].temperature.type"},
		{"repeated key", map[int]string{10: "    val: 5"}, `key "val" repeated (first on line 9)`, 10, "datasets[0].val"},
		{"max below required", map[int]string{25: "  aggregation: majority\n  max_active: 0\n  min_active: 3"}, "min_active 3 outside 0..2", 27, "team.min_active"},
		{"unknown hub", map[int]string{25: "  aggregation: majority\n  hub: boss"}, `hub "boss" is not an agent`, 26, "team.hub"},
		{"search edges without explicit", map[int]string{25: "  aggregation: majority\n  search_edges: true"}, "search_edges needs explicit", 26, "team.search_edges"},
		{"baseline unknown key", map[int]string{27: "  a1.colour: red"}, `unknown baseline key "a1.colour" (valid: topology, rounds, a1.model, a1.temperature, a1.demos, a2.active)`, 27, "baseline.a1.colour"},
		{"rounds above the limit", map[int]string{24: "  rounds: 1000000"}, "rounds 1000000 is outside [0, 10]", 24, "team.rounds"},
		{"rounds range above the limit", map[int]string{24: "  rounds: {low: 0, high: 11}"}, "high 11 is above 10", 24, "team.rounds.high"},
		{"max_tokens above the limit", map[int]string{22: "      model: sim-medium\n      max_tokens: 40000"}, "max_tokens 40000 is outside [0, 32768]", 23, "team.agents[1].max_tokens"},
		{"too many agents", map[int]string{22: "      model: sim-medium\n" + manyAgents(64)}, "66 agents; at most 64", 13, "team.agents"},
		{"baseline out of range", map[int]string{27: "  a1.temperature: 5"}, "5 is outside [0, 1]", 27, "baseline.a1.temperature"},
		{"baseline not a choice", map[int]string{27: "  a1.model: sim-large"}, `"sim-large" is not among the choices (sim-small, sim-medium)`, 27, "baseline.a1.model"},
		{"baseline fixed variable", map[int]string{27: "  a2.model: sim-small"}, `a2.model is fixed to "sim-medium"; the baseline sets searched variables only`, 27, "baseline.a2.model"},
		{"baseline required agent off", map[int]string{27: "  a1.active: false"}, "agent a1 is not optional", 27, "baseline.a1.active"},
		{"too many grid points", map[int]string{18: "      demos: {low: 0, high: 2}\n      rules: {low: 0, high: 9000000000000000}"}, "more than 2^31 grid points", 19, "team.agents[0].rules"},
		{"instruction with a header", map[int]string{15: "      role: solver\n      instruction: {choices: [ok, \"fine\\n# Task\"]}"}, "starts with #, which marks prompt sections", 16, "team.agents[0].instruction.choices[1]"},
		{"reserved extra name", map[int]string{15: "      role: solver\n      vars: {active: true}"}, "active is a reserved name", 16, "team.agents[0].vars.active"},
		{"baseline over the price cap", map[int]string{25: "  aggregation: majority\n  max_model_cost: 0.5"}, "the baseline team is not valid", 26, "team.max_model_cost"},
		{"yaml syntax", map[int]string{17: "      temperature: {low: 0, high: 1"}, "YAML syntax: did not find expected ',' or '}'", 17, ""},
		{"tab indentation", map[int]string{15: "\trole: solver"}, "YAML syntax: found a tab character that violates indentation", 14, ""},
		{"second document", map[int]string{32: "workers: 1\n---\nname: again"}, "a second YAML document", 33, ""},
		{"not a mapping", map[int]string{1: "- name: test"}, "YAML syntax: did not find expected '-' indicator", 2, ""},
		{"top level a list", map[int]string{1: "- 1", 2: "- 2", 3: "", 4: "", 5: "", 6: "", 7: "", 8: "", 9: "", 10: "", 11: "", 12: "", 13: "", 14: "", 15: "", 16: "", 17: "", 18: "", 19: "", 20: "", 21: "", 22: "", 23: "", 24: "", 25: "", 26: "", 27: "", 28: "", 29: "", 30: "", 31: "", 32: ""}, "a config is a YAML mapping with keys name, description, seeds", 1, ""},
		{"negative workers", map[int]string{32: "workers: -1"}, "workers -1 is negative", 32, "workers"},
		{"bad name", map[int]string{1: "name: Test Run"}, `experiment name "Test Run": use lower-case letters`, 1, "name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(edited(tc.repl)), "exp.yaml")
			if err == nil {
				t.Fatalf("no error; want %q at line %d", tc.frag, tc.line)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not match ErrInvalidConfig", err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *ConfigError", err, err)
			}
			if !strings.Contains(ce.Msg, tc.frag) || ce.Line != tc.line || tc.field != "" && ce.Field != tc.field {
				t.Errorf("first error = line %d field %q msg %q\nwant      line %d field %q msg containing %q\n(all: %v)",
					ce.Line, ce.Field, ce.Msg, tc.line, tc.field, tc.frag, err)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("the error echoes a secret: %v", err)
			}
			if want := "exp.yaml:"; !strings.HasPrefix(ce.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", ce.Error(), want)
			}
		})
	}
}

func TestParseReportsEveryProblemInLineOrder(t *testing.T) {
	_, err := Parse([]byte(edited(map[int]string{
		25: "  aggregation: plurality",
		6:  "    family: algebra",
		32: "workers: -1",
	})), "exp.yaml")
	var l ErrorList
	if !errors.As(err, &l) {
		t.Fatalf("error %T %v, want an ErrorList", err, err)
	}
	var lines []int
	for _, e := range l {
		lines = append(lines, e.Line)
	}
	if want := []int{6, 25, 32}; !reflect.DeepEqual(lines, want) {
		t.Errorf("lines %v, want %v:\n%v", lines, want, err)
	}
	if got := strings.Count(err.Error(), "\n"); got != 2 {
		t.Errorf("Error() has %d line breaks, want one error a line:\n%v", got, err)
	}
}

// A space error found by space.Team.Compile is reported at the YAML line of
// the agent it is about.
func TestTeamSpaceErrorsNameTheAgent(t *testing.T) {
	c, err := Parse([]byte(edited(nil)), "exp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Team.Agents[1].Vars = append(c.Team.Agents[1].Vars, Param{Name: "x/y", Kind: space.KindBool})
	err = c.Validate()
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Line != 19 || ce.Field != "team.agents[1].vars.x/y" || !strings.Contains(ce.Msg, `"/"`) {
		t.Errorf("error %#v, want one at line 19 naming team.agents[1].vars.x/y", ce)
	}
	var ve *space.VarError
	if !errors.As(err, &ve) {
		t.Errorf("error %v does not wrap the *space.VarError", err)
	}
}

// roundTripConfig uses every part of the format.
const roundTripConfig = `
name: round-trip
description: every key
seeds: [3, 1]
lm: {backend: sim, seed: 9, cache: true}
datasets:
  - name: arith
    family: arithmetic
    difficulty: 1
    train: 3
    val: 6
    test: 4
    metric: numeric:0.5
    seed: 11
  - name: mine
    file: data.jsonl
    format: jsonl
    train: 2
    val: 3
    test: 1
    metric: f1
team:
  agents:
    - id: a1
      role: planner
      model: {choices: [sim-small, sim-large], weights: [3, 1], default: sim-large}
      temperature: {low: 0.1, high: 1.1, step: 0.5, default: 0.6}
      max_tokens: {low: 16, high: 256, log: true}
      instruction: {choices: ["yes", "1", "Think: carefully, then answer."]}
      demos: 2
      rules: {low: 0, high: 3}
      weight: 2
      vars: {depth: {type: int, low: 1, high: 3}, style: terse, flag: {type: bool, default: true}, ratio: 0.5, on: true}
    - id: judge
      role: judge
      optional: true
    - id: c
      role: critic
      optional: true
      model: sim-small
  topology: {choices: [explicit, mesh, star]}
  rounds: 2
  aggregation: {choices: [majority, judge]}
  budget_allocation: {choices: [equal, auction]}
  edges: [[a1, judge], {from: judge, to: a1, type: feedback}, [c, a1, supervision]]
  search_edges: true
  min_active: 1
  max_active: 2
  hub: a1
  max_model_cost: 12.5
  vars: {threshold: {low: 0.5, high: 0.9}, mode: {choices: [x, y]}}
baseline:
  a1.model: sim-small
  judge.active: false
  a1.depth: 2
  threshold: 0.75
optimizers:
  - random
  - {name: random, label: random-2, settings: {}}
budget: {trials: 5, calls: 1000, cost: 0.5}
workers: 2
`

// writeData writes n distinct arithmetic examples, as `experiment datasets
// export` does, to dir/data.jsonl: questions the sim backend parses.
func writeData(t *testing.T, dir string, n int) {
	t.Helper()
	exs, err := datasets.GenerateFamily("arithmetic", n, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := datasets.SaveFile(filepath.Join(dir, "data.jsonl"), exs); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	writeData(t, dir, 10)
	file := filepath.Join(dir, "rt.yaml")
	c1, err := Parse([]byte(roundTripConfig), file)
	if err != nil {
		t.Fatal(err)
	}
	y1, err := c1.YAML()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse(y1, file)
	if err != nil {
		t.Fatalf("reading back:\n%s\n%v", y1, err)
	}
	y2, err := c2.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if string(y1) != string(y2) {
		t.Errorf("YAML changed on the round trip:\n%s\n---\n%s", y1, y2)
	}
	if string(c1.JSON()) != string(c2.JSON()) {
		t.Errorf("JSON changed on the round trip:\n%s\n%s", c1.JSON(), c2.JSON())
	}
	c1.lines, c2.lines = nil, nil
	c1.source, c2.source = nil, nil // two texts of one config
	if !reflect.DeepEqual(c1, c2) {
		t.Errorf("configs differ after the round trip:\n%+v\n%+v", c1, c2)
	}

	// Spot checks of what was read.
	a1 := c1.Team.Agents[0]
	kinds := map[string]space.Kind{}
	for _, v := range a1.Vars {
		kinds[v.Name] = v.Kind
	}
	want := map[string]space.Kind{
		"model": space.KindComponent, "temperature": space.KindFloat, "max_tokens": space.KindInt, "instruction": space.KindChoice,
		"demos": space.KindInt, "rules": space.KindInt, "weight": space.KindFloat,
		"depth": space.KindInt, "style": space.KindChoice, "flag": space.KindBool, "ratio": space.KindFloat, "on": space.KindBool,
	}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	if got := a1.Vars[3].Choices; !reflect.DeepEqual(got, []string{"yes", "1", "Think: carefully, then answer."}) {
		t.Errorf("instruction choices %q", got)
	}
	if e := c1.Team.Edges[1]; e.From != "judge" || e.To != "a1" || e.Type != space.Feedback {
		t.Errorf("edge %v", e)
	}
	if c1.Optimizers[0].label() != "random" || c1.Optimizers[1].label() != "random-2" {
		t.Errorf("optimizers %+v", c1.Optimizers)
	}
	if !c1.LMCache() || c1.LM.Seed != 9 || c1.Budget.Calls != 1000 || c1.Datasets[0].Seed == nil || *c1.Datasets[0].Seed != 11 {
		t.Errorf("config %+v", c1)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	cfg := edited(map[int]string{
		14: "    - &base {id: a1, role: solver, model: sim-small, temperature: 0.5}",
		15: "    - <<: *base",
		16: "      id: a3",
		17: "      model: sim-large",
		18: "",
		27: "  topology: chain",
	})
	c, err := Parse([]byte(cfg), "exp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a3 := c.Team.Agents[1]
	if a3.ID != "a3" || a3.Role != "solver" || a3.Vars[0].Fixed != "sim-large" || a3.Vars[1].Fixed != 0.5 {
		t.Errorf("merged agent %+v", a3)
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v", err)
	}
	_, err := Parse(nil, "empty.yaml")
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "empty config") {
		t.Errorf("empty config: %v", err)
	}
}
