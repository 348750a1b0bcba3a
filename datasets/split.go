package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Sizes are the numbers of examples in the train, validation and test
// splits. A zero size is an empty split.
type Sizes struct {
	Train, Val, Test int
}

// Total is Train + Val + Test.
func (s Sizes) Total() int { return s.Train + s.Val + s.Test }

func (s Sizes) check() error {
	if s.Train < 0 || s.Val < 0 || s.Test < 0 {
		return fmt.Errorf("%w: sizes %+v: each must be >= 0", ErrSplitSize, s)
	}
	return nil
}

// Splits are disjoint train, validation and test examples. The optimizer
// sees Train and Val; Test is scored once at the end.
type Splits struct {
	Train, Val, Test []Example
}

// Split shuffles exs with seed and deals out sizes.Test, then sizes.Val,
// then sizes.Train examples; examples beyond sizes.Total() are left out. The
// splits are disjoint by position (see Dedupe to drop repeated questions
// first); exs is not modified. It fails with ErrSplitSize when a size is
// negative or the sizes add up to more than len(exs).
func Split(exs []Example, sizes Sizes, seed uint64) (Splits, error) {
	if err := sizes.check(); err != nil {
		return Splits{}, err
	}
	if sizes.Total() > len(exs) {
		return Splits{}, fmt.Errorf("%w: sizes %+v need %d examples, have %d", ErrSplitSize, sizes, sizes.Total(), len(exs))
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed5eed))
	perm := r.Perm(len(exs))
	shuffled := make([]Example, sizes.Total())
	for i := range shuffled {
		shuffled[i] = exs[perm[i]]
	}
	return deal(shuffled, sizes), nil
}

// deal cuts exs into test, val and train, in that order, so a test split
// stays the same when only the train size changes.
func deal(exs []Example, s Sizes) Splits {
	t, v := s.Test, s.Test+s.Val
	return Splits{
		Test:  exs[:t:t],
		Val:   exs[t:v:v],
		Train: exs[v : v+s.Train : v+s.Train],
	}
}

// SplitFractions is Split with sizes given as fractions of len(exs), each
// in [0, 1] and summing to at most 1; sizes are rounded to the nearest
// whole example, never past len(exs).
func SplitFractions(exs []Example, train, val, test float64, seed uint64) (Splits, error) {
	for _, f := range []float64{train, val, test} {
		if !(f >= 0 && f <= 1) {
			return Splits{}, fmt.Errorf("%w: fractions %g/%g/%g: each must be in [0, 1]", ErrSplitSize, train, val, test)
		}
	}
	if train+val+test > 1+1e-9 {
		return Splits{}, fmt.Errorf("%w: fractions %g/%g/%g sum to %g > 1", ErrSplitSize, train, val, test, train+val+test)
	}
	n := float64(len(exs))
	s := Sizes{Test: int(math.Round(test * n))}
	s.Val = min(int(math.Round(val*n)), len(exs)-s.Test)
	s.Train = min(int(math.Round(train*n)), len(exs)-s.Test-s.Val)
	return Split(exs, s, seed)
}

// Dedupe returns exs without the examples whose question already appeared
// earlier, keeping order. It returns exs itself when nothing repeats.
func Dedupe(exs []Example) []Example {
	seen := make(map[string]bool, len(exs))
	var out []Example
	for i, e := range exs {
		if seen[e.Question] {
			if out == nil {
				out = append(make([]Example, 0, len(exs)), exs[:i]...)
			}
			continue
		}
		seen[e.Question] = true
		if out != nil {
			out = append(out, e)
		}
	}
	if out == nil {
		return exs
	}
	return out
}

// GenerateFamily is Lookup(family) then Generate, with its arguments
// checked: n >= 0, difficulty 0..3.
func GenerateFamily(family string, n int, seed uint64, difficulty int) ([]Example, error) {
	f, err := Lookup(family)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("datasets: generating %s: n = %d, want >= 0", family, n)
	}
	if difficulty < 0 || difficulty > 3 {
		return nil, fmt.Errorf("datasets: generating %s: difficulty %d outside 0..3 (0 mixes 1, 2 and 3)", family, difficulty)
	}
	return f.Generate(n, seed, difficulty), nil
}

// Builtin generates a built-in family's splits in one call: sizes.Total()
// examples with distinct questions from Generate(_, seed, difficulty),
// dealt in generation order to test, then val, then train. No question is
// in two splits, and the test split depends only on (family, seed,
// difficulty, sizes.Test).
func Builtin(family string, sizes Sizes, seed uint64, difficulty int) (Splits, error) {
	if err := sizes.check(); err != nil {
		return Splits{}, fmt.Errorf("datasets: builtin %s: %w", family, err)
	}
	total := sizes.Total()
	n := total + total/16 + 4
	for {
		exs, err := GenerateFamily(family, n, seed, difficulty)
		if err != nil {
			return Splits{}, err
		}
		exs = Dedupe(exs)
		if len(exs) >= total {
			return deal(exs[:total], sizes), nil
		}
		if n > 4*total+64 {
			return Splits{}, fmt.Errorf("%w: builtin %s at difficulty %d yields %d distinct questions from %d, want %d",
				ErrSplitSize, family, difficulty, len(exs), n, total)
		}
		n *= 2
	}
}
