package edges_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/edges"
	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/internal/studytest"
	"github.com/mabeam/mabeam/optimizer"
)

const config = `
name: e
seeds: [3]
lm: {backend: sim, seed: 0}
datasets:
  - {name: arith, family: arithmetic, difficulty: 2, train: 24, val: 20, test: 20, metric: numeric}
team:
  agents:
    - {id: s1, model: sim-medium}
    - {id: s2, model: sim-medium}
    - {id: bad, model: sim-adversary}
  topology: {choices: [mesh, explicit], default: mesh}
  edges: [[s1, s2], [s2, s1], [bad, s1], [bad, s2], [s1, bad]]
  search_edges: true
  rounds: 1
optimizers:
  - name: METHOD
    settings: {minibatch: 6}
budget:
  calls: 3000
`

func study(t *testing.T, method string) (*optimizer.Result, func(int) []optimizer.Trial) {
	st := studytest.First(t, strings.Replace(config, "METHOD", method, 1))
	res, err := st.Opt.Optimize(context.Background(), st.Problem, st.Budget)
	if err != nil {
		t.Fatal(err)
	}
	resume := func(cut int) []optimizer.Trial {
		p := *st.Problem
		p.History = slices.Clone(res.Trials[:cut])
		got, err := st.Opt.Optimize(context.Background(), &p, st.Budget)
		if err != nil {
			t.Fatalf("resumed after %d trials: %v", cut, err)
		}
		return got.Trials
	}
	if res.Spent.Calls > st.Budget.Calls {
		t.Errorf("%s spent %d calls of %d", method, res.Spent.Calls, st.Budget.Calls)
	}
	return res, resume
}

// TestStudy: each optimizer samples graphs of the candidate edges on train
// mini-batches (4 an iteration), ends with its learnt graph on validation
// as the study's best, stays within the call budget, and resumed from any
// prefix of its trials gives the same trials.
func TestStudy(t *testing.T) {
	for _, method := range []string{edges.GPTSwarm, edges.AgentPrune} {
		res, resume := study(t, method)
		last := res.Trials[len(res.Trials)-1]
		if last.Strategy != edges.StrategyFinal || last.Split != optimizer.SplitVal || !res.BestOK || res.Best.Number != last.Number {
			t.Fatalf("%s: last trial %+v, best %d", method, last, res.Best.Number)
		}
		samples := len(res.Trials) - 1
		if samples < 8 || method == edges.AgentPrune && samples != 40 {
			t.Errorf("%s: %d sampled graphs", method, samples)
		}
		for _, tr := range res.Trials[:samples] {
			if tr.Strategy != edges.StrategySample || tr.Split != optimizer.SplitTrain || tr.Batch != 6 || tr.Step != tr.Number/4+1 {
				t.Errorf("%s: trial %d: strategy %s split %s batch %d step %d", method, tr.Number, tr.Strategy, tr.Split, tr.Batch, tr.Step)
			}
			if tr.Params.String("team/topology") != "explicit" {
				t.Errorf("%s: trial %d is not an explicit graph: %v", method, tr.Number, tr.Params)
			}
		}
		want := studytest.Strip(res.Trials)
		for _, cut := range []int{1, 3, 4, 9, samples} {
			if got := studytest.Strip(resume(cut)); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: resumed after %d trials, the trials differ", method, cut)
			}
		}
	}
}

// TestCheck: a config whose team space has no searched edges is refused
// where it names the optimizer, saying what is missing.
func TestCheck(t *testing.T) {
	cfg := strings.Replace(strings.Replace(config, "METHOD", "gptswarm", 1), "  search_edges: true\n", "", 1)
	c, err := experiments.Parse([]byte(cfg), "test.yaml")
	if err == nil {
		_, err = c.Studies(nil)
	}
	if err == nil || !strings.Contains(err.Error(), "test.yaml:16") || !strings.Contains(err.Error(), "search_edges") {
		t.Fatalf("a team without searched edges: %v", err)
	}
	if _, err := optimizer.New("agentprune", map[string]any{"prune": 1.5}); err == nil || !strings.Contains(err.Error(), "prune") {
		t.Errorf("prune 1.5: %v", err)
	}
}

// TestSampleOthers: by default every trial keeps the baseline's other
// variables; with sample_others each sampled graph draws them from the
// space, the result takes those of the best-scoring sampled graph, and a
// resumed study still gives the same trials.
func TestSampleOthers(t *testing.T) {
	cfg := strings.Replace(config, "{id: s1, model: sim-medium}", "{id: s1, model: {choices: [sim-small, sim-large], default: sim-small}}", 1)
	const model = "agent/s1/model"
	for _, sampled := range []bool{false, true} {
		c := cfg
		if sampled {
			c = strings.Replace(c, "{minibatch: 6}", "{minibatch: 6, sample_others: true}", 1)
		}
		st := studytest.First(t, strings.Replace(c, "METHOD", edges.GPTSwarm, 1))
		res, err := st.Opt.Optimize(context.Background(), st.Problem, st.Budget)
		if err != nil {
			t.Fatal(err)
		}
		samples, final := res.Trials[:len(res.Trials)-1], res.Trials[len(res.Trials)-1]
		seen := map[string]bool{}
		best := samples[0]
		for _, tr := range samples {
			seen[tr.Params.String(model)] = true
			if tr.Value > best.Value {
				best = tr
			}
		}
		if !sampled {
			if len(seen) != 1 || !seen["sim-small"] || final.Params.String(model) != "sim-small" {
				t.Errorf("baseline's others kept: s1's models %v, the result's %s", seen, final.Params.String(model))
			}
			continue
		}
		if len(seen) != 2 {
			t.Errorf("sample_others: s1's models %v over %d graphs", seen, len(samples))
		}
		for _, v := range st.Problem.Space.Names() {
			if strings.HasPrefix(v, "team/edge/") || v == "team/topology" {
				continue
			}
			if !reflect.DeepEqual(final.Params[v], best.Params[v]) {
				t.Errorf("the result's %s is %v, the best sampled graph's (trial %d) %v", v, final.Params[v], best.Number, best.Params[v])
			}
		}
		p := *st.Problem
		p.History = slices.Clone(res.Trials[:7])
		got, err := st.Opt.Optimize(context.Background(), &p, st.Budget)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(studytest.Strip(got.Trials), studytest.Strip(res.Trials)) {
			t.Errorf("sample_others resumed after 7 trials: the trials differ")
		}
	}
}
