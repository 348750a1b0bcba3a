package evaluation

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mabeam/mabeam/space"
)

// synthSpace has two floats, a choice of 3 and a bool.
var synthSpace = space.MustNew(
	space.Float("x", 0, 1),
	space.Float("y", 0, 1),
	space.Choice("c", "good", "fair", "poor"),
	space.Bool("b"),
)

// synthTrials draws n uniform trials of synthSpace whose value (lower is
// better) depends strongly on x, weakly on c and not on y or b.
func synthTrials(n int, seed uint64) []ImportanceTrial {
	r := rand.New(rand.NewPCG(seed, seed))
	choices := []string{"good", "fair", "poor"}
	trials := make([]ImportanceTrial, n)
	for i := range trials {
		x, y, k, b := r.Float64(), r.Float64(), r.IntN(3), r.IntN(2) == 1
		d := x - 0.6
		trials[i] = ImportanceTrial{
			Params: map[string]any{"x": x, "y": y, "c": choices[k], "b": b},
			Value:  d*d + 0.004*float64(k),
		}
	}
	return trials
}

var minimize = &ImportanceOptions{Minimize: true}

func mustImportance(t *testing.T, s *space.Space, trials []ImportanceTrial, o *ImportanceOptions) map[string]float64 {
	t.Helper()
	imp, err := ParamImportance(s, trials, o)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for name, v := range imp {
		if math.IsNaN(v) || v < 0 || v > 1 {
			t.Fatalf("importance of %s = %g, want in [0, 1]", name, v)
		}
		sum += v
	}
	if sum != 0 && math.Abs(sum-1) > 1e-12 {
		t.Fatalf("importances sum to %g, want 1 or 0: %v", sum, imp)
	}
	return imp
}

func TestParamImportanceRanking(t *testing.T) {
	imp := mustImportance(t, synthSpace, synthTrials(300, 1), minimize)
	t.Logf("importances: %v", imp)
	if len(imp) != 4 {
		t.Fatalf("got %d importances, want 4: %v", len(imp), imp)
	}
	if !(imp["x"] > imp["c"] && imp["c"] > max(imp["y"], imp["b"])) {
		t.Errorf("want x > c > max(y, b), got %v", imp)
	}
}

// TestParamImportanceSeeds checks the ranking on data seeds the constants
// were not chosen on.
func TestParamImportanceSeeds(t *testing.T) {
	xFirst, cThird := 0, 0
	for seed := uint64(1001); seed < 1011; seed++ {
		imp := mustImportance(t, synthSpace, synthTrials(300, seed), minimize)
		if imp["x"] > max(imp["c"], imp["y"], imp["b"]) {
			xFirst++
		}
		if imp["c"] > max(imp["y"], imp["b"]) {
			cThird++
		}
	}
	t.Logf("x first on %d of 10 seeds, c above y and b on %d", xFirst, cThird)
	if xFirst < 9 {
		t.Errorf("x first on %d of 10 seeds, want at least 9", xFirst)
	}
	if cThird < 8 {
		t.Errorf("c above y and b on %d of 10 seeds, want at least 8", cThird)
	}
}

func TestParamImportanceDirection(t *testing.T) {
	trials := synthTrials(300, 2)
	want := mustImportance(t, synthSpace, trials, minimize)
	neg := make([]ImportanceTrial, len(trials))
	for i, tr := range trials {
		neg[i] = ImportanceTrial{Params: tr.Params, Value: -tr.Value}
	}
	got := mustImportance(t, synthSpace, neg, nil) // maximise the negated values
	if !mapsEqual(got, want) {
		t.Errorf("maximising -v gives %v, minimising v gives %v", got, want)
	}
}

func TestParamImportanceOrder(t *testing.T) {
	trials := synthTrials(200, 3)
	for i := range trials { // many ties at the cutoff
		trials[i].Value = math.Round(trials[i].Value * 20)
	}
	want := mustImportance(t, synthSpace, trials, minimize)
	rand.New(rand.NewPCG(9, 9)).Shuffle(len(trials), func(i, j int) { trials[i], trials[j] = trials[j], trials[i] })
	if got := mustImportance(t, synthSpace, trials, minimize); !mapsEqual(got, want) {
		t.Errorf("shuffled trials give %v, want %v", got, want)
	}
}

