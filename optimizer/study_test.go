package optimizer

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/mabeam/mabeam/space"
)

func testSpace(t *testing.T) *space.Space {
	t.Helper()
	s, err := space.New(
		space.Float("x", -5, 10),
		space.Int("n", 1, 8),
		space.Choice("c", "a", "b", "c"),
	)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func quadratic(a space.Assignment) float64 {
	x := a.Float("x") - 2
	bonus := 0.0
	if a.String("c") == "b" {
		bonus = 1
	}
	return x*x + float64(a.Int("n")) + bonus
}

func runStudy(t *testing.T, st *Study, n int) {
	t.Helper()
	for range n {
		tr, err := st.Ask()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Tell(tr.Number, quadratic(tr.Params)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStudyReproducibleAndResumable(t *testing.T) {
	s := testSpace(t)
	a, _ := NewStudy(s, nil, Minimize, 7)
	runStudy(t, a, 20)

	// Same seed, stopped after 8 trials and resumed from the stored trials.
	b, _ := NewStudy(s, nil, Minimize, 7)
	runStudy(t, b, 8)
	c, err := NewStudy(s, nil, Minimize, 7, b.Trials()...)
	if err != nil {
		t.Fatal(err)
	}
	runStudy(t, c, 12)

	ta, tc := a.Trials(), c.Trials()
	if len(ta) != len(tc) {
		t.Fatalf("trial counts differ: %d vs %d", len(ta), len(tc))
	}
	for i := range ta {
		if !reflect.DeepEqual(ta[i].Params, tc[i].Params) || ta[i].Value != tc[i].Value {
			t.Fatalf("trial %d differs after resume: %v vs %v", i, ta[i].Params, tc[i].Params)
		}
	}
	d, _ := NewStudy(s, nil, Minimize, 8)
	runStudy(t, d, 1)
	if reflect.DeepEqual(d.Trials()[0].Params, ta[0].Params) {
		t.Error("different seeds gave the same first trial")
	}
	best, ok := a.Best()
	if !ok {
		t.Fatal("no best trial")
	}
	for _, tr := range ta {
		if tr.Value < best.Value {
			t.Errorf("trial %d value %g beats best %g", tr.Number, tr.Value, best.Value)
		}
	}
}

func TestStudyTellErrors(t *testing.T) {
	st, _ := NewStudy(testSpace(t), nil, Maximize, 1)
	tr, _ := st.Ask()
	if _, err := st.Tell(5, 1); !errors.Is(err, ErrUnknownTrial) {
		t.Errorf("Tell(unknown) = %v, want ErrUnknownTrial", err)
	}
	if _, err := st.Tell(tr.Number, math.NaN()); err == nil {
		t.Error("Tell(NaN) succeeded")
	}
	if _, err := st.Fail(tr.Number, "boom"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Tell(tr.Number, 1); !errors.Is(err, ErrFinished) {
		t.Errorf("Tell(finished) = %v, want ErrFinished", err)
	}
	if _, ok := st.Best(); ok {
		t.Error("a failed trial counted as best")
	}
	if _, err := NewStudy(testSpace(t), nil, Maximize, 1, Trial{Number: 3}); err == nil {
		t.Error("misnumbered stored trials accepted")
	}
}

func TestBudget(t *testing.T) {
	if err := (Budget{}).Validate(); !errors.Is(err, ErrNoBudget) {
		t.Errorf("empty budget: %v", err)
	}
	if err := (Budget{Trials: -1}).Validate(); err == nil {
		t.Error("negative budget accepted")
	}
	b := Budget{Trials: 10, Calls: 100}
	if b.Exhausted(Spent{Trials: 9, Calls: 99}) {
		t.Error("exhausted too early")
	}
	if !b.Exhausted(Spent{Trials: 3, Calls: 100}) {
		t.Error("call bound not honoured")
	}
}

func TestDirectionBetter(t *testing.T) {
	if !Maximize.Better(2, 1) || Maximize.Better(1, 2) || !Minimize.Better(1, 2) {
		t.Error("Better is wrong")
	}
	if Maximize.Better(math.NaN(), 1) || !Minimize.Better(1, math.NaN()) {
		t.Error("NaN handling is wrong")
	}
}
