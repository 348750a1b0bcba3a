package optimizer_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// TestProgramContract: a trial records its full program, the program
// replays to the same score, and the evaluation options do what they say.
func TestProgramContract(t *testing.T) {
	ctx := context.Background()
	p := teamProblem(t, 3)
	ev := p.Evaluator.(*optimizer.TeamEvaluator)
	res, err := (&optimizer.Search{}).Optimize(ctx, p, optimizer.Budget{Trials: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Trials {
		if tr.Agents == nil || tr.Split != optimizer.SplitVal {
			t.Fatalf("trial %d: agents %v, split %q; want its program's materials, scored on val", tr.Number, tr.Agents, tr.Split)
		}
		// Through JSON, as the store keeps it, the program replays exactly.
		b, err := json.Marshal(tr.Program())
		if err != nil {
			t.Fatal(err)
		}
		var back optimizer.Program
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		back.Params = tr.Params // the store decodes params itself, with their kinds
		rep, err := ev.EvaluateProgram(ctx, back, p.Val, optimizer.EvalOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Mean != tr.Value {
			t.Errorf("trial %d replays to %.4f, stored %.4f", tr.Number, rep.Mean, tr.Value)
		}
	}

	// Per-agent materials override the pools; a demo shows the agent's
	// own output when it has one.
	prog, err := ev.Program(res.Trials[0].Params)
	if err != nil {
		t.Fatal(err)
	}
	own := prog.Clone()
	demo := optimizer.Demo{Example: p.Train[0].ID, Question: p.Train[0].Question, Answer: p.Train[0].Answer,
		Output: "Reasoning: counted twice.\nAnswer: " + p.Train[0].Answer}
	own.Agents["a1"] = optimizer.AgentProgram{Instruction: "Add up every quantity before you answer.",
		Demos: []optimizer.Demo{demo}, Rules: []string{"Check the arithmetic twice."}}
	tm, err := ev.Build(res.Trials[0].Params)
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Spec().Agents[0].Rules) != 0 {
		t.Fatal("the pool has rules; the test needs an empty one")
	}
	r1, err := ev.EvaluateProgram(ctx, own, p.Val[:5], optimizer.EvalOptions{KeepTraces: true})
	if err != nil {
		t.Fatal(err)
	}
	sys := r1.Results[0].Trace[0].Messages[0].Content
	for _, want := range []string{"Check the arithmetic twice.", "Reasoning: counted twice.", "### Instruction\nAdd up every quantity before you answer."} {
		if !strings.Contains(sys, want) {
			t.Errorf("agent a1's system message lacks %q:\n%s", want, sys)
		}
	}
	if reflect.DeepEqual(own.Agents["a1"], prog.Agents["a1"]) {
		t.Error("Clone shares the agents map")
	}

	// A temperature floor makes greedy agents sample: two sample indices
	// then differ, while without it they answer alike.
	greedy := optimizer.Program{Params: space.Assignment{}}
	for k, v := range res.Trials[0].Params {
		greedy.Params[k] = v
	}
	for k := range greedy.Params {
		if len(k) > 12 && k[len(k)-12:] == "/temperature" {
			greedy.Params[k] = 0.0
		}
	}
	answers := func(o optimizer.EvalOptions) []string {
		rep, err := ev.EvaluateProgram(ctx, greedy, p.Val, o)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range rep.Examples {
			out = append(out, e.Answer)
		}
		return out
	}
	if a, b := answers(optimizer.EvalOptions{Sample: 0}), answers(optimizer.EvalOptions{Sample: 1}); !slices.Equal(a, b) {
		t.Error("greedy agents answered differently for two sample indices")
	}
	if a, b := answers(optimizer.EvalOptions{Sample: 0, TemperatureFloor: 1}), answers(optimizer.EvalOptions{Sample: 1, TemperatureFloor: 1}); slices.Equal(a, b) {
		t.Error("a temperature floor of 1 did not make the samples differ")
	}
	if _, err := ev.EvaluateProgram(ctx, greedy, p.Val, optimizer.EvalOptions{TemperatureFloor: 3}); err == nil {
		t.Error("a temperature floor of 3 was accepted")
	}
}
