package space

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

const draws = 4000

func sampleMany(t *testing.T, s *Space, seed uint64, n int) []Assignment {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]Assignment, n)
	for i := range out {
		a, err := s.Sample(r)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = a
	}
	return out
}

func TestSampleValid(t *testing.T) {
	s := testSpace(t)
	for i, a := range sampleMany(t, s, 1, draws) {
		if err := s.Validate(a); err != nil {
			t.Fatalf("draw %d %s: %v", i, a.Key(), err)
		}
		// Sample returns complete assignments.
		if a.Int("seed") != 3 || a.Float("budget") != a.Float("temperature")*10 {
			t.Fatalf("draw %d lacks fixed or composite values: %s", i, a.Key())
		}
		if s.Complete(a).Key() != a.Key() {
			t.Fatalf("draw %d is not complete: %s", i, a.Key())
		}
	}
}

func TestSampleDistribution(t *testing.T) {
	s := testSpace(t)
	as := sampleMany(t, s, 2, draws)
	count := func(f func(a Assignment) bool) float64 {
		n := 0
		for _, a := range as {
			if f(a) {
				n++
			}
		}
		return float64(n) / float64(len(as))
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s: %.3f, want %.3f ± %.3f", what, got, want, tol)
		}
	}
	// Log scale: half the mass below the geometric mean (uniform would give 3%).
	near("lr below 10^-2.5", count(func(a Assignment) bool { return a.Float("lr") < math.Pow(10, -2.5) }), 0.5, 0.04)
	near("batch <= 16", count(func(a Assignment) bool { return a.Int("batch") <= 16 }), 0.5, 0.04)
	near("temperature < 1", count(func(a Assignment) bool { return a.Float("temperature") < 1 }), 0.5, 0.04)
	// Weights 1:2:1 (the constraint judge_model has judge removes two thirds of the judge draws).
	maj := count(func(a Assignment) bool { return a.String("aggregation") == "majority" })
	sup := count(func(a Assignment) bool { return a.String("aggregation") == "supermajority" })
	near("supermajority / majority", sup/maj, 2, 0.3)
	near("use_tools", count(func(a Assignment) bool { return a.Bool("use_tools") }), 0.5, 0.04)
	// Conditions: present exactly when the parent takes a listed value.
	for _, a := range as {
		agg := a.String("aggregation")
		if a.Has("threshold") != (agg == "supermajority") || a.Has("judges") != (agg == "judge") {
			t.Fatalf("conditions broken: %s", a.Key())
		}
		if a.Has("judge_reasons") != (a.Int("judges") >= 2) {
			t.Fatalf("nested condition broken: %s", a.Key())
		}
		if a.Has("judge_model") && a.String("judge_model") != "sim-large" {
			t.Fatalf("capability constraint broken: %s", a.Key())
		}
		if a.Int("n") > a.Int("k") {
			t.Fatalf("constraint n<=k broken: %s", a.Key())
		}
	}
	// Steps: exactly the grid points, every one of them, printed as decimals.
	grids := map[string][]float64{
		"p": {0, 0.25, 0.5, 0.75, 1},
		"q": {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9},
		"k": {2, 4, 6, 8, 10},
		"n": {1, 2, 3, 4, 5, 6, 7, 8},
	}
	for name, grid := range grids {
		seen := map[float64]int{}
		for _, a := range as {
			seen[a.Float(name)]++
		}
		for _, g := range grid {
			if seen[g] == 0 {
				t.Errorf("%s never took %g", name, g)
			}
			delete(seen, g)
		}
		if len(seen) > 0 {
			t.Errorf("%s took values off its grid: %v", name, seen)
		}
	}
	for _, a := range as {
		if x := a.Float("s"); x != math.Round(x*2)/2 {
			t.Fatalf("s = %v not on its 0.5 grid", x)
		}
	}
}

func TestSampleReproducible(t *testing.T) {
	s := testSpace(t)
	keys := func(seed uint64) string {
		var b strings.Builder
		for _, a := range sampleMany(t, s, seed, 50) {
			b.WriteString(a.Key() + "\n")
		}
		return b.String()
	}
	if first, again := keys(5), keys(5); first != again {
		t.Error("same seed, different samples")
	}
	if keys(5) == keys(6) {
		t.Error("different seeds, same samples")
	}
	// A rebuilt space samples the same.
	s2 := testSpace(t)
	r1, r2 := rand.New(rand.NewPCG(9, 9)), rand.New(rand.NewPCG(9, 9))
	for range 20 {
		a, _ := s.Sample(r1)
		b, _ := s2.Sample(r2)
		if a.Key() != b.Key() {
			t.Fatalf("rebuilt space differs: %s vs %s", a.Key(), b.Key())
		}
	}
}

func TestSampleUnsatisfiable(t *testing.T) {
	s := MustNew(Int("a", 0, 9), Int("b", 0, 9))
	calls := 0
	never := Constraint{Name: "never", Message: "a and b both 10", Pred: func(a Assignment) bool { calls++; return false }}
	if err := s.Constrain(LessEq("a", "b"), never); err != nil {
		t.Fatal(err)
	}
	s.SetMaxTries(25)
	_, err := s.Sample(rand.New(rand.NewPCG(1, 1)))
	if !errors.Is(err, ErrUnsatisfiable) {
		t.Fatalf("err = %v, want ErrUnsatisfiable", err)
	}
	if want := `in 25 tries; constraint "never" failed`; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to contain %q", err, want)
	}
	if calls == 0 || calls > 25 {
		t.Errorf("predicate called %d times, want 1..25", calls)
	}
	// Rare but satisfiable constraints are found by rejection.
	s = MustNew(Int("a", 0, 9), Int("b", 0, 9))
	_ = s.Constrain(Constraint{Name: "sum", Pred: func(a Assignment) bool { return a.Int("a")+a.Int("b") == 18 }})
	a, err := s.Sample(rand.New(rand.NewPCG(1, 1)))
	if err != nil || a.Int("a") != 9 {
		t.Errorf("Sample = %v, %v; want a = b = 9", a, err)
	}
}

func TestSampleCompositeError(t *testing.T) {
	s := MustNew(Float("x", 0, 1), Composite("bad", func(Assignment) any { return []int{} }))
	_, err := s.Sample(rand.New(rand.NewPCG(1, 1)))
	if !errors.Is(err, ErrComposite) || !strings.Contains(err.Error(), `variable "bad": computed value [] is a []int`) {
		t.Errorf("err = %v", err)
	}
}

func TestSampleEmptySpace(t *testing.T) {
	a, err := MustNew().Sample(rand.New(rand.NewPCG(1, 1)))
	if err != nil || len(a) != 0 {
		t.Errorf("Sample of empty space = %v, %v", a, err)
	}
}
