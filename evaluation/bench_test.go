package evaluation

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/team"
)

// debate is a 5-agent, 2-round mesh debate with majority vote.
func debate(b *testing.B, model lm.Model) *team.Team {
	models := []string{"sim-small", "sim-medium", "sim-large", "sim-medium", "sim-small"}
	agents := make([]team.AgentSpec, len(models))
	for i, m := range models {
		agents[i] = team.AgentSpec{ID: fmt.Sprintf("agent-%d", i), Model: m}
	}
	var edges []team.Edge
	for _, a := range agents {
		for _, c := range agents {
			if a.ID != c.ID {
				edges = append(edges, team.Edge{From: a.ID, To: c.ID})
			}
		}
	}
	tm, err := team.New(team.Spec{Agents: agents, Edges: edges, Rounds: 2}, model, nil)
	if err != nil {
		b.Fatal(err)
	}
	return tm
}

// benchEvaluate runs Evaluate over 1000 generated arithmetic examples per
// iteration and reports agent calls per second and allocations per call.
func benchEvaluate(b *testing.B, model lm.Model) {
	fam, err := datasets.Lookup("arithmetic")
	if err != nil {
		b.Fatal(err)
	}
	exs := fam.Generate(1000, 1, 0)
	tm := debate(b, model)
	ctx := context.Background()
	if _, err := Evaluate(ctx, tm, exs, nil, nil); err != nil { // warm the model's caches
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var calls int
	b.ReportAllocs()
	for b.Loop() {
		r, err := Evaluate(ctx, tm, exs, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		calls += r.Calls
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(calls)/b.Elapsed().Seconds(), "calls/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(calls), "allocs/call")
}

// BenchmarkEvaluateSim is the whole evaluator path with the surrogate
// model: a 5-agent, 2-round mesh debate on generated arithmetic.
func BenchmarkEvaluateSim(b *testing.B) { benchEvaluate(b, sim.New(nil)) }

// BenchmarkEvaluateFixed is the same path with a model that returns a fixed
// reply, so it measures the team and evaluator overhead alone.
func BenchmarkEvaluateFixed(b *testing.B) {
	reply := prompt.FormatAnswer("42", 0.8)
	benchEvaluate(b, lm.ModelFunc(func(context.Context, lm.Request) (lm.Response, error) {
		return lm.Response{Text: reply, Usage: lm.Usage{PromptTokens: 120, CompletionTokens: 9}}, nil
	}))
}
