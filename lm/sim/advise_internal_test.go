package sim

import (
	"testing"

	"github.com/mabeam/mabeam/lm/prompt"
)

// TestLastAnswer: a target's answer is its step of the highest round, the
// latest listed of those, whatever order the steps come in.
func TestLastAnswer(t *testing.T) {
	tr := prompt.Trajectory{Steps: []prompt.Step{
		{Agent: "a1", Round: 0, Answer: "x"}, {Agent: "a1", Round: 2, Answer: "y"}, {Agent: "a2", Round: 3, Answer: "v"},
		{Agent: "a1", Round: 1, Answer: "z"}, {Agent: "a1", Round: 2, Answer: "w"}, {Agent: "a2", Round: -1, Answer: "u"},
	}}
	for _, c := range []struct {
		agent, want string
		ok          bool
	}{{"a1", "w", true}, {"a2", "v", true}, {"a3", "", false}, {"", "", false}} {
		if got, ok := lastAnswer(&tr, c.agent); got != c.want || ok != c.ok {
			t.Errorf("lastAnswer(%q) = %q, %v; want %q, %v", c.agent, got, ok, c.want, c.ok)
		}
	}
}
