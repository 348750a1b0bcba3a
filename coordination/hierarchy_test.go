package coordination

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestHierarchyShape(t *testing.T) {
	for _, tc := range []struct{ n, fan, levels, coords int }{
		{1, 0, 1, 1},
		{8, 0, 1, 1},
		{9, 0, 2, 3},
		{1000, 10, 3, 111},
		{1000, 0, 4, 125 + 16 + 2 + 1},
		{300, 4, 5, 75 + 19 + 5 + 2 + 1},
	} {
		d, err := Hierarchy{FanOut: tc.fan}.Decide(votesOf(make([]string, tc.n)...))
		if err != nil {
			t.Fatal(err)
		}
		if d.Levels != tc.levels || d.Coordinators != tc.coords || d.Overhead.Rounds != tc.levels {
			t.Errorf("n=%d fan=%d: %d levels, %d coordinators; want %d, %d", tc.n, tc.fan, d.Levels, d.Coordinators, tc.levels, tc.coords)
		}
	}
}

// Groups that agree decide for their whole group: with groups of three,
// two 2–1 groups for "a" outvote a 3–0 group for "b", although "b" has the
// flat majority.
func TestHierarchyDelegates(t *testing.T) {
	vs := votesOf("a", "a", "b", "a", "a", "b", "b", "b", "b")
	d, err := Hierarchy{FanOut: 3}.Decide(vs)
	if err != nil {
		t.Fatal(err)
	}
	if d.Answer != "a" || !d.Reached || d.Local != 3 || d.Escalated != 0 {
		t.Errorf("got %+v", d)
	}
	if math.Abs(d.Agreement-4.0/9) > 1e-12 {
		t.Errorf("agreement %v, want the true share 4/9", d.Agreement)
	}
	if d.Overhead != (Overhead{Rounds: 2, Messages: 9 + 3}) {
		t.Errorf("overhead %+v", d.Overhead)
	}
	flat, _ := Consensus{}.Decide(vs)
	if flat.Answer != "b" {
		t.Errorf("flat majority %q", flat.Answer)
	}
}

// When no group reaches the rule, every tally is escalated and the root
// decides what flat consensus decides.
func TestHierarchyEscalationMatchesFlat(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for inst := 0; inst < 500; inst++ {
		fan := 2 + rng.IntN(6)
		vs := randomVotes(rng, 2+rng.IntN(200), 1+rng.IntN(4))
		for g := 0; g+1 < len(vs); g += fan {
			vs[g].Answer, vs[g+1].Answer = "A", "B" // no group is unanimous
		}
		if len(vs)%fan == 1 {
			vs = vs[:len(vs)-1] // nor a last group of one
		}
		c := randomConsensus(rng)
		c.Rule = Unanimity
		flat, ferr := c.Decide(vs)
		h, herr := Hierarchy{FanOut: fan, Consensus: c}.Decide(vs)
		if ferr != herr || h.Answer != flat.Answer || h.Reached || h.Local != 0 ||
			math.Abs(h.Agreement-flat.Agreement) > 1e-9 || math.Abs(h.Confidence-flat.Confidence) > 1e-9 {
			t.Fatalf("instance %d: hierarchy %+v (%v), flat %+v (%v)", inst, h, herr, flat, ferr)
		}
		for k := range flat.Tally {
			if h.Tally[k].Answer != flat.Tally[k].Answer || h.Tally[k].Votes != flat.Tally[k].Votes {
				t.Fatalf("instance %d: tallies differ: %+v vs %+v", inst, h.Tally, flat.Tally)
			}
		}
	}
}

func TestHierarchyUnanimousTeam(t *testing.T) {
	vs := votesOf(make([]string, 500)...)
	for i := range vs {
		vs[i].Answer = "42"
	}
	d, err := Hierarchy{FanOut: 10, Consensus: Consensus{Rule: Unanimity}}.Decide(vs)
	if err != nil || d.Answer != "42" || !d.Reached || d.Agreement != 1 || d.Escalated != 0 {
		t.Errorf("got %+v, %v", d, err)
	}
	// Each of the 50+5 non-root coordinators sends one message up.
	if d.Overhead.Messages != 500+55 {
		t.Errorf("messages %d", d.Overhead.Messages)
	}
}

func TestHierarchyErrors(t *testing.T) {
	if _, err := (Hierarchy{FanOut: 1}).Decide(votesOf("a")); !errors.Is(err, ErrInvalid) {
		t.Errorf("fan-out 1: %v", err)
	}
	if _, err := (Hierarchy{}).Decide(nil); !errors.Is(err, ErrNoVotes) {
		t.Errorf("no votes: %v", err)
	}
	if _, err := (Hierarchy{Consensus: Consensus{Rule: "x"}}).Decide(votesOf("a")); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad rule: %v", err)
	}
}