func TestParamImportanceNaN(t *testing.T) {
	trials := synthTrials(100, 4)
	want := mustImportance(t, synthSpace, trials, minimize)
	var mixed []ImportanceTrial
	for i, tr := range trials {
		mixed = append(mixed, tr)
		if i%3 == 0 { // a failed trial with a parameter the space rejects: never read
			mixed = append(mixed, ImportanceTrial{Params: map[string]any{"x": "oops"}, Value: math.NaN()})
		}
	}
	if got := mustImportance(t, synthSpace, mixed, minimize); !mapsEqual(got, want) {
		t.Errorf("with NaN trials: %v, want %v", got, want)
	}
}

func TestParamImportanceTooFew(t *testing.T) {
	trials := synthTrials(12, 5)
	for i := range 3 {
		trials[i].Value = math.NaN()
	}
	if _, err := ParamImportance(synthSpace, trials, nil); !errors.Is(err, ErrTooFewTrials) {
		t.Errorf("9 complete trials, default MinTrials: err = %v, want ErrTooFewTrials", err)
	}
	if _, err := ParamImportance(synthSpace, nil, nil); !errors.Is(err, ErrTooFewTrials) {
		t.Errorf("no trials: err = %v, want ErrTooFewTrials", err)
	}
	if _, err := ParamImportance(synthSpace, trials, &ImportanceOptions{MinTrials: 9}); err != nil {
		t.Errorf("9 complete trials, MinTrials 9: %v", err)
	}
	imp, err := ParamImportance(synthSpace, nil, &ImportanceOptions{MinTrials: -1})
	if err == nil || errors.Is(err, ErrTooFewTrials) {
		t.Errorf("MinTrials -1: %v, %v; want an options error", imp, err)
	}
}

func TestParamImportanceEqualValues(t *testing.T) {
	trials := synthTrials(50, 6)
	for i := range trials {
		trials[i].Value = 0.5
	}
	imp := mustImportance(t, synthSpace, trials, nil)
	for _, name := range []string{"x", "y", "c", "b"} {
		if v, ok := imp[name]; !ok || v != 0 {
			t.Errorf("importance of %s = %g (present %v), want 0", name, v, ok)
		}
	}
}

func TestParamImportanceQuantile(t *testing.T) {
	trials := synthTrials(100, 7)
	imp := mustImportance(t, synthSpace, trials, &ImportanceOptions{Quantile: 1, Minimize: true})
	for name, v := range imp {
		if v != 0 {
			t.Errorf("quantile 1: importance of %s = %g, want 0", name, v)
		}
	}
	imp = mustImportance(t, synthSpace, trials, &ImportanceOptions{Quantile: 0.3, Minimize: true})
	if imp["x"] <= max(imp["y"], imp["b"], imp["c"]) {
		t.Errorf("quantile 0.3: x not first: %v", imp)
	}
	for _, q := range []float64{-0.1, 1.5, math.NaN()} {
		if _, err := ParamImportance(synthSpace, trials, &ImportanceOptions{Quantile: q}); err == nil {
			t.Errorf("quantile %g: no error", q)
		}
	}
}

// TestParamImportanceKinds covers int, log, stepped, fixed, composite and
// single-valued variables, and int values decoded from JSON as float64.
func TestParamImportanceKinds(t *testing.T) {
	s := space.MustNew(
		space.Int("n", 1, 8),
		space.Float("lr", 1e-4, 1).WithLog(),
		space.Float("temp", 0, 1).WithStep(0.25),
		space.Int("big", 0, 999),
		space.Const("k", 3),
		space.Choice("one", "only"),
		space.Composite("sum", func(a space.Assignment) any { return a.Int("n") + 1 }),
	)
	r := rand.New(rand.NewPCG(8, 8))
	trials := make([]ImportanceTrial, 400)
	for i := range trials {
		n := 1 + r.IntN(8)
		lr := math.Exp(math.Log(1e-4) * r.Float64())
		p := map[string]any{"n": n, "lr": lr, "temp": 0.25 * float64(r.IntN(5)), "big": r.IntN(1000), "one": "only", "k": 3}
		if i%2 == 0 {
			p["n"] = float64(n) // as JSON decodes an int
		}
		trials[i] = ImportanceTrial{Params: p, Value: -math.Abs(float64(n) - 6)} // best at n = 6
	}
	imp := mustImportance(t, s, trials, nil)
	t.Logf("importances: %v", imp)
	if _, ok := imp["k"]; ok {
		t.Errorf("fixed variable k has an importance")
	}
	if _, ok := imp["sum"]; ok {
		t.Errorf("composite variable sum has an importance")
	}
	if v, ok := imp["one"]; !ok || v != 0 {
		t.Errorf("single-valued choice: importance %g (present %v), want 0", v, ok)
	}
	if imp["n"] < 0.5 {
		t.Errorf("importance of n = %g, want it to dominate: %v", imp["n"], imp)
	}
}

