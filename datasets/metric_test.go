package datasets

import (
	"errors"
	"math"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"42", "42"},
		{"The Answer", "answer"},
		{"  a   cat\tand\nAN owl ", "cat and owl"},
		{"the", ""},
		{"Theory", "theory"},
		{"Hello, World!", "hello world"},
		{"don't stop", "dont stop"},
		{"well-known", "wellknown"},
		{"1,000", "1000"},
		{"1,000,000.50", "1000000.5"},
		{"42.0", "42"},
		{"42.", "42"},
		{"$42", "42"},
		{"$1,234.00 dollars", "1234 dollars"},
		{"(42)", "42"},
		{"25%", "25"},
		{"-3", "-3"},
		{"-0.0", "0"},
		{"+7", "7"},
		{".5", "0.5"},
		{"007", "7"},
		{"0", "0"},
		{"1,2", "12"},
		{"3.14159", "3.14159"},
		{"42kg", "42kg"},
		{"Café Müller", "café müller"},
		{"ÉCOLE «Normale»", "école normale"},
		{"Straße", "straße"},
		{"日本 の 首都", "日本 の 首都"},
		{"naïve\u00a0approach", "naïve approach"},
		{"…", ""},
		{"Jean-Luc Picard", "jeanluc picard"},
		{"€5", "5"},
		{"answer: 12 apples.", "answer 12 apples"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := Normalize(tt.want); got != tt.want {
			t.Errorf("Normalize not idempotent on %q: %q", tt.want, got)
		}
	}
}

func TestNormalizeNoAllocWhenNormal(t *testing.T) {
	for _, s := range []string{"", "42", "brightion motors", "-3.5", "café müller", "kelmora"} {
		if n := testing.AllocsPerRun(100, func() { _ = Normalize(s) }); n != 0 {
			t.Errorf("Normalize(%q) allocates %v times, want 0", s, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = ExactMatch("The Answer is 42.", "answer is 42") }); n != 0 {
		t.Errorf("ExactMatch allocates %v times, want 0", n)
	}
}

func TestExactMatch(t *testing.T) {
	tests := []struct {
		p, g string
		want float64
	}{
		{"42", "42", 1},
		{"$42.00", "42", 1},
		{"1,000", "1000", 1},
		{"The Eiffel Tower", "eiffel tower", 1},
		{"Kelmora.", "Kelmora", 1},
		{"43", "42", 0},
		{"", "", 1},
		{"", "42", 0},
		{"Brightion Motors", "Brightion Foods", 0},
	}
	for _, tt := range tests {
		if got := ExactMatch(tt.p, tt.g); got != tt.want {
			t.Errorf("ExactMatch(%q, %q) = %g, want %g", tt.p, tt.g, got, tt.want)
		}
	}
}

func TestNumericMatch(t *testing.T) {
	tests := []struct {
		tol  float64
		p, g string
		want float64
	}{
		{0, "42", "42.0", 1},
		{0, "The answer is 42", "42", 1},
		{0, "41", "42", 0},
		{0.01, "100.5", "100", 1}, // relative
		{0.01, "102", "100", 0},   // beyond 1%
		{0.5, "0.3", "0", 1},      // absolute near zero
		{1e-6, "$1,234.50", "1234.5", 1},
		{1e-6, "-5", "5", 0},
		{1e-6, "Kelmora", "kelmora", 1}, // no numbers: exact match
		{1e-6, "Kelmora", "Dunhaven", 0},
		{1e-6, "about twelve", "12", 0},
		{-1, "42", "42", 1},
	}
	for _, tt := range tests {
		if got := NumericMatch(tt.tol)(tt.p, tt.g); got != tt.want {
			t.Errorf("NumericMatch(%g)(%q, %q) = %g, want %g", tt.tol, tt.p, tt.g, got, tt.want)
		}
	}
}

func TestTokenF1(t *testing.T) {
	tests := []struct {
		p, g string
		want float64
	}{
		{"", "", 1},
		{"", "x", 0},
		{"x", "", 0},
		{"the cat sat", "cat sat", 1},
		{"cat", "cat sat", 2 * 1 * 0.5 / 1.5},
		{"cat cat", "cat", 2 * 0.5 * 1 / 1.5},
		{"dog", "cat", 0},
		{"New York City", "new york", 2 * (2.0 / 3) * 1 / (2.0/3 + 1)},
		{"Café", "café", 1},
	}
	for _, tt := range tests {
		if got := TokenF1(tt.p, tt.g); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("TokenF1(%q, %q) = %g, want %g", tt.p, tt.g, got, tt.want)
		}
	}
}

func TestMetricByName(t *testing.T) {
	for _, tt := range []struct {
		name string
		p, g string
		want float64
	}{
		{"exact", "The 42", "42", 1},
		{"em", "41", "42", 0},
		{"f1", "cat", "cat sat", 2.0 / 3},
		{"numeric", "42.0000001", "42", 1},
		{"numeric:0.1", "45", "42", 1},
		{"numeric:0.01", "45", "42", 0},
	} {
		m, err := MetricByName(tt.name)
		if err != nil {
			t.Fatalf("MetricByName(%q): %v", tt.name, err)
		}
		if got := m(tt.p, tt.g); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s(%q, %q) = %g, want %g", tt.name, tt.p, tt.g, got, tt.want)
		}
	}
	for _, bad := range []string{"", "accuracy", "numeric:x", "numeric:-1"} {
		if _, err := MetricByName(bad); !errors.Is(err, ErrUnknownMetric) {
			t.Errorf("MetricByName(%q) error = %v, want ErrUnknownMetric", bad, err)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "The 1,000 cats!", "$42.50", "Café", "-0.0", "a an the", ".5.5", "1,00,0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Errorf("Normalize(%q) = %q, not a fixed point (%q)", s, n, Normalize(n))
		}
		if isNormal(s) && n != s {
			t.Errorf("isNormal(%q) but Normalize gives %q", s, n)
		}
		if ExactMatch(s, n) != 1 {
			t.Errorf("ExactMatch(%q, Normalize) != 1", s)
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	for _, s := range []string{"brightion motors", "The Answer: $1,234.50!"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Normalize(s)
			}
		})
	}
}
