package team

import (
	"context"
	"fmt"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
)

// BenchmarkRun measures the team's own overhead per call: a 5-agent,
// 2-round mesh debate with a model that returns a fixed reply.
func BenchmarkRun(b *testing.B) {
	for _, size := range []struct{ agents, rounds int }{{3, 0}, {5, 2}, {9, 3}} {
		b.Run(fmt.Sprintf("agents=%d/rounds=%d", size.agents, size.rounds), func(b *testing.B) {
			replies := []string{prompt.FormatAnswer("42", 0.8), prompt.FormatAnswer("41", 0.6)}
			model := lm.ModelFunc(func(_ context.Context, req lm.Request) (lm.Response, error) {
				return lm.Response{Text: replies[len(req.Messages[1].Content)&1], Usage: lm.Usage{PromptTokens: 100, CompletionTokens: 8}}, nil
			})
			agents := make([]AgentSpec, size.agents)
			for i := range agents {
				agents[i] = AgentSpec{ID: fmt.Sprintf("agent-%d", i), Model: "sim-medium"}
			}
			tm, err := New(Spec{Agents: agents, Edges: mesh(agents), Rounds: size.rounds}, model, nil)
			if err != nil {
				b.Fatal(err)
			}
			ex := datasets.Example{ID: "q", Question: "Ann has 17 apples and buys 25 more. How many apples does she have now?"}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tm.Run(ctx, ex); err != nil {
					b.Fatal(err)
				}
			}
			calls := float64(b.N) * float64(tm.CallsPerRun())
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/calls, "ns/call")
			b.ReportMetric(calls/b.Elapsed().Seconds(), "calls/s")
		})
	}
}
