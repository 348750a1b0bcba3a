package coordination

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// randomBundles draws n bundle bids over m items from nb bidders.
func randomBundles(rng *rand.Rand, n, m, nb int) []BundleBid {
	bids := make([]BundleBid, n)
	for i := range bids {
		size := 1 + rng.IntN(min(4, m))
		items := make([]string, size)
		for k := range items {
			items[k] = "item" + strconv.Itoa(rng.IntN(m))
		}
		amount := math.Round(rng.Float64()*100*float64(size)) / 10
		if rng.IntN(10) == 0 {
			amount = 0
		}
		bids[i] = BundleBid{Bidder: "bidder" + strconv.Itoa(rng.IntN(nb)), Items: items, Amount: amount}
	}
	return bids
}

// bruteForce returns the best total amount of a set of non-overlapping
// bids, skipping the bids of bidder skip.
func bruteForce(bids []BundleBid, skip string) float64 {
	best := 0.0
	for set := 0; set < 1<<len(bids); set++ {
		used := map[string]bool{}
		total, ok := 0.0, true
		for i := 0; i < len(bids) && ok; i++ {
			if set&(1<<i) == 0 {
				continue
			}
			if bids[i].Bidder == skip {
				ok = false
				break
			}
			seen := map[string]bool{}
			for _, it := range bids[i].Items {
				if used[it] && !seen[it] {
					ok = false
				}
				seen[it] = true
			}
			for it := range seen {
				used[it] = true
			}
			total += bids[i].Amount
		}
		if ok && total > best {
			best = total
		}
	}
	return best
}

func checkFeasible(t *testing.T, bids []BundleBid, out CombinatorialOutcome) {
	t.Helper()
	owner := map[string]int{}
	sum := 0.0
	for k, a := range out.Awards {
		if k > 0 && out.Awards[k-1].Index >= a.Index {
			t.Fatalf("awards not in input order: %+v", out.Awards)
		}
		if a.Amount != bids[a.Index].Amount || a.Bidder != bids[a.Index].Bidder {
			t.Fatalf("award %+v does not match bid %+v", a, bids[a.Index])
		}
		for _, it := range a.Items {
			if j, ok := owner[it]; ok && j != a.Index {
				t.Fatalf("item %s sold twice (bids %d and %d)", it, j, a.Index)
			}
			owner[it] = a.Index
		}
		if a.Payment < -1e-9 || a.Payment > a.Amount+1e-9 {
			t.Fatalf("payment %v outside [0, %v]", a.Payment, a.Amount)
		}
		sum += a.Amount
	}
	if math.Abs(sum-out.Value) > 1e-9*math.Max(1, sum) {
		t.Fatalf("Value %v, awards sum to %v", out.Value, sum)
	}
}

// The exact winner set is feasible and as valuable as brute force finds,
// and VCG payments equal their definition computed by brute force.
func TestCombinatorialMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	instances := 400
	if testing.Short() {
		instances = 100
	}
	for inst := 0; inst < instances; inst++ {
		bids := randomBundles(rng, 1+rng.IntN(12), 1+rng.IntN(8), 1+rng.IntN(6))
		out, err := Combinatorial{VCG: true}.Run(bids)
		if err != nil {
			t.Fatal(err)
		}
		checkFeasible(t, bids, out)
		want := bruteForce(bids, "\x00")
		if !out.Exact || math.Abs(out.Value-want) > 1e-9*math.Max(1, want) {
			t.Fatalf("instance %d: value %v (exact %v), brute force %v; bids %+v", inst, out.Value, out.Exact, want, bids)
		}
		// VCG: bidder pays welfare of others without it minus with it.
		paid := map[string]float64{}
		won := map[string]float64{}
		for _, a := range out.Awards {
			paid[a.Bidder] += a.Payment
			won[a.Bidder] += a.Amount
		}
		for b, p := range paid {
			vcg := bruteForce(bids, b) - (out.Value - won[b])
			if math.Abs(p-vcg) > 1e-6 {
				t.Fatalf("instance %d: bidder %s pays %v, VCG %v", inst, b, p, vcg)
			}
		}
	}
}

