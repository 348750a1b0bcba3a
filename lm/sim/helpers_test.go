package sim_test

import (
	"context"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

// refInstruction is the reference default instruction of the calibration table.
const refInstruction = sim.ReferenceInstruction

// examples returns n generated examples of family at difficulty, skipping
// the test if the family is not registered yet.
func examples(t testing.TB, family string, n int, difficulty int) []datasets.Example {
	t.Helper()
	f, err := datasets.Lookup(family)
	if err != nil {
		t.Skipf("family %q not available: %v", family, err)
	}
	return f.Generate(n, 7, difficulty)
}

// call is one single-agent call set-up.
type call struct {
	model       string
	role        string
	instruction string
	rules       []string
	demos       []prompt.Demo
	temperature float64
	sample      int
	peers       func(ex datasets.Example) []prompt.Peer
}

func (c call) request(ex datasets.Example) lm.Request {
	role := c.role
	if role == "" {
		role = "solver"
	}
	p := prompt.Prompt{Agent: "a1", Role: role, Instruction: c.instruction, Rules: c.rules, Demos: c.demos, Question: ex.Question}
	if c.peers != nil {
		p.Peers = c.peers(ex)
	}
	return lm.Request{Model: c.model, Messages: prompt.Render(&p), Temperature: c.temperature, Sample: c.sample}
}

// reply calls m and parses the answer.
func reply(t testing.TB, m *sim.Model, req lm.Request) (string, float64) {
	t.Helper()
	resp, err := m.Generate(context.Background(), req)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	a, c, ok := prompt.ParseAnswer(resp.Text)
	if !ok {
		t.Fatalf("unparseable reply %q", resp.Text)
	}
	return a, c
}

// accuracy is the fraction of exs c answers right.
func accuracy(t testing.TB, m *sim.Model, c call, exs []datasets.Example) float64 {
	t.Helper()
	right := 0
	for _, ex := range exs {
		if a, _ := reply(t, m, c.request(ex)); a == ex.Answer {
			right++
		}
	}
	return float64(right) / float64(len(exs))
}
