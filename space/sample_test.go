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

// TestSampleRangeWiderThanMaxFloat: a float range whose width overflows a
// float64 ([-1.7e308, 1.7e308]: high-low is +Inf) is sampled over all of
// it, not at its upper bound; so is a stepped one, and Encode/Decode map
// it both ways. Log and int ranges cannot overflow (log bounds are within
// ±745; an int range has at most 2^31 points), which the draws check too.
func TestSampleRangeWiderThanMaxFloat(t *testing.T) {
	const lo, hi = -1.7e308, 1.7e308
	s, err := New(Float("x", lo, hi), Float("g", -1.5e308, 1.5e308).WithStep(1e308),
		Float("l", 5e-324, math.MaxFloat64).WithLog(), Int("n", -(1<<30), 1<<30))
	if err != nil {
		t.Fatal(err)
	}
	as := sampleMany(t, s, 3, 2000)
	var neg, top, xs int
	grid := map[float64]int{}
	lbelow1, nneg := 0, 0
	for _, a := range as {
		x := a.Float("x")
		if !(x >= lo && x <= hi) {
			t.Fatalf("x = %g outside [%g, %g]", x, lo, hi)
		}
		if x < 0 {
			neg++
		}
		if x == hi {
			top++
		}
		if math.Abs(x) > 1e306 {
			xs++
		}
		grid[a.Float("g")]++
		if l := a.Float("l"); l < 1 {
			lbelow1++
		} else if math.IsInf(l, 0) {
			t.Fatalf("l = %g", l)
		}
		if a.Int("n") < 0 {
			nneg++
		}
	}
	if top > 1 || neg < 900 || neg > 1100 || xs < 1900 {
		t.Errorf("x over 2000 draws: %d at the upper bound, %d negative, %d beyond ±1e306; want spread over the range", top, neg, xs)
	}
	for _, want := range []float64{-1.5e308, -0.5e308, 0.5e308, 1.5e308} {
		found := false
		for g, n := range grid {
			if math.Abs(g-want) <= 1e294 && n > 400 {
				found = true
			}
		}
		if !found {
			t.Errorf("grid point %g drawn too rarely or never: %v", want, grid)
		}
	}
	if len(grid) != 4 {
		t.Errorf("g took %d values, want the 4 grid points: %v", len(grid), grid)
	}
	// Log-uniform over [5e-324, 1.8e308]: ln bounds -744.44 and 709.78.
	if f := float64(lbelow1) / 2000; math.Abs(f-744.44/(744.44+709.78)) > 0.05 {
		t.Errorf("l below 1 in %.3f of draws; want about %.3f", f, 744.44/(744.44+709.78))
	}
	if nneg < 900 || nneg > 1100 {
		t.Errorf("n negative in %d of 2000 draws", nneg)
	}

	// The default encoding maps such values into [0, 1] and back.
	for _, x := range []float64{lo, -1e308, 0, 1e308, hi} {
		a := Assignment{"x": x, "g": 0.5e308, "l": 1.0, "n": 0}
		u := s.Encode(a)
		if want := (x/2 - lo/2) / (hi/2 - lo/2); math.Abs(u[0]-want) > 1e-12 {
			t.Errorf("Encode x=%g: %g, want %g", x, u[0], want)
		}
		back := s.Decode(u)
		if got := back.Float("x"); math.Abs(got-x) > 1e295 {
			t.Errorf("Decode(Encode(x=%g)) = %g", x, got)
		}
		if got := back.Float("g"); got != a["g"] {
			t.Errorf("Decode(Encode(g=%g)) = %g", a["g"], got)
		}
	}
}
