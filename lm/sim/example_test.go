package sim_test

import (
	"context"
	"fmt"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

// Ask the surrogate model a question through the same chat format a real
// model sees, then read the answer, confidence, tokens and cost.
func Example() {
	m := sim.New(&sim.Options{Seed: 1})
	p := prompt.Prompt{
		Agent:       "a1",
		Role:        "solver",
		Instruction: sim.ReferenceInstruction,
		Question:    "Mara has 12 apples. She buys 5 more apples. She gives 3 apples to Leo. How many apples does Mara have now?",
	}
	for _, model := range []string{"sim-small", "sim-large", "sim-adversary"} {
		resp, err := m.Generate(context.Background(), lm.Request{Model: model, Messages: prompt.Render(&p)})
		if err != nil {
			fmt.Println(err)
			return
		}
		answer, confidence, _ := prompt.ParseAnswer(resp.Text)
		fmt.Printf("%s: %s (confidence %.2f), %d completion tokens, $%.6f\n", model, answer, confidence, resp.Usage.CompletionTokens, resp.Cost)
	}
	// Output:
	// sim-small: 14 (confidence 0.93), 74 completion tokens, $0.000057
	// sim-large: 14 (confidence 0.89), 74 completion tokens, $0.001365
	// sim-adversary: 17 (confidence 0.73), 74 completion tokens, $0.000153
}
