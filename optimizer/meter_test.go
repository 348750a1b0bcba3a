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

// TestBudgetRoom: the next evaluation's limit is what the budget leaves
// less the reserve; what making its program spent shrinks it, to a sliver
// at most, and a reserve that takes everything leaves no room.
func TestBudgetRoom(t *testing.T) {
	b := optimizer.Budget{Calls: 1000, Cost: 2, Trials: 10}
	s := optimizer.Spent{Trials: 5, Calls: 600, Cost: 1}
	for _, tc := range []struct {
		name string
		r    optimizer.Reserve
		pre  optimizer.Usage
		want optimizer.Limit
		ok   bool
	}{
		{"no reserve", optimizer.Reserve{}, optimizer.Usage{}, optimizer.Limit{Calls: 400, Cost: 1}, true},
		{"reserve", optimizer.Reserve{Calls: 100, Cost: 0.5, Trials: 2}, optimizer.Usage{}, optimizer.Limit{Calls: 300, Cost: 0.5}, true},
		{"pre-spend", optimizer.Reserve{Calls: 100}, optimizer.Usage{Calls: 50, Cost: 0.25}, optimizer.Limit{Calls: 250, Cost: 0.75}, true},
		{"pre-spend past it", optimizer.Reserve{Calls: 390}, optimizer.Usage{Calls: 50, Cost: 5}, optimizer.Limit{Calls: 1, Cost: 1e-12}, true},
		{"calls reserved", optimizer.Reserve{Calls: 400}, optimizer.Usage{}, optimizer.Limit{}, false},
		{"trials reserved", optimizer.Reserve{Trials: 5}, optimizer.Usage{}, optimizer.Limit{}, false},
	} {
		l, ok := b.Room(s, tc.r, tc.pre)
		if ok != tc.ok || ok && l != tc.want {
			t.Errorf("%s: %+v, %v; want %+v, %v", tc.name, l, ok, tc.want, tc.ok)
		}
	}
	if _, ok := (optimizer.Budget{Calls: 600}).Room(s, optimizer.Reserve{}, optimizer.Usage{}); ok {
		t.Error("an exhausted budget has room")
	}
}
