package datasets

import "testing"

// benchSolve measures a family's solver on its own hardest questions; the
// surrogate model calls it once per distinct question text.
func benchSolve(b *testing.B, family string) {
	var qs []string
	if family == "" { // the registry, on all families' questions
		for _, name := range familyNames {
			f, _ := Lookup(name)
			for _, ex := range f.Generate(32, 1, 0) {
				qs = append(qs, ex.Question)
			}
		}
	} else {
		f, err := Lookup(family)
		if err != nil {
			b.Fatal(err)
		}
		for _, ex := range f.Generate(64, 1, 3) {
			qs = append(qs, ex.Question)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := Solve(qs[i%len(qs)]); !ok {
			b.Fatal("not solved")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/solve")
}

func BenchmarkSolveArithmetic(b *testing.B) { benchSolve(b, "arithmetic") }
func BenchmarkSolveMultihop(b *testing.B)   { benchSolve(b, "multihop") }
func BenchmarkSolveLogic(b *testing.B)      { benchSolve(b, "logic") }
func BenchmarkSolveAny(b *testing.B)        { benchSolve(b, "") }

func BenchmarkGenerate(b *testing.B) {
	for _, name := range familyNames {
		f, _ := Lookup(name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f.Generate(1, 1, 3)
			}
		})
	}
}
