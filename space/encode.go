package space

import (
	"fmt"
	"math"
	"slices"
)

// Encoding chooses how an Encoder maps assignments to vectors.
type Encoding struct {
	// Index encodes a choice or component variable as one dimension, the
	// centre (i+0.5)/n of the i-th of n equal bins of [0, 1], instead of
	// one-hot (n dimensions, 1 for the chosen option and 0 elsewhere).
	Index bool
	// Fill is the value of every dimension of an inactive (absent)
	// variable; the zero value 0 makes an inactive one-hot block all zeros.
	Fill float64
}

// Dim describes one dimension of an encoding, so an optimizer can treat
// categorical dimensions differently from ordinal ones.
type Dim struct {
	Var  string // the variable's name
	Kind Kind   // the variable's kind
	// Option is the choice or component a one-hot dimension stands for; ""
	// for other dimensions.
	Option string
	// Categorical is true for the dimensions of choice and component
	// variables (one-hot or index), whose order means nothing.
	Categorical bool
	// Levels is the number of distinct values the dimension decodes to:
	// the options of an index dimension, 2 for bools and one-hot
	// dimensions, the grid points of stepped and int variables, 0 for
	// continuous floats.
	Levels int
	// Log is true when the dimension is on a log scale.
	Log bool
}

// Encoder maps assignments of a space to vectors in [0, 1]^Dim and back.
// Fixed and composite variables have no dimensions; every searched variable
// has one, except a one-hot choice or component, which has one per option.
//
// Numeric variables are scaled to [0, 1] on their scale: continuous linear
// ones map low..high to 0..1, log ones do the same with logarithms, and
// stepped linear ones (ints included) map the k-th of n grid points to the
// centre (k+0.5)/n of the k-th of n equal bins, so a uniform vector decodes
// to a uniform grid point. Bools are 0 or 1. Inactive variables get
// Encoding.Fill on all their dimensions.
//
// Decode inverts Encode: Decode(Encode(a)) equals a for every valid complete
// assignment a, exactly except for continuous floats, which may differ by a
// rounding error (about 1e-15 relative). Decode accepts any vector: values
// are clamped to [0, 1] (NaN counts as 0), numeric values are snapped to
// their grid, a one-hot block decodes to its largest dimension (the first on
// ties), an index or bool dimension to the bin it falls in. The result may
// violate the constraints; check it with Space.Validate.
type Encoder struct {
	s     *Space
	e     Encoding
	dims  []Dim
	start []int // first dimension of each variable, -1 if it has none
}

// Encoder returns an encoder of s with encoding e.
func (s *Space) Encoder(e Encoding) *Encoder {
	en := &Encoder{s: s, e: e, start: make([]int, len(s.vars))}
	for i := range s.vars {
		v := &s.vars[i]
		en.start[i] = -1
		if !v.Searched() {
			continue
		}
		en.start[i] = len(en.dims)
		d := Dim{Var: v.Name, Kind: v.Kind, Log: v.Log}
		switch v.Kind {
		case KindFloat, KindInt:
			d.Levels = s.info[i].levels
			en.dims = append(en.dims, d)
		case KindBool:
			d.Levels = 2
			en.dims = append(en.dims, d)
		case KindChoice, KindComponent:
			d.Categorical = true
			if e.Index {
				d.Levels = v.options()
				en.dims = append(en.dims, d)
				break
			}
			d.Levels = 2
			for k := range v.options() {
				d.Option = v.option(k)
				en.dims = append(en.dims, d)
			}
		}
	}
	return en
}

// Space returns the encoder's space.
func (en *Encoder) Space() *Space { return en.s }

// Dim is the length of the encoded vectors.
func (en *Encoder) Dim() int { return len(en.dims) }

// Dims describes each dimension.
func (en *Encoder) Dims() []Dim { return slices.Clone(en.dims) }

