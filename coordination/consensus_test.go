package coordination

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func votesOf(answers ...string) []Vote {
	vs := make([]Vote, len(answers))
	for i, a := range answers {
		vs[i] = Vote{Agent: string(rune('a'+i%26)) + strings.Repeat("'", i/26), Answer: a, Confidence: 0.5, Weight: 1}
	}
	return vs
}

func TestConsensusRules(t *testing.T) {
	conf := func(vs []Vote, cs ...float64) []Vote {
		for i, c := range cs {
			vs[i].Confidence = c
		}
		return vs
	}
	weight := func(vs []Vote, ws ...float64) []Vote {
		for i, w := range ws {
			vs[i].Weight = w
		}
		return vs
	}
	for _, tc := range []struct {
		name      string
		c         Consensus
		votes     []Vote
		answer    string
		reached   bool
		agreement float64
		err       error
	}{
		{"majority reached", Consensus{}, votesOf("a", "a", "b"), "a", true, 2.0 / 3, nil},
		{"half is no majority, leader still wins", Consensus{}, votesOf("a", "a", "b", "b"), "a", false, 0.5, nil},
		{"tie goes to higher confidence", Consensus{}, conf(votesOf("a", "b"), 0.4, 0.9), "b", false, 0.5, nil},
		{"abstentions count against", Consensus{}, votesOf("a", "a", "", ""), "a", false, 0.5, nil},
		{"supermajority met", Consensus{Rule: Supermajority, Threshold: 0.75}, votesOf("a", "a", "a", "b"), "a", true, 0.75, nil},
		{"supermajority default 2/3 met", Consensus{Rule: Supermajority}, votesOf("a", "a", "b"), "a", true, 2.0 / 3, nil},
		{"supermajority missed, most confident decides", Consensus{Rule: Supermajority, Threshold: 0.75, Fallback: FallbackMostConfident},
			conf(votesOf("a", "a", "b", "c"), 0.5, 0.5, 0.6, 0.95), "c", false, 0.25, nil},
		{"unanimity", Consensus{Rule: Unanimity}, votesOf("a", "a", "a"), "a", true, 1, nil},
		{"unanimity broken by an abstention, no fallback", Consensus{Rule: Unanimity, Fallback: FallbackNone},
			votesOf("a", "a", ""), "", false, 2.0 / 3, ErrNoConsensus},
		{"weighted: the expert outweighs three", Consensus{Weighting: WeightGiven}, weight(votesOf("b", "a", "a", "a"), 5, 1, 1, 1), "b", true, 5.0 / 8, nil},
		{"weighted with a 40% cap", Consensus{Weighting: WeightGiven, MaxShare: 0.4}, weight(votesOf("b", "a", "a", "a"), 5, 1, 1, 1), "a", true, 3.0 / 5, nil},
		{"confidence weighting", Consensus{Weighting: WeightConfidence}, conf(votesOf("b", "a", "a"), 0.9, 0.3, 0.3), "b", true, 0.9 / 1.5, nil},
		{"weight times confidence", Consensus{Weighting: WeightGivenConfidence}, conf(weight(votesOf("b", "a"), 1, 3), 0.9, 0.5), "a", true, 1.5 / 2.4, nil},
		{"normaliser merges spellings", Consensus{Normalize: func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }},
			votesOf("Paris", " paris", "Rome"), "paris", true, 2.0 / 3, nil},
		{"all abstain", Consensus{}, votesOf("", ""), "", false, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.c.Decide(tc.votes)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if d.Answer != tc.answer || d.Reached != tc.reached || math.Abs(d.Agreement-tc.agreement) > 1e-12 {
				t.Errorf("got answer %q reached %v agreement %v; want %q %v %v", d.Answer, d.Reached, d.Agreement, tc.answer, tc.reached, tc.agreement)
			}
			if d.Voters != len(tc.votes) || d.Overhead != (Overhead{Rounds: 1, Messages: len(tc.votes)}) {
				t.Errorf("voters %d overhead %+v", d.Voters, d.Overhead)
			}
		})
	}
}

func TestConsensusTallyAndConfidence(t *testing.T) {
	vs := votesOf("x", "y", "x", "z", "y", "x")
	for i := range vs {
		vs[i].Confidence = float64(i+1) / 10
	}
	d, err := Consensus{}.Decide(vs)
	if err != nil {
		t.Fatal(err)
	}
	want := []Option{{"x", 3, 3, (0.1 + 0.3 + 0.6) / 3}, {"y", 2, 2, (0.2 + 0.5) / 2}, {"z", 1, 1, 0.4}}
	if len(d.Tally) != len(want) {
		t.Fatalf("tally %+v", d.Tally)
	}
	for k := range want {
		g := d.Tally[k]
		if g.Answer != want[k].Answer || g.Votes != want[k].Votes || g.Support != want[k].Support || math.Abs(g.Confidence-want[k].Confidence) > 1e-12 {
			t.Errorf("tally[%d] = %+v, want %+v", k, g, want[k])
		}
	}
	if math.Abs(d.Confidence-want[0].Confidence) > 1e-12 {
		t.Errorf("confidence %v", d.Confidence)
	}
}

