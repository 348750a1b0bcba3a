package sim_test

import (
	"context"
	"testing"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

// BenchmarkGenerate measures one answer call with pre-rendered messages, as
// a team makes them: the system message rendered once per agent, the user
// message per call; "peers" adds a Peers section of four answers.
func BenchmarkGenerate(b *testing.B) {
	exs := examples(b, "arithmetic", 256, 2)
	sys := prompt.RenderSystem(&prompt.Prompt{Agent: "a1", Role: "solver", Instruction: sim.ReferenceInstruction,
		Demos: []prompt.Demo{{Question: exs[0].Question, Answer: exs[0].Answer}}})
	for _, bc := range []struct {
		name  string
		peers []prompt.Peer
	}{
		{"round0", nil},
		{"peers", []prompt.Peer{{Agent: "a2", Answer: "12", Confidence: 0.8}, {Agent: "a3", Answer: "12", Confidence: 0.6},
			{Agent: "a4", Answer: "15", Confidence: 0.9}, {Agent: "a5", Answer: "7", Confidence: 0.4}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			msgs := make([][]lm.Message, len(exs))
			for i, ex := range exs {
				msgs[i] = []lm.Message{{Role: lm.RoleSystem, Content: sys},
					{Role: lm.RoleUser, Content: prompt.RenderUser(&prompt.Prompt{Question: ex.Question, Peers: bc.peers})}}
			}
			m := sim.New(nil)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := m.Generate(ctx, lm.Request{Model: "sim-medium", Messages: msgs[i%len(msgs)]}); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}
