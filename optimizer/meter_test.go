package optimizer_test

import (
	"context"
	"testing"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/optimizer"
)

// TestMeterCharges: an optimizer's own calls, made through a Meter and
// charged to a trial, count in what a study spends.
func TestMeterCharges(t *testing.T) {
	m := optimizer.NewMeter(sim.New(nil))
	req := lm.Request{Model: "sim-large", Messages: prompt.Render(&prompt.Prompt{Task: prompt.TaskAdvise, Question: "q",
		Better: "Answer: 4", Worse: "Answer: 5"})}
	var want optimizer.Usage
	for range 3 {
		resp, err := m.Generate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		want.Calls++
		want.Tokens += int64(resp.Usage.Total())
		want.Cost += resp.Cost
		want.Billed += resp.Billed()
	}
	tr := optimizer.Trial{Calls: 10, Cost: 0.5}
	u := m.Take()
	if u != want || u.Cost <= 0 {
		t.Fatalf("meter used %+v, want %+v", u, want)
	}
	tr.Charge(u)
	var s optimizer.Spent
	s.Add(&tr)
	if s.Calls != 13 || s.Cost != 0.5+want.Cost || s.Tokens != want.Tokens {
		t.Errorf("spent %+v after charging %+v", s, u)
	}
	if again := m.Take(); again != (optimizer.Usage{}) {
		t.Errorf("Take after Take: %+v", again)
	}
	if m.Identity() != sim.New(nil).Identity() {
		t.Error("a meter changed the model's identity")
	}
}
