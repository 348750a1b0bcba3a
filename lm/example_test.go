package lm_test

import (
	"context"
	"fmt"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

// Call a model through a response cache: the second identical request is
// served from the cache, billed nothing, with the same tokens and nominal
// cost, so budgets and comparisons do not depend on the cache.
func Example() {
	cache := lm.NewMemoryCache()
	model := lm.Cached(sim.New(&sim.Options{Seed: 1}), cache)
	req := lm.Request{
		Model: "sim-medium",
		Messages: prompt.Render(&prompt.Prompt{
			Agent:    "a1",
			Role:     "solver",
			Question: "Mara has 12 apples. She buys 5 more apples. How many apples does Mara have now?",
		}),
	}
	for range 2 {
		resp, err := model.Generate(context.Background(), req)
		if err != nil {
			fmt.Println(err)
			return
		}
		answer, _, _ := prompt.ParseAnswer(resp.Text)
		fmt.Printf("answer %s, %d tokens, cost $%.6f, billed $%.6f, cached %v\n",
			answer, resp.Usage.Total(), resp.Cost, resp.Billed(), resp.Cached)
	}
	fmt.Println("cached responses:", cache.Len())
	// Output:
	// answer 17, 88 tokens, cost $0.000073, billed $0.000073, cached false
	// answer 17, 88 tokens, cost $0.000073, billed $0.000000, cached true
	// cached responses: 1
}