// Encode maps a to a vector. Values that are absent (or invalid) leave their
// variable's dimensions at Fill.
func (en *Encoder) Encode(a Assignment) []float64 {
	x := make([]float64, len(en.dims))
	for k := range x {
		x[k] = en.e.Fill
	}
	s := en.s
	for i, st := range en.start {
		if st < 0 {
			continue
		}
		val, ok := a[s.vars[i].Name]
		if !ok {
			continue
		}
		v, in := &s.vars[i], &s.info[i]
		switch v.Kind {
		case KindFloat, KindInt:
			var f float64
			switch n := val.(type) {
			case float64:
				f = n
			case int:
				f = float64(n)
			default:
				continue
			}
			x[st] = encodeNum(v, in, f)
		case KindBool:
			if b, ok := val.(bool); ok {
				x[st] = 0
				if b {
					x[st] = 1
				}
			}
		case KindChoice, KindComponent:
			str, _ := val.(string)
			k := v.optionIndex(str)
			switch {
			case k < 0:
			case en.e.Index:
				x[st] = (float64(k) + 0.5) / float64(v.options())
			default:
				for j := range v.options() {
					x[st+j] = 0
				}
				x[st+k] = 1
			}
		}
	}
	return x
}

func encodeNum(v *Var, in *varInfo, f float64) float64 {
	var u float64
	switch {
	case v.Log:
		if in.hi == in.lo {
			return 0.5
		}
		u = unlerp(math.Log(f), in.lo, in.hi)
	case in.levels > 0:
		k := math.Round(steps(f, v.Low, v.step()))
		u = (k + 0.5) / float64(in.levels)
	default:
		if in.hi == in.lo {
			return 0.5
		}
		u = unlerp(f, in.lo, in.hi)
	}
	return clamp01(u)
}

// Decode maps a vector back to a complete assignment (see Encoder). It
// panics if len(x) != Dim() or a composite's Compute returns a value of the
// wrong type.
func (en *Encoder) Decode(x []float64) Assignment {
	if len(x) != len(en.dims) {
		panic(fmt.Sprintf("space: Decode of a vector of length %d, want %d", len(x), len(en.dims)))
	}
	a, err := en.s.build(func(i int, v *Var) any { return en.decodeVar(i, x[en.start[i]:]) })
	if err != nil {
		panic(err)
	}
	return a
}

func (en *Encoder) decodeVar(i int, x []float64) any {
	v, in := &en.s.vars[i], &en.s.info[i]
	switch v.Kind {
	case KindFloat, KindInt:
		u := clamp01(x[0])
		switch {
		case v.Log:
			return in.snap(v, math.Exp(lerp(in.lo, in.hi, u)))
		case in.levels > 0:
			return in.grid(v, min(int(u*float64(in.levels)), in.levels-1))
		}
		return in.snap(v, lerp(v.Low, v.High, u))
	case KindBool:
		return clamp01(x[0]) >= 0.5
	case KindChoice, KindComponent:
		n := v.options()
		if en.e.Index {
			return v.option(min(int(clamp01(x[0])*float64(n)), n-1))
		}
		best := 0
		for k := 1; k < n; k++ {
			if x[k] > x[best] || math.IsNaN(x[best]) && !math.IsNaN(x[k]) {
				best = k
			}
		}
		return v.option(best)
	}
	panic("space: decodeVar of a " + v.Kind.String() + " variable")
}

func clamp01(u float64) float64 {
	if !(u > 0) { // also NaN
		return 0
	}
	return math.Min(u, 1)
}

// Encode is s.Encoder(Encoding{}).Encode: one-hot choices, inactive
// dimensions 0.
func (s *Space) Encode(a Assignment) []float64 { return s.enc.Encode(a) }

// Decode is s.Encoder(Encoding{}).Decode.
func (s *Space) Decode(x []float64) Assignment { return s.enc.Decode(x) }

// Dim is s.Encoder(Encoding{}).Dim.
func (s *Space) Dim() int { return s.enc.Dim() }

// Dims is s.Encoder(Encoding{}).Dims.
func (s *Space) Dims() []Dim { return s.enc.Dims() }
