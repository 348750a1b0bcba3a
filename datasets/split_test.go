package datasets

import (
	"errors"
	"reflect"
	"strconv"
	"testing"
)

func numbered(n int) []Example {
	exs := make([]Example, n)
	for i := range exs {
		exs[i] = Example{ID: strconv.Itoa(i), Question: "q" + strconv.Itoa(i), Answer: "a"}
	}
	return exs
}

func TestSplit(t *testing.T) {
	exs := numbered(100)
	orig := append([]Example(nil), exs...)
	sizes := Sizes{Train: 50, Val: 20, Test: 25}
	s, err := Split(exs, sizes, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Train) != 50 || len(s.Val) != 20 || len(s.Test) != 25 {
		t.Fatalf("sizes %d/%d/%d", len(s.Train), len(s.Val), len(s.Test))
	}
	seen := map[string]bool{}
	for _, part := range [][]Example{s.Train, s.Val, s.Test} {
		for _, e := range part {
			if seen[e.ID] {
				t.Fatalf("example %s in two splits", e.ID)
			}
			seen[e.ID] = true
		}
	}
	if !reflect.DeepEqual(exs, orig) {
		t.Error("Split modified its input")
	}
	again, _ := Split(exs, sizes, 1)
	if !reflect.DeepEqual(again, s) {
		t.Error("Split is not deterministic")
	}
	other, _ := Split(exs, sizes, 2)
	if reflect.DeepEqual(other.Test, s.Test) {
		t.Error("seeds 1 and 2 give the same test split")
	}
	if s.Test[0].ID == "0" && s.Test[1].ID == "1" {
		t.Error("Split did not shuffle")
	}
	// Appending to one split must not overwrite the next.
	_ = append(s.Test, Example{ID: "x"})
	if s.Val[0].ID == "x" {
		t.Error("splits share capacity")
	}

	for _, bad := range []Sizes{{Train: 90, Val: 10, Test: 1}, {Train: -1}} {
		if _, err := Split(exs, bad, 1); !errors.Is(err, ErrSplitSize) {
			t.Errorf("Split(%+v) error %v, want ErrSplitSize", bad, err)
		}
	}
}

func TestSplitFractions(t *testing.T) {
	s, err := SplitFractions(numbered(10), 0.6, 0.2, 0.2, 3)
	if err != nil || len(s.Train) != 6 || len(s.Val) != 2 || len(s.Test) != 2 {
		t.Fatalf("0.6/0.2/0.2 of 10: %d/%d/%d, %v", len(s.Train), len(s.Val), len(s.Test), err)
	}
	s, err = SplitFractions(numbered(3), 0.5, 0.5, 0, 3)
	if err != nil || len(s.Train)+len(s.Val) > 3 {
		t.Fatalf("rounding past the data: %d/%d, %v", len(s.Train), len(s.Val), err)
	}
	for _, f := range [][3]float64{{0.7, 0.3, 0.2}, {-0.1, 0, 0}, {2, 0, 0}} {
		if _, err := SplitFractions(numbered(10), f[0], f[1], f[2], 1); !errors.Is(err, ErrSplitSize) {
			t.Errorf("fractions %v: error %v, want ErrSplitSize", f, err)
		}
	}
}

func TestDedupe(t *testing.T) {
	exs := numbered(4)
	if got := Dedupe(exs); &got[0] != &exs[0] || len(got) != 4 {
		t.Error("Dedupe copied a slice without repeats")
	}
	exs[2].Question = exs[0].Question
	got := Dedupe(exs)
	if len(got) != 3 || got[0].ID != "0" || got[1].ID != "1" || got[2].ID != "3" {
		t.Errorf("Dedupe = %+v", got)
	}
}

func TestBuiltin(t *testing.T) {
	for _, name := range familyNames {
		sizes := Sizes{Train: 60, Val: 30, Test: 40}
		s, err := Builtin(name, sizes, 11, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Train) != 60 || len(s.Val) != 30 || len(s.Test) != 40 {
			t.Fatalf("%s: sizes %d/%d/%d", name, len(s.Train), len(s.Val), len(s.Test))
		}
		seen := map[string]bool{}
		for _, part := range [][]Example{s.Train, s.Val, s.Test} {
			for _, e := range part {
				if seen[e.Question] {
					t.Fatalf("%s: question in two splits (or twice): %s", name, e.Question)
				}
				seen[e.Question] = true
			}
		}
		bigger, _ := Builtin(name, Sizes{Train: 200, Val: 30, Test: 40}, 11, 1)
		if !reflect.DeepEqual(bigger.Test, s.Test) || !reflect.DeepEqual(bigger.Val, s.Val) {
			t.Errorf("%s: a larger train split changed val or test", name)
		}
	}
	if _, err := Builtin("nope", Sizes{Test: 1}, 1, 0); !errors.Is(err, ErrUnknownFamily) {
		t.Errorf("unknown family: %v", err)
	}
	if _, err := Builtin("logic", Sizes{Test: 1}, 1, 7); err == nil {
		t.Error("difficulty 7 accepted")
	}
	if _, err := Builtin("logic", Sizes{Test: -1}, 1, 0); !errors.Is(err, ErrSplitSize) {
		t.Errorf("negative size: %v", err)
	}
}
