package prompt_test

import (
	"fmt"

	"github.com/mabeam/mabeam/lm/prompt"
)

// Render an agent's prompt in a debate round as the team sends it, parse
// it back as a model reads it, and read replies: the answer, the
// confidence, and whether the reply kept to the format.
func Example() {
	p := prompt.Prompt{
		Agent:       "critic",
		Role:        "critic",
		Instruction: "Check each peer's answer against the question.",
		Rules:       []string{"Recompute every step."},
		Demos:       []prompt.Demo{{Question: "What is 2 + 3?", Answer: "5"}},
		Question:    "What is 17 + 25?",
		Peers:       []prompt.Peer{{Agent: "solver", Answer: "42", Confidence: 0.8}},
	}
	msgs := prompt.Render(&p)
	for _, m := range msgs {
		fmt.Printf("[%s]\n%s\n", m.Role, m.Content)
	}
	// What a model (the surrogate in lm/sim) reads back.
	back, err := prompt.Parse(msgs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("parsed: agent %s, question %q, peer %s says %s\n", back.Agent, back.Question, back.Peers[0].Agent, back.Peers[0].Answer)

	for _, reply := range []string{
		prompt.FormatAnswer("42", 0.9),
		"17 + 25 = 42, so the solver is right.\nAnswer: 42\nConfidence: 0.95",
		"I think it is 42.",
	} {
		answer, confidence, formatted := prompt.ReadAnswer(reply)
		fmt.Printf("%q: answer %q, confidence %.2f, formatted %v\n", reply, answer, confidence, formatted)
	}
	// Output:
	// [system]
	// ### Task
	// answer
	// ### Agent
	// critic
	// ### Role
	// critic
	// ### Instruction
	// Check each peer's answer against the question.
	// ### Rules
	// - Recompute every step.
	// ### Examples
	// #### Example
	// Question: What is 2 + 3?
	// Answer: 5
	// ### Format
	// Reply with two lines: Answer: <final answer only> and Confidence: <a number from 0 to 1>
	// [user]
	// ### Question
	// What is 17 + 25?
	// ### Peers
	// - solver: 42 (confidence 0.80)
	// parsed: agent critic, question "What is 17 + 25?", peer solver says 42
	// "Answer: 42\nConfidence: 0.90": answer "42", confidence 0.90, formatted true
	// "17 + 25 = 42, so the solver is right.\nAnswer: 42\nConfidence: 0.95": answer "42", confidence 0.95, formatted true
	// "I think it is 42.": answer "I think it is 42.", confidence 0.50, formatted false
}
