package evaluation_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/team"
)

// Evaluate a three-agent majority team on forty sums. The model is a Go
// function that is right 70% of the time, drawing from a source seeded by
// the request, so the report is the same for any number of workers.
func Example() {
	model := lm.ModelFunc(func(_ context.Context, req lm.Request) (lm.Response, error) {
		p, err := prompt.Parse(req.Messages)
		if err != nil {
			return lm.Response{}, err
		}
		var a, b int
		if _, err := fmt.Sscanf(p.Question, "What is %d + %d?", &a, &b); err != nil {
			return lm.Response{}, err
		}
		h := fnv.New64a()
		h.Write([]byte(p.Agent + "|" + p.Question))
		rng := rand.New(rand.NewPCG(7, h.Sum64()))
		sum := a + b
		if rng.Float64() < 0.3 {
			sum += 1 + rng.IntN(2) // a wrong answer, shared often enough to matter
		}
		return lm.Response{Text: prompt.FormatAnswer(strconv.Itoa(sum), 0.8), Usage: lm.Usage{PromptTokens: 50, CompletionTokens: 5}, Cost: 1e-5}, nil
	})
	rng := rand.New(rand.NewPCG(1, 1))
	exs := make([]datasets.Example, 40)
	for i := range exs {
		a, b := rng.IntN(100), rng.IntN(100)
		exs[i] = datasets.Example{ID: fmt.Sprint("sum-", i), Question: fmt.Sprintf("What is %d + %d?", a, b), Answer: strconv.Itoa(a + b)}
	}
	t, err := team.New(team.Spec{Agents: []team.AgentSpec{
		{ID: "a1", Model: "m"}, {ID: "a2", Model: "m"}, {ID: "a3", Model: "m"},
	}}, model, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := evaluation.Evaluate(context.Background(), t, exs, datasets.ExactMatch, &evaluation.Options{Workers: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("team accuracy %.3f, 95%% CI [%.3f, %.3f] over %d examples\n", r.Mean, r.CI95[0], r.CI95[1], r.N)
	fmt.Printf("%d calls, %d tokens, $%.4f\n", r.Calls, r.Usage.Total(), r.Cost)
	for _, a := range r.Agents {
		fmt.Printf("%s alone %.3f, agrees with the team %.3f\n", a.Agent, a.FinalScore, a.Agreement)
	}
	// Output:
	// team accuracy 0.825, 95% CI [0.681, 0.913] over 40 examples
	// 120 calls, 6600 tokens, $0.0012
	// a1 alone 0.625, agrees with the team 0.575
	// a2 alone 0.675, agrees with the team 0.750
	// a3 alone 0.600, agrees with the team 0.775
}

// Measure three agents' contributions to a team that answers right when
// any two of its members agree on the right answer (a majority game), on
// four examples. The third agent is always wrong: leaving it out of the
// full team changes nothing, but it spoils the pairs it joins, so its
// Shapley value is negative (worked by hand: -1/3, -1/6, -1/6, -1/3 on
// the four examples). For a real team,
// optimizer.TeamEvaluator.Coalitions gives the agents and the coalition
// scores.
func ExampleContribute() {
	right := [][]bool{ // right[agent][example]
		{true, true, false, true},
		{true, false, true, true},
		{false, false, false, false},
	}
	v := func(_ context.Context, members []bool) ([]float64, error) {
		scores := make([]float64, 4)
		for e := range scores {
			n, k := 0, 0
			for i, in := range members {
				if in {
					n++
					if right[i][e] {
						k++
					}
				}
			}
			if 2*k > n {
				scores[e] = 1
			}
		}
		return scores, nil
	}
	c, err := evaluation.Contribute(context.Background(), []string{"a", "b", "bad"}, v, &evaluation.ContributeOptions{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("team %.2f, %d coalitions\n", c.Team, c.Coalitions)
	for i, a := range c.Agents {
		fmt.Printf("%-3s Shapley %+.3f  leave-one-out %+.3f\n", a, c.Shapley[i].Value, c.LOO[i].Value)
	}
	// Output:
	// team 0.50, 7 coalitions
	// a   Shapley +0.375  leave-one-out +0.500
	// b   Shapley +0.375  leave-one-out +0.500
	// bad Shapley -0.250  leave-one-out +0.000
}
