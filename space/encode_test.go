package space

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// sameAssignment compares exactly, except continuous floats within a
// relative 1e-12.
func sameAssignment(s *Space, a, b Assignment) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok {
			return false
		}
		v, _ := s.Var(k)
		fx, isFloat := x.(float64)
		fy, _ := y.(float64)
		if isFloat && v.Kind == KindFloat && v.Step == 0 {
			if math.Abs(fx-fy) > 1e-12*math.Max(1, math.Abs(fx)) {
				return false
			}
			continue
		}
		if !equal(x, y) {
			return false
		}
	}
	return true
}

func TestEncodeRoundTrip(t *testing.T) {
	s := testSpace(t)
	for _, e := range []Encoding{{}, {Index: true}, {Fill: -1}, {Index: true, Fill: 0.5}} {
		en := s.Encoder(e)
		for i, a := range sampleMany(t, s, 3, 2000) {
			x := en.Encode(a)
			if len(x) != en.Dim() {
				t.Fatalf("%+v: len %d, Dim %d", e, len(x), en.Dim())
			}
			for k, xk := range x {
				if !(xk >= 0 && xk <= 1) && xk != e.Fill {
					t.Fatalf("%+v: dim %d = %v outside [0, 1]", e, k, xk)
				}
			}
			b := en.Decode(x)
			if !sameAssignment(s, a, b) {
				t.Fatalf("%+v draw %d:\n a = %s\n b = %s", e, i, a.Key(), b.Key())
			}
		}
	}
}

func TestEncodeValues(t *testing.T) {
	s := MustNew(
		Int("n", 1, 8), Float("lr", 1e-4, 1e-1).WithLog(), Float("t", 0, 2), Bool("b"),
		Choice("c", "x", "y", "z"), Float("th", 0, 1).When("c", "y"), Const("fixed", 1.5),
		Composite("twice", func(a Assignment) any { return 2 * a.Int("n") }),
	)
	a := Assignment{"n": 1, "lr": 0.1, "t": 0.5, "b": true, "c": "z"}
	want := []float64{1.0 / 16, 1, 0.25, 1, 0, 0, 1, 0} // th inactive: Fill 0
	if got := s.Encode(a); !approxEq(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	idx := s.Encoder(Encoding{Index: true, Fill: -1})
	want = []float64{1.0 / 16, 1, 0.25, 1, 5.0 / 6, -1}
	if got := idx.Encode(a); !approxEq(got, want) {
		t.Errorf("index Encode = %v, want %v", got, want)
	}
	// Decoding any vector gives a valid assignment; the ends of each range
	// decode to the bounds.
	b := s.Decode([]float64{0, 0, 1, 0.49, 0.2, 0.9, 0.1, 1})
	wantA := Assignment{"n": 1, "lr": 1e-4, "t": 2.0, "b": false, "c": "y", "th": 1.0, "fixed": 1.5, "twice": 2}
	if !sameAssignment(s, b, wantA) {
		t.Errorf("Decode = %s, want %s", b.Key(), wantA.Key())
	}
	b = s.Decode([]float64{1, 1, -3, 7, math.NaN(), 0.5, 0.5, math.NaN()})
	wantA = Assignment{"n": 8, "lr": 0.1, "t": 0.0, "b": true, "c": "y", "fixed": 1.5, "twice": 16, "th": 0.0}
	if !sameAssignment(s, b, wantA) {
		t.Errorf("Decode of out-of-range vector = %s, want %s", b.Key(), wantA.Key())
	}
	r := rand.New(rand.NewPCG(4, 4))
	for range 1000 {
		x := make([]float64, s.Dim())
		for k := range x {
			x[k] = r.Float64()*1.4 - 0.2
		}
		if err := s.Validate(s.Decode(x)); err != nil {
			t.Fatalf("Decode(%v): %v", x, err)
		}
	}
	// A uniform vector decodes to a uniform grid point.
	counts := make(map[int]int)
	for range 8000 {
		counts[s.Decode([]float64{r.Float64(), 0, 0, 0, 0, 0, 0, 0}).Int("n")]++
	}
	for n := 1; n <= 8; n++ {
		if counts[n] < 850 || counts[n] > 1150 {
			t.Errorf("n = %d decoded %d times of 8000, want about 1000", n, counts[n])
		}
	}
}

func approxEq(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12 {
			return false
		}
	}
	return true
}

func TestDims(t *testing.T) {
	s := MustNew(Float("t", 0, 2), Int("n", 1, 8), Float("lr", 1e-3, 1).WithLog(), Bool("b"),
		ComponentChoice("m", small, large), Const("k", "x"))
	want := []Dim{
		{Var: "t", Kind: KindFloat},
		{Var: "n", Kind: KindInt, Levels: 8},
		{Var: "lr", Kind: KindFloat, Log: true},
		{Var: "b", Kind: KindBool, Levels: 2},
		{Var: "m", Kind: KindComponent, Option: "sim-small", Categorical: true, Levels: 2},
		{Var: "m", Kind: KindComponent, Option: "sim-large", Categorical: true, Levels: 2},
	}
	if got := s.Dims(); !reflect.DeepEqual(got, want) || s.Dim() != 6 {
		t.Errorf("Dims = %+v\nwant   %+v", got, want)
	}
	want = append(want[:4], Dim{Var: "m", Kind: KindComponent, Categorical: true, Levels: 2})
	if got := s.Encoder(Encoding{Index: true}).Dims(); !reflect.DeepEqual(got, want) {
		t.Errorf("index Dims = %+v\nwant   %+v", got, want)
	}
}

func TestDecodeWrongLength(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Decode of a short vector did not panic")
		}
	}()
	MustNew(Float("x", 0, 1)).Decode(nil)
}

func BenchmarkSample(b *testing.B) {
	s := testSpace(b)
	r := rand.New(rand.NewPCG(1, 1))
	for b.Loop() {
		if _, err := s.Sample(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	s := testSpace(b)
	a, _ := s.Sample(rand.New(rand.NewPCG(1, 1)))
	for b.Loop() {
		s.Encode(a)
	}
}
