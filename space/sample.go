package space

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Sample draws a random complete assignment that satisfies every constraint.
// Numeric variables are uniform on their scale (log-uniform with Log) and
// snapped to their grid; choices and components follow their weights;
// bools are fair coins; inactive variables are absent; fixed and composite
// values are filled in. Candidates violating a constraint are redrawn, up to
// the space's maximum number of tries (DefaultMaxTries, see SetMaxTries);
// then Sample fails with an error matching ErrUnsatisfiable that names the
// constraint that failed most often. The same r state gives the same result.
func (s *Space) Sample(r *rand.Rand) (Assignment, error) {
	var misses []int
	gen := func(i int, v *Var) any { return s.sampleVar(r, i) }
	for range s.maxTries {
		a, err := s.build(gen)
		if err != nil {
			return nil, err
		}
		k := s.violated(a)
		if k < 0 {
			return a, nil
		}
		if misses == nil {
			misses = make([]int, len(s.cons))
		}
		misses[k]++
	}
	worst := 0
	for k := range misses {
		if misses[k] > misses[worst] {
			worst = k
		}
	}
	c := &s.cons[worst]
	return nil, &ruleError{
		msg: fmt.Sprintf("space: no sample satisfied every constraint in %d tries; constraint %q failed %d times: %s",
			s.maxTries, c.Name, misses[worst], c.message()),
		rule: ErrUnsatisfiable,
	}
}

// sampleVar draws a value of searched variable i.
func (s *Space) sampleVar(r *rand.Rand, i int) any {
	v, in := &s.vars[i], &s.info[i]
	switch v.Kind {
	case KindFloat, KindInt:
		if in.levels > 0 && !v.Log {
			return in.grid(v, r.IntN(in.levels))
		}
		u := r.Float64()
		if v.Log {
			return in.snap(v, math.Exp(lerp(in.lo, in.hi, u)))
		}
		return in.snap(v, lerp(v.Low, v.High, u))
	case KindChoice, KindComponent:
		if in.cum == nil {
			return v.option(r.IntN(v.options()))
		}
		u := r.Float64() * in.cum[len(in.cum)-1]
		last := 0
		for k, c := range in.cum {
			if u < c {
				return v.option(k)
			}
			if v.Weights[k] > 0 {
				last = k
			}
		}
		return v.option(last) // only if rounding put u at the total
	case KindBool:
		return r.IntN(2) == 1
	}
	panic("space: sampleVar of a " + v.Kind.String() + " variable")
}