// randomVotes draws n votes over k answers (some abstaining) with random
// confidences and weights; equal weights and confidences are common, so
// tie-breaking is exercised.
func randomVotes(rng *rand.Rand, n, k int) []Vote {
	vs := make([]Vote, n)
	for i := range vs {
		a := ""
		if rng.IntN(10) > 0 {
			a = string(rune('A' + rng.IntN(k)))
		}
		vs[i] = Vote{Agent: "agent" + string(rune('0'+i%10)) + string(rune('a'+i/10)), Answer: a,
			Confidence: float64(rng.IntN(5)) / 4, Weight: float64(rng.IntN(4)) + rng.Float64()*float64(rng.IntN(2))}
	}
	return vs
}

func randomConsensus(rng *rand.Rand) Consensus {
	rules := []Rule{Majority, Supermajority, Unanimity}
	fbs := []Fallback{FallbackLeader, FallbackMostConfident, FallbackNone}
	ws := []Weighting{WeightEqual, WeightGiven, WeightConfidence, WeightGivenConfidence}
	c := Consensus{Rule: rules[rng.IntN(3)], Fallback: fbs[rng.IntN(3)], Weighting: ws[rng.IntN(4)]}
	if rng.IntN(2) == 0 {
		c.MaxShare = 0.05 + 0.5*rng.Float64()
	}
	if c.Rule == Supermajority {
		c.Threshold = 0.55 + 0.45*rng.Float64()
	}
	return c
}

// Consensus results must not depend on the order agents are listed in.
func TestConsensusOrderInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for inst := 0; inst < 2000; inst++ {
		vs := randomVotes(rng, 1+rng.IntN(40), 1+rng.IntN(5))
		c := randomConsensus(rng)
		want, werr := c.Decide(vs)
		for s := 0; s < 3; s++ {
			shuffled := append([]Vote(nil), vs...)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got, err := c.Decide(shuffled)
			if err != werr || got.Answer != want.Answer || got.Reached != want.Reached ||
				math.Abs(got.Agreement-want.Agreement) > 1e-9 || len(got.Tally) != len(want.Tally) {
				t.Fatalf("instance %d (%+v): order changed the decision: %+v (%v) vs %+v (%v)", inst, c, got, err, want, werr)
			}
			for k := range got.Tally {
				if got.Tally[k].Answer != want.Tally[k].Answer || got.Tally[k].Votes != want.Tally[k].Votes {
					t.Fatalf("instance %d: tally order changed: %+v vs %+v", inst, got.Tally, want.Tally)
				}
			}
		}
	}
}

func TestCapShares(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for inst := 0; inst < 3000; inst++ {
		n := 1 + rng.IntN(30)
		w := make([]float64, n)
		for i := range w {
			if rng.IntN(5) > 0 {
				w[i] = math.Exp(3 * rng.NormFloat64())
			}
		}
		orig := append([]float64(nil), w...)
		s := 0.01 + 0.98*rng.Float64()
		capShares(w, s)
		m, total := 0, 0.0
		for i := range w {
			if orig[i] > 0 {
				m++
			}
			total += w[i]
			if (orig[i] == 0) != (w[i] == 0) {
				t.Fatalf("zero weights must stay zero and only they: %v -> %v", orig, w)
			}
		}
		if m == 0 {
			continue
		}
		if float64(m)*s <= 1 {
			for i := range w {
				if orig[i] > 0 && w[i] != 1 {
					t.Fatalf("infeasible cap %v over %d agents must equalise: %v", s, m, w)
				}
			}
			continue
		}
		for i := range w {
			if w[i]/total > s*(1+1e-9) {
				t.Fatalf("share %v above cap %v: %v -> %v", w[i]/total, s, orig, w)
			}
			if w[i] > orig[i]*(1+1e-12) {
				t.Fatalf("a weight rose: %v -> %v", orig, w)
			}
			for j := range w {
				if orig[i] < orig[j] && w[i] > w[j]*(1+1e-12) {
					t.Fatalf("capping reordered weights: %v -> %v", orig, w)
				}
			}
		}
	}
}

