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

// An agent written as a Go function, registered as a kind. It sees the
// example's id and question (never its gold answer) and, in the debate
// rounds, its own previous answer and its in-neighbours'.
func ExampleAgentFunc() {
	team.RegisterKind("example-averager", team.KindFunc(func(s team.AgentSpec, _ lm.Model) (team.Agent, error) {
		return team.AgentFunc(func(_ context.Context, in team.Input) (team.Output, error) {
			var a, b int
			if _, err := fmt.Sscanf(in.Question, "What is %d + %d?", &a, &b); err != nil {
				return team.Output{}, err
			}
			if in.Previous == nil { // round 0: a guess, off by one
				guess := a + b - 1
				if s.ID == "hi" {
					guess = a + b + 1
				}
				fmt.Printf("%s %s round %d: %d\n", in.ExampleID, s.ID, in.Round, guess)
				return team.Output{Answer: strconv.Itoa(guess), Confidence: 0.5}, nil
			}
			// Later rounds: the mean of its own and its peers' answers.
			mine, _ := strconv.Atoi(in.Previous.Answer)
			sum, n := mine, 1
			for _, p := range in.Peers {
				v, _ := strconv.Atoi(p.Answer)
				sum, n = sum+v, n+1
			}
			fmt.Printf("%s %s round %d: previous %s, %d peers: %d\n", in.ExampleID, s.ID, in.Round, in.Previous.Answer, len(in.Peers), sum/n)
			return team.Output{Answer: strconv.Itoa(sum / n), Confidence: 0.9}, nil
		}), nil
	}))
	spec := team.Spec{
		Agents: []team.AgentSpec{{ID: "lo", Kind: "example-averager"}, {ID: "hi", Kind: "example-averager"}},
		Edges:  []team.Edge{{From: "lo", To: "hi"}, {From: "hi", To: "lo"}},
		Rounds: 1,
	}
	t, err := team.New(spec, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := t.Run(context.Background(), datasets.Example{ID: "q1", Question: "What is 17 + 25?", Answer: "42"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("team answer", res.Answer)
	// Output:
	// q1 lo round 0: 41
	// q1 hi round 0: 43
	// q1 lo round 1: previous 41, 1 peers: 42
	// q1 hi round 1: previous 43, 1 peers: 42
	// team answer 42
}
