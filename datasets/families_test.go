package datasets

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var familyNames = []string{"arithmetic", "multihop", "logic"}

func TestRegistered(t *testing.T) {
	got := Names()
	for _, want := range familyNames {
		f, err := Lookup(want)
		if err != nil {
			t.Fatalf("Lookup(%q): %v (registered: %v)", want, err, got)
		}
		if f.Name() != want || f.Describe() == "" {
			t.Errorf("family %q: Name %q, Describe %q", want, f.Name(), f.Describe())
		}
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "arithmetic") {
		t.Errorf("Lookup(nope) = %v, want an error listing the known families", err)
	}
}

// TestSolveProperty is the contract the surrogate model relies on: the
// solver reads every generated question back to its gold answer, measures
// hardness that rises with difficulty, and offers distinct wrong answers.
func TestSolveProperty(t *testing.T) {
	seeds, per := 100, 20
	if testing.Short() {
		seeds = 6
	}
	for _, name := range familyNames {
		f, _ := Lookup(name)
		var meanHard [4]float64
		for d := 0; d <= 3; d++ {
			count := 0
			for seed := uint64(0); seed < uint64(seeds); seed++ {
				for i, ex := range f.Generate(per, seed, d) {
					checkExample(t, f, ex, seed, i, d)
					s, _ := f.Solve(ex.Question)
					meanHard[d] += s.Hardness
					count++
				}
			}
			meanHard[d] /= float64(count)
		}
		if !(meanHard[1] < meanHard[2] && meanHard[2] < meanHard[3]) {
			t.Errorf("%s: mean hardness by difficulty 1..3 = %.2f, want increasing", name, meanHard[1:])
		}
		if meanHard[0] <= meanHard[1] || meanHard[0] >= meanHard[3] {
			t.Errorf("%s: mixed difficulty hardness %.2f not between levels 1 and 3 (%.2f)", name, meanHard[0], meanHard[1:])
		}
	}
}