func TestConsensusErrors(t *testing.T) {
	ok := votesOf("a")
	for _, tc := range []struct {
		name  string
		c     Consensus
		votes []Vote
		field string
	}{
		{"bad rule", Consensus{Rule: "plurality?"}, ok, "Rule"},
		{"bad fallback", Consensus{Fallback: "coin"}, ok, "Fallback"},
		{"bad weighting", Consensus{Weighting: "x"}, ok, "Weighting"},
		{"threshold at half", Consensus{Rule: Supermajority, Threshold: 0.5}, ok, "Threshold"},
		{"cap above 1", Consensus{MaxShare: 1.5}, ok, "MaxShare"},
		{"confidence above 1", Consensus{}, []Vote{{Agent: "x", Answer: "a", Confidence: 1.2}}, "votes[0].Confidence"},
		{"NaN confidence", Consensus{}, []Vote{{Agent: "x", Answer: "a", Confidence: math.NaN()}}, "votes[0].Confidence"},
		{"negative weight", Consensus{}, []Vote{{Agent: "x", Answer: "a", Weight: -1}}, "votes[0].Weight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Decide(tc.votes)
			var ie *InputError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &ie) || ie.Field != tc.field {
				t.Fatalf("err = %v, want an *InputError on %s", err, tc.field)
			}
		})
	}
	_, err := Consensus{}.Decide([]Vote{{Agent: "x", Answer: "a", Confidence: 2}})
	if want := `coordination: invalid votes[0].Confidence (agent "x"): must be in [0, 1]`; err == nil || err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if _, err := (Consensus{}).Decide(nil); !errors.Is(err, ErrNoVotes) {
		t.Errorf("no votes: %v", err)
	}
}

// DecideInto with a reused Decision and no Observer must not allocate:
// the team calls it once per example.
func TestDecideIntoAllocs(t *testing.T) {
	vs := randomVotes(rand.New(rand.NewPCG(5, 6)), 100, 5)
	c := Consensus{Rule: Supermajority, Weighting: WeightGivenConfidence, MaxShare: 0.05}
	var d Decision
	allocs := testing.AllocsPerRun(100, func() {
		if err := c.DecideInto(vs, &d); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("DecideInto allocates %v times per call", allocs)
	}
}

func TestRefine(t *testing.T) {
	// Each round, the first dissenter listed joins the leader.
	start := votesOf("a", "a", "b", "c", "d")
	var seen []float64
	reask := func(vs []Vote) Reask {
		return func(_ context.Context, round int, cur Decision) ([]Vote, error) {
			seen = append(seen, cur.Agreement)
			for i := range vs {
				if vs[i].Answer != cur.Answer {
					vs[i].Answer = cur.Answer
					break
				}
			}
			return vs, nil
		}
	}
	t.Run("stops at target", func(t *testing.T) {
		seen = nil
		vs := append([]Vote(nil), start...)
		d, err := Consensus{Target: 0.8, MaxRounds: 10}.Refine(context.Background(), vs, reask(vs))
		if err != nil {
			t.Fatal(err)
		}
		// 2/5 -> 3/5 -> 4/5: three tallies.
		if d.Answer != "a" || d.Overhead.Rounds != 3 || math.Abs(d.Agreement-0.8) > 1e-12 || len(seen) != 2 {
			t.Errorf("got %+v after tallies with agreement %v", d, seen)
		}
		if d.Overhead.Messages != 3*5+2*5 {
			t.Errorf("messages %d, want 25 (15 votes, 10 announcements)", d.Overhead.Messages)
		}
	})
	t.Run("default target is the rule", func(t *testing.T) {
		vs := append([]Vote(nil), start...)
		d, err := Consensus{}.Refine(context.Background(), vs, reask(vs))
		if err != nil || !d.Reached || d.Overhead.Rounds != 2 {
			t.Errorf("got %+v, %v; want a strict majority after 2 tallies", d, err)
		}
	})
	t.Run("stops at max rounds", func(t *testing.T) {
		vs := append([]Vote(nil), start...)
		d, err := Consensus{Rule: Unanimity, Fallback: FallbackNone, MaxRounds: 2}.Refine(context.Background(), vs, reask(vs))
		if !errors.Is(err, ErrNoConsensus) || d.Overhead.Rounds != 2 {
			t.Errorf("got %+v, %v; want ErrNoConsensus after 2 tallies", d, err)
		}
	})
	t.Run("reask error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := Consensus{}.Refine(context.Background(), start, func(context.Context, int, Decision) ([]Vote, error) { return nil, boom })
		if !errors.Is(err, boom) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Consensus{}.Refine(ctx, start, func(context.Context, int, Decision) ([]Vote, error) {
			t.Error("reask called after cancel")
			return nil, nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestAccuracyWeight(t *testing.T) {
	if w := AccuracyWeight(5, 10, 2); w != 0 {
		t.Errorf("chance accuracy weighs %v, want 0", w)
	}
	if w := AccuracyWeight(0, 10, 2); w != 0 {
		t.Errorf("below chance weighs %v, want 0", w)
	}
	prev := 0.0
	for c := 6; c <= 10; c++ {
		w := AccuracyWeight(c, 10, 2)
		if w <= prev {
			t.Errorf("weight not increasing in accuracy at %d/10: %v <= %v", c, w, prev)
		}
		prev = w
	}
	// With 4 choices, 40% is better than chance (25%).
	if AccuracyWeight(4, 10, 4) <= 0 {
		t.Error("40% of 4-way questions should weigh > 0")
	}
}