// With single-minded bidders, VCG over exact winner determination makes
// truthful bidding dominant.
func TestCombinatorialVCGTruthful(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	utility := func(bids []BundleBid, value float64) float64 {
		out, err := Combinatorial{VCG: true}.Run(bids)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.Awards {
			if a.Index == 0 {
				return value - a.Payment
			}
		}
		return 0
	}
	for inst := 0; inst < 300; inst++ {
		bids := randomBundles(rng, 2+rng.IntN(9), 2+rng.IntN(6), 1000)
		for i := range bids {
			bids[i].Bidder = "b" + strconv.Itoa(i)
		}
		value := bids[0].Amount
		truth := utility(bids, value)
		for _, d := range []float64{0, value / 2, value * 2, value + 5, rng.Float64() * 40} {
			bids[0].Amount = d
			if u := utility(bids, value); u > truth+1e-9 {
				t.Fatalf("instance %d: bidding %v instead of %v gains %v > %v", inst, d, value, u, truth)
			}
		}
	}
}

func TestCombinatorialVCGExample(t *testing.T) {
	bids := []BundleBid{
		{Bidder: "x", Items: []string{"A", "B"}, Amount: 10},
		{Bidder: "y", Items: []string{"A"}, Amount: 6},
		{Bidder: "z", Items: []string{"B"}, Amount: 7},
	}
	out, err := Combinatorial{VCG: true}.Run(bids)
	if err != nil {
		t.Fatal(err)
	}
	// y and z win (13 > 10); y pays 10−7 = 3, z pays 10−6 = 4.
	if len(out.Awards) != 2 || out.Value != 13 || out.Awards[0].Payment != 3 || out.Awards[1].Payment != 4 {
		t.Errorf("got %+v", out)
	}
	out, _ = Combinatorial{}.Run(bids)
	if out.Awards[0].Payment != 6 || out.Awards[1].Payment != 7 {
		t.Errorf("pay-as-bid: %+v", out.Awards)
	}
}

// Beyond ExactLimit, or when the node budget runs out, the result is still
// feasible, marked inexact, and no worse than greedy.
func TestCombinatorialApproximate(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for inst := 0; inst < 50; inst++ {
		bids := randomBundles(rng, 45+rng.IntN(30), 20, 10)
		greedy, err := Combinatorial{}.Run(bids)
		if err != nil {
			t.Fatal(err)
		}
		checkFeasible(t, bids, greedy)
		if greedy.Exact {
			t.Fatal("more bids than ExactLimit must use the greedy rule")
		}
		exact, err := Combinatorial{ExactLimit: 1000}.Run(bids[:24])
		if err != nil {
			t.Fatal(err)
		}
		small, _ := Combinatorial{ExactLimit: -1}.Run(bids[:24])
		checkFeasible(t, bids[:24], small)
		if small.Exact || small.Value > exact.Value+1e-9 {
			t.Fatalf("greedy %v (exact %v) vs optimum %v", small.Value, small.Exact, exact.Value)
		}
		capped, _ := Combinatorial{ExactLimit: 1000, MaxNodes: 5}.Run(bids[:24])
		checkFeasible(t, bids[:24], capped)
		if capped.Exact && capped.Value != exact.Value {
			t.Fatal("a capped search claimed exactness with a worse value")
		}
		if capped.Value < small.Value-1e-9 {
			t.Fatalf("capped search %v worse than greedy %v", capped.Value, small.Value)
		}
	}
}

func TestCombinatorialErrors(t *testing.T) {
	if _, err := (Combinatorial{}).Run(nil); !errors.Is(err, ErrNoBids) {
		t.Errorf("no bids: %v", err)
	}
	if _, err := (Combinatorial{}).Run([]BundleBid{{Bidder: "x", Amount: 1}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty bundle: %v", err)
	}
	if _, err := (Combinatorial{}).Run([]BundleBid{{Bidder: "x", Items: []string{"a"}, Amount: -1}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative amount: %v", err)
	}
	out, err := Combinatorial{}.Run([]BundleBid{{Bidder: "x", Items: []string{"a"}}})
	if err != nil || len(out.Awards) != 0 || !out.Exact {
		t.Errorf("zero bids only: %+v, %v", out, err)
	}
}
