package datasets

import (
	"slices"
	"testing"
)

// familyModes are the error modes each family documents.
var familyModes = map[string][]string{
	"arithmetic": {ModeLastStep, ModeOperation, ModeSkippedStep, ModeSlip},
	"multihop":   {ModeSkippedHop, ModeStopEarly, ModeWrongFact},
	"logic":      {ModeNeighbour, ModeMisread},
}

// Every distractor has a mode of its family, and every mode of every
// family occurs.
func TestSolveModes(t *testing.T) {
	seeds, per := 40, 15
	if testing.Short() {
		seeds = 8
	}
	for _, name := range familyNames {
		f, _ := Lookup(name)
		modes := familyModes[name]
		if len(modes) == 0 {
			t.Fatalf("%s: no modes listed", name)
		}
		for d := 0; d <= 3; d++ {
			count := map[string]int{}
			for seed := uint64(0); seed < uint64(seeds); seed++ {
				for i, ex := range f.Generate(per, seed, d) {
					s, ok := f.Solve(ex.Question)
					if !ok {
						t.Fatalf("%s seed %d difficulty %d #%d: not solved", name, seed, d, i)
					}
					if len(s.Modes) != len(s.Distractors) {
						t.Fatalf("%s seed %d difficulty %d #%d: %d modes %q for %d distractors %q",
							name, seed, d, i, len(s.Modes), s.Modes, len(s.Distractors), s.Distractors)
					}
					for _, m := range s.Modes {
						if !slices.Contains(modes, m) {
							t.Fatalf("%s seed %d difficulty %d #%d: mode %q is not one of %q", name, seed, d, i, m, modes)
						}
						count[m]++
					}
					// The two lists share storage: appending to one must not
					// change the other.
					if len(s.Distractors) > 0 {
						m0 := s.Modes[0]
						_ = append(s.Distractors, "x")
						if s.Modes[0] != m0 {
							t.Fatalf("%s: appending to Distractors changed Modes", name)
						}
					}
				}
			}
			for _, m := range modes { // every level shows every mode
				if count[m] == 0 {
					t.Errorf("%s difficulty %d: mode %q never occurs (counts %v)", name, d, m, count)
				}
			}
			t.Logf("%s difficulty %d: %v", name, d, count)
		}
	}
}

// Hand-written questions get the modes their mistakes call for.
func TestSolveModesHandWritten(t *testing.T) {
	tests := []struct {
		q           string
		distractors []string
		modes       []string
	}{
		{
			// 10 → 15 → 12: without the last step 15; adding 20% of 15 would
			// not be exact, so the wrong operation keeps the 20%: 3; skipping
			// the first step: 8; subtracting 5: 5 → 4.
			"Mara has 10 apples. She buys 5 more apples. She gives away 20% of her apples. How many apples does Mara have now?",
			[]string{"15", "3", "8", "4", "13"},
			[]string{ModeLastStep, ModeOperation, ModeSkippedStep, ModeOperation, ModeSlip},
		},
		{
			"Context:\n[Ann Vale] Ann Vale works for Acme Labs.\n[Acme Labs] Acme Labs was founded by Bo Reed.\n[Bo Reed] Bo Reed was born in Tarn.\n[Cy Moss] Cy Moss was born in Ulm.\n\nQuestion: In which city was the founder of the company that employs Ann Vale born?",
			[]string{"Ulm", "Bo Reed", "Acme Labs", "Ann Vale"},
			[]string{ModeWrongFact, ModeStopEarly, ModeStopEarly, ModeStopEarly},
		},
		{
			"Context:\n[Tarn] The mayor of Tarn is Bo Reed. Tarn is a city in Oz.\n[Bo Reed] Bo Reed is married to Ann Vale.\n[Cy Moss] Cy Moss was born in Ulm.\n\nQuestion: Who is the mayor of Tarn married to?",
			[]string{"Bo Reed", "Cy Moss", "Tarn"},
			[]string{ModeSkippedHop, ModeWrongFact, ModeStopEarly},
		},
		{
			"Five friends, Ada, Bram, Cleo, Dov and Eli, compare their heights. Ada is taller than Bram. Bram is taller than Cleo. Cleo is taller than Dov. Eli is the shortest. Who is the second tallest?",
			[]string{"Ada", "Cleo", "Dov", "Eli"},
			[]string{ModeNeighbour, ModeNeighbour, ModeMisread, ModeMisread},
		},
	}
	for _, tt := range tests {
		s, ok := Solve(tt.q)
		if !ok {
			t.Errorf("Solve(%.50q...) not ok", tt.q)
			continue
		}
		if !slices.Equal(s.Distractors, tt.distractors) || !slices.Equal(s.Modes, tt.modes) {
			t.Errorf("Solve(%.50q...):\n distractors %q modes %q\nwant %q %q", tt.q, s.Distractors, s.Modes, tt.distractors, tt.modes)
		}
	}
}
