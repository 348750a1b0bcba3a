package team_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/team"
)

// A three-agent debate with a model written as a Go function: agents slip
// on their first answer now and then, and fix it after reading their peers.
func Example() {
	rng := rand.New(rand.NewPCG(1, 1))
	model := lm.ModelFunc(func(_ context.Context, req lm.Request) (lm.Response, error) {
		p, err := prompt.Parse(req.Messages)
		if err != nil {
			return lm.Response{}, err
		}
		var a, b int
		if _, err := fmt.Sscanf(p.Question, "What is %d + %d?", &a, &b); err != nil {
			return lm.Response{}, err
		}
		sum, conf := a+b, 0.9
		if len(p.Peers) == 0 && rng.Float64() < 0.5 {
			sum, conf = sum+10, 0.6 // a slip
		}
		return lm.Response{Text: prompt.FormatAnswer(strconv.Itoa(sum), conf), Usage: lm.Usage{PromptTokens: 60, CompletionTokens: 6}}, nil
	})
	spec := team.Spec{
		Agents: []team.AgentSpec{
			{ID: "alice", Role: team.RoleSolver, Model: "my-model"},
			{ID: "bob", Role: team.RolePlanner, Model: "my-model"},
			{ID: "carol", Role: team.RoleCritic, Model: "my-model"},
		},
		Edges:  []team.Edge{{From: "alice", To: "carol"}, {From: "bob", To: "carol"}, {From: "carol", To: "alice"}},
		Rounds: 1,
	}
	t, err := team.New(spec, model, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := t.Run(context.Background(), datasets.Example{ID: "q1", Question: "What is 17 + 25?", Answer: "42"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range res.Trace {
		fmt.Printf("round %d %-5s %s\n", c.Round, c.Agent, c.Answer)
	}
	fmt.Printf("team answer %s, agreement %.2f, %d calls, %d messages, %d tokens\n",
		res.Answer, res.Agreement, len(res.Trace), res.Messages, res.Usage.Total())
	// Output:
	// round 0 alice 52
	// round 0 bob   42
	// round 0 carol 42
	// round 1 alice 42
	// round 1 bob   42
	// round 1 carol 42
	// team answer 42, agreement 1.00, 6 calls, 3 messages, 396 tokens
}
