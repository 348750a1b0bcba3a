package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/lm/prompt"
)

// TestHashStable pins the hash: replies must not change across machines,
// runs or refactorings, since experiments are compared across them.
func TestHashStable(t *testing.T) {
	got := fmt.Sprintf("%x %x %x %x", hashString("", 0), hashString("abc", 1), hashString("Solve the problem step by step.", 2),
		hashString(strings.Repeat("0123456789", 10), 3))
	const want = "146a6b2ea9984c76 f0ea1c9ba93e3203 7f16811440490c79 bd0704807c6fcfd3"
	if got != want {
		t.Errorf("hashes changed:\n got %s\nwant %s", got, want)
	}
	seen := map[uint64]string{}
	for i := range 1 << 14 {
		s := fmt.Sprint(i)
		h := hashString(s, 0)
		if prev, dup := seen[h]; dup {
			t.Fatalf("hash collision between %q and %q", prev, s)
		}
		seen[h] = s
	}
}

func TestFormatAnswer(t *testing.T) {
	for i := range 1001 {
		c := float64(i) / 1000
		if got, want := "Answer: 42"+confLines[int(math.Round(c*100))], prompt.FormatAnswer("42", float64(int(c*100+0.5))/100); got != want {
			t.Fatalf("confidence %g: reply ends %q, want %q", c, got, want)
		}
	}
}

func TestSameAnswer(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"42", "42", true}, {" Paris. ", "paris", true}, {"New  York", "new york", true},
		{"42", "420", false}, {"", "x", false}, {"a b", "ab", false},
	} {
		if got := normHash(c.a) == normHash(c.b); got != c.want {
			t.Errorf("normHash(%q) == normHash(%q) is %v", c.a, c.b, got)
		}
	}
}

func TestCacheBound(t *testing.T) {
	c := cache[int]{max: 10}
	for i := range 25 {
		c.put(fmt.Sprint(i), i)
	}
	n := 0
	c.m.Range(func(_, _ any) bool { n++; return true })
	if n > 10 {
		t.Errorf("cache holds %d entries, bound is 10", n)
	}
	if v, ok := c.get("24"); !ok || v != 24 {
		t.Errorf("latest entry lost: %v, %v", v, ok)
	}
}