// TestParamImportanceConditional checks that inactive variables are skipped
// and a conditional variable that matters where it is active scores high.
func TestParamImportanceConditional(t *testing.T) {
	s := space.MustNew(
		space.Bool("deep"),
		space.Float("depth", 0, 1).When("deep", true),
		space.Float("noise", 0, 1),
		space.Choice("rare", "a", "b").When("deep", false),
	)
	r := rand.New(rand.NewPCG(10, 10))
	trials := make([]ImportanceTrial, 400)
	for i := range trials {
		p := map[string]any{"noise": r.Float64(), "deep": r.IntN(2) == 0}
		v := 1.0
		if p["deep"].(bool) {
			d := r.Float64()
			p["depth"] = d
			v = math.Abs(d - 0.2)
		} else {
			p["rare"] = []string{"a", "b"}[r.IntN(2)]
		}
		trials[i] = ImportanceTrial{Params: p, Value: v}
	}
	imp := mustImportance(t, s, trials, minimize)
	t.Logf("importances: %v", imp)
	if imp["depth"] <= max(imp["noise"], imp["deep"]) {
		t.Errorf("depth not first: %v", imp)
	}
	if imp["rare"] != 0 {
		t.Errorf("rare is active in no top trial, importance %g, want 0", imp["rare"])
	}
}

func TestParamImportanceBadValues(t *testing.T) {
	for _, c := range []struct {
		name string
		val  any
	}{
		{"x", "0.5"},
		{"x", math.NaN()},
		{"x", math.Inf(1)},
		{"x", 1.5},
		{"x", int64(0)},
		{"c", "best"},
		{"c", 2},
		{"b", "true"},
		{"b", nil},
	} {
		trials := synthTrials(20, 11)
		trials[7].Params[c.name] = c.val
		if _, err := ParamImportance(synthSpace, trials, nil); !errors.Is(err, ErrParamValue) {
			t.Errorf("%s = %#v: err = %v, want ErrParamValue", c.name, c.val, err)
		}
	}
	s := space.MustNew(space.Int("n", 0, 9), space.Float("x", 0, 1))
	trials := make([]ImportanceTrial, 10)
	for i := range trials {
		trials[i] = ImportanceTrial{Params: map[string]any{"n": i, "x": 0.1}, Value: float64(i)}
	}
	trials[3].Params["n"] = 2.5
	if _, err := ParamImportance(s, trials, nil); !errors.Is(err, ErrParamValue) {
		t.Errorf("int variable = 2.5: err = %v, want ErrParamValue", err)
	}
	trials[3].Params["n"] = 3
	trials[4].Params["unknown"] = "ignored"
	if _, err := ParamImportance(s, trials, nil); err != nil {
		t.Errorf("unknown name: %v, want it ignored", err)
	}
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// benchTrials draws n trials of a 10-variable space.
func benchTrials(n int) (*space.Space, []ImportanceTrial) {
	s := space.MustNew(
		space.Float("f0", 0, 1), space.Float("f1", 0, 1), space.Float("f2", -5, 5),
		space.Float("f3", 0, 10), space.Float("lr", 1e-5, 1).WithLog(), space.Float("f5", 0, 1).WithStep(0.1),
		space.Int("i0", 1, 8), space.Int("i1", 0, 999),
		space.Choice("c", "a", "b", "c", "d"), space.Bool("b"),
	)
	r := rand.New(rand.NewPCG(1, 2))
	trials := make([]ImportanceTrial, n)
	for i := range trials {
		a, err := s.Sample(r)
		if err != nil {
			panic(err)
		}
		trials[i] = ImportanceTrial{Params: a, Value: a.Float("f0") + 0.3*a.Float("i0") + r.NormFloat64()}
	}
	return s, trials
}

func BenchmarkParamImportance(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		s, trials := benchTrials(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := ParamImportance(s, trials, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