func checkExample(t *testing.T, f Family, ex Example, seed uint64, i, d int) {
	t.Helper()
	where := fmt.Sprintf("%s seed %d difficulty %d #%d", f.Name(), seed, d, i)
	if want := fmt.Sprintf("%s-%d-%d", f.Name(), seed, i); ex.ID != want || ex.Family != f.Name() {
		t.Fatalf("%s: ID %q family %q, want %q %q", where, ex.ID, ex.Family, want, f.Name())
	}
	if wantD := d; d == 0 && (ex.Difficulty < 1 || ex.Difficulty > 3) || d > 0 && ex.Difficulty != wantD {
		t.Fatalf("%s: Difficulty %d", where, ex.Difficulty)
	}
	if strings.HasPrefix(ex.Question, "#") || strings.Contains(ex.Question, "\n#") || strings.Contains(ex.Question, "\nAnswer: ") {
		t.Fatalf("%s: question breaks the prompt format:\n%s", where, ex.Question)
	}
	s, ok := f.Solve(ex.Question)
	if !ok || s.Answer != ex.Answer || s.Family != f.Name() {
		t.Fatalf("%s: Solve = %q %v (family %q), want %q\n%s", where, s.Answer, ok, s.Family, ex.Answer, ex.Question)
	}
	if rs, ok := Solve(ex.Question); !ok || rs.Answer != ex.Answer || rs.Family != f.Name() {
		t.Fatalf("%s: datasets.Solve = %+v %v", where, rs, ok)
	}
	if s.Hardness < 1 || s.Hardness > 3 {
		t.Fatalf("%s: Hardness %g outside [1, 3]", where, s.Hardness)
	}
	if len(s.Distractors) < 4 || len(s.Distractors) > 6 {
		t.Fatalf("%s: %d distractors %q, want 4..6\n%s", where, len(s.Distractors), s.Distractors, ex.Question)
	}
	seen := map[string]bool{Normalize(ex.Answer): true}
	for _, w := range s.Distractors {
		n := Normalize(w)
		if seen[n] {
			t.Fatalf("%s: distractor %q repeats or equals the answer %q: %q", where, w, ex.Answer, s.Distractors)
		}
		seen[n] = true
	}
	for _, other := range familyNames {
		if other == f.Name() {
			continue
		}
		g, _ := Lookup(other)
		if s, ok := g.Solve(ex.Question); ok {
			t.Fatalf("%s: family %s also claims it: %+v", where, other, s)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	for _, name := range familyNames {
		f, _ := Lookup(name)
		a, b := f.Generate(12, 7, 0), f.Generate(12, 7, 0)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two calls with the same seed differ", name)
		}
		if long := f.Generate(20, 7, 0); !reflect.DeepEqual(long[:12], a) {
			t.Errorf("%s: Generate(20)[:12] != Generate(12)", name)
		}
		other := f.Generate(12, 8, 0)
		same := 0
		for i := range a {
			if a[i].Question == other[i].Question {
				same++
			}
		}
		if same > 1 {
			t.Errorf("%s: seeds 7 and 8 share %d of 12 questions", name, same)
		}
		if d1, d2 := f.Generate(3, 7, 1), f.Generate(3, 7, 2); d1[0].Question == d2[0].Question {
			t.Errorf("%s: difficulty does not change the question", name)
		}
		if got := f.Generate(0, 7, 0); len(got) != 0 {
			t.Errorf("%s: Generate(0) returned %d examples", name, len(got))
		}
	}
}

func TestGeneratePanicsOnBadDifficulty(t *testing.T) {
	f, _ := Lookup("arithmetic")
	defer func() {
		if recover() == nil {
			t.Error("Generate with difficulty 4 did not panic")
		}
	}()
	f.Generate(1, 1, 4)
}

// Hand-written questions: the solvers read text, not generated state.
func TestSolveHandWritten(t *testing.T) {
	tests := []struct {
		q, answer string
		hardness  float64
	}{
		{"Mara has 10 apples. She buys 5 more apples. She gives away 20% of her apples. How many apples does Mara have now?", "12", 1},
		{"Leo owns 7 toy cars. He doubles his toy cars. Ines gives him 3 more toy cars. He sells all of his toy cars for $4 each. How many dollars does Leo earn?", "68", 1.5},
		{"Hana has 30 beads. She sells 2/5 of her beads. She buys 3 packs of beads with 4 beads in each pack. How many beads does Hana have at the end?", "30", 1},
		{"Context:\n[Ann Vale] Ann Vale works for Acme Labs.\n[Acme Labs] Acme Labs was founded by Bo Reed.\n[Bo Reed] Bo Reed was born in Tarn.\n[Cy Moss] Cy Moss was born in Ulm.\n\nQuestion: In which city was the founder of the company that employs Ann Vale born?", "Tarn", 2},
		{"Context:\n[Tarn] The mayor of Tarn is Bo Reed. Tarn is a city in Oz.\n[Bo Reed] Bo Reed is married to Ann Vale.\n\nQuestion: Who is the mayor of Tarn married to?", "Ann Vale", 1},
		{"Five friends, Ada, Bram, Cleo, Dov and Eli, compare their heights. Ada is taller than Bram. Bram is taller than Cleo. Cleo is taller than Dov. Eli is the shortest. Who is the second tallest?", "Bram", 1},
		{"Five runners, Ada, Bram, Cleo, Dov and Eli, compare their speeds. Ada runs slower than Bram. Cleo runs slower than Ada. Dov runs faster than Bram. Eli runs slower than Cleo. Who is the fastest?", "Dov", 1},
	}
	for _, tt := range tests {
		s, ok := Solve(tt.q)
		if !ok || s.Answer != tt.answer || s.Hardness != tt.hardness {
			t.Errorf("Solve(%.50q...) = %q hardness %g ok %v, want %q hardness %g", tt.q, s.Answer, s.Hardness, ok, tt.answer, tt.hardness)
		}
	}
}

func TestSolveRejects(t *testing.T) {
	for _, q := range []string{
		"",
		"What is 2 + 2?",
		"Mara has 10 apples.",
		"Mara has 10 apples. How many apples does Mara have now?",                                                // no step
		"Mara has 10 apples. She eats 5 apples. How many apples does Mara have now?",                             // unknown step
		"Mara has 10 apples. She buys 5 more pears. How many apples does Mara have now?",                         // other item
		"Mara has 10 apples. She buys 5 more apples. He buys 1 more apples. How many apples does Mara have now?", // pronoun
		"Mara has 10 apples. She gives away 15% of her apples. How many apples does Mara have now?",              // not exact
		"Context:\n[A] A was born in B.\n\nQuestion: In which city was C born?",
		"Context:\n[A] A was born in B. A likes jazz.\n\nQuestion: In which city was A born?",
		"Five friends, Ada, Bram, Cleo, Dov and Eli, compare their heights. Ada is taller than Bram. Who is the tallest?",                                       // undetermined
		"Three friends, Ada, Bram and Cleo, compare their heights. Ada is taller than Bram. Bram is taller than Ada. Cleo is the tallest. Who is the shortest?", // cycle
		"Three friends Ada, Bram and Cleo, compare their heights. Ada is taller than Bram. Bram is taller than Cleo. Who is the shortest?",                      // no comma after the group
	} {
		if s, ok := Solve(q); ok {
			t.Errorf("Solve(%q) = %+v, want not ok", q, s)
		}
	}
}

// A changed number changes the answer: the solver computes, it does not
// recall.
func TestSolveReadsNumbers(t *testing.T) {
	f, _ := Lookup("arithmetic")
	for _, ex := range f.Generate(30, 3, 2) {
		s1, _ := f.Solve(ex.Question)
		first := strings.IndexAny(ex.Question, "0123456789")
		q2 := ex.Question[:first] + "1" + ex.Question[first:] // 12 -> 112
		s2, ok := f.Solve(q2)
		if ok && s2.Answer == s1.Answer {
			t.Errorf("changing the start value kept the answer %s:\n%s\n%s", s1.Answer, ex.Question, q2)
		}
	}
}

func FuzzSolve(f *testing.F) {
	for _, name := range familyNames {
		fam, _ := Lookup(name)
		for _, ex := range fam.Generate(3, 1, 0) {
			f.Add(ex.Question)
		}
	}
	f.Fuzz(func(t *testing.T, q string) {
		s, ok := Solve(q)
		if ok && (s.Answer == "" || s.Hardness < 1 || s.Hardness > 3 || len(s.Modes) != len(s.Distractors)) {
			t.Errorf("Solve(%q) = %+v", q, s)
		}
	})
}
