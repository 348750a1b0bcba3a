package openai_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mabeam/mabeam/internal/openaitest"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/openai"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

// Call an OpenAI-compatible server: here the module's loopback test
// server, which answers as the surrogate model and fails half the
// requests (drawn from a seeded source) with a 500 that the client
// retries. For a real server, set BaseURL to its API root (e.g.
// "http://127.0.0.1:8000/v1" for vLLM) and APIKey from the environment.
// The team's model name is mapped to the server's, and each call is
// priced from the server model's price per million tokens.
func Example() {
	srv := openaitest.New(openaitest.Options{
		Backend: sim.New(&sim.Options{Seed: 1}),
		Models:  []string{"sim-medium"},
		Rate500: 0.5, Seed: 2,
	})
	defer srv.Close()
	c, err := openai.New(&openai.Options{
		BaseURL:    srv.URL(),
		Models:     map[string]string{"my-model": "sim-medium"},
		Prices:     map[string]lm.Price{"sim-medium": {Prompt: 0.15, Completion: 0.60}},
		MinBackoff: time.Millisecond, // retry quickly here; the default is 500 ms
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, q := range []string{
		"Mara has 12 apples. She buys 5 more apples. How many apples does Mara have now?",
		"Leo has 40 stamps. He gives 15 stamps to Ana. How many stamps does Leo have now?",
	} {
		resp, err := c.Generate(context.Background(), lm.Request{
			Model:    "my-model",
			Messages: prompt.Render(&prompt.Prompt{Agent: "a1", Role: "solver", Question: q}),
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		answer, _, _ := prompt.ParseAnswer(resp.Text)
		fmt.Printf("answer %s: %d prompt + %d completion tokens, $%.8f, %d retries\n",
			answer, resp.Usage.PromptTokens, resp.Usage.CompletionTokens, resp.Cost, resp.Retries)
	}
	st := c.Stats()
	fmt.Printf("%d calls, %d requests, %d server errors\n", st.Calls, st.Requests, st.ServerErrors)
	// Output:
	// answer 17: 59 prompt + 29 completion tokens, $0.00002625, 1 retries
	// answer 25: 60 prompt + 29 completion tokens, $0.00002640, 0 retries
	// 2 calls, 3 requests, 1 server errors
}
