package optimizer

import (
	"context"
	"errors"
	"testing"

	"github.com/mabeam/mabeam/evaluation"
)

// TestLedger: stored trials are replayed in order when their labels match
// (and counted in the spend and the per-example rates), a stored trial
// with other labels and one the replay never reaches are
// ErrHistoryMismatch, and new trials are committed through OnTrial.
func TestLedger(t *testing.T) {
	one := 1
	hist := []Trial{
		{Number: 0, State: Complete, Strategy: "a", Split: SplitTrain, Calls: 40, Batch: 10, Cost: 2},
		{Number: 1, State: Complete, Strategy: "b", Step: 1, Parent: &one, Split: SplitVal, Calls: 30, Batch: 5},
	}
	var committed []int
	p := &Problem{History: hist, OnTrial: func(_ context.Context, t Trial, _ *evaluation.Report) error {
		committed = append(committed, t.Number)
		return nil
	}}
	l := NewLedger(p)
	if _, _, err := l.Stored(TrialSpec{Strategy: "b", Split: SplitTrain}); !errors.Is(err, ErrHistoryMismatch) {
		t.Fatalf("other strategy: %v", err)
	}
	tr, ok, err := l.Stored(TrialSpec{Strategy: "a", Split: SplitTrain})
	if !ok || err != nil || tr.Number != 0 {
		t.Fatalf("stored trial 0: %v %v %+v", ok, err, tr)
	}
	l.Replay(tr)
	if _, _, err := l.Stored(TrialSpec{Strategy: "b", Step: 1, Split: SplitVal}); !errors.Is(err, ErrHistoryMismatch) {
		t.Errorf("a parent missing: %v", err)
	}
	if _, err := l.Finish(nil); !errors.Is(err, ErrHistoryMismatch) {
		t.Errorf("a stored trial the replay did not reach: %v", err)
	}
	if _, err := l.Run(context.Background(), TrialSpec{Strategy: "b", Step: 1, Parent: &one, Split: SplitVal}, Limit{}, nil); err != nil {
		t.Fatal(err)
	}
	if l.Next != 2 || l.Res.Spent.Calls != 70 || l.CallsPerEx != 6 || l.CostPerEx != 0.2 || len(committed) != 0 {
		t.Errorf("after the replay: next %d, spent %+v, per example %v calls $%v, committed %v", l.Next, l.Res.Spent, l.CallsPerEx, l.CostPerEx, committed)
	}
	if r := l.Reserve(10, 1); r.Calls != 60 || r.Cost != 2 || r.Trials != 1 {
		t.Errorf("reserve %+v", r)
	}
	if err := l.Commit(context.Background(), Trial{Number: 2, State: Complete}, nil); err != nil || len(committed) != 1 || committed[0] != 2 {
		t.Errorf("commit: %v, committed %v", err, committed)
	}
	if res, err := l.Finish(nil); err != nil || len(res.Trials) != 3 {
		t.Errorf("finish: %v, %d trials", err, len(res.Trials))
	}
}
