package coordination

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

// reportMicros reports the mean time per operation in µs, the unit the
// package's targets are stated in.
func reportMicros(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N), "µs/op")
}

// BenchmarkConsensus decides among 100 agents over 5 answers (target: under
// 50 µs).
func BenchmarkConsensus(b *testing.B) {
	vs := randomVotes(rand.New(rand.NewPCG(1, 1)), 100, 5)
	for _, tc := range []struct {
		name string
		c    Consensus
	}{
		{"majority", Consensus{}},
		{"supermajority", Consensus{Rule: Supermajority, Fallback: FallbackMostConfident}},
		{"weighted-capped", Consensus{Weighting: WeightGivenConfidence, MaxShare: 0.05}},
	} {
		b.Run(tc.name+"/agents=100", func(b *testing.B) {
			var d Decision
			for b.Loop() {
				if err := tc.c.DecideInto(vs, &d); err != nil {
					b.Fatal(err)
				}
			}
			reportMicros(b)
		})
	}
}

// BenchmarkSealedBid runs a 100-bidder sealed-bid auction (target: under
// 50 µs).
func BenchmarkSealedBid(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	bids := make([]Bid, 100)
	for i := range bids {
		bids[i] = Bid{Bidder: "agent-" + strconv.Itoa(i), Amount: rng.Float64()}
	}
	for _, tc := range []struct {
		name string
		a    SealedBid
	}{
		{"vickrey", SealedBid{Pricing: SecondPrice, Reserve: 0.1}},
		{"first-price", SealedBid{Reserve: 0.1}},
		{"vickrey-5-units", SealedBid{Pricing: SecondPrice, Units: 5}},
	} {
		b.Run(tc.name+"/bidders=100", func(b *testing.B) {
			for b.Loop() {
				if _, err := tc.a.Run(bids); err != nil {
					b.Fatal(err)
				}
			}
			reportMicros(b)
		})
	}
}

// BenchmarkHierarchy decides among 1,000 agents under coordinators of 10
// (target: under 1 ms).
func BenchmarkHierarchy(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		vs := randomVotes(rand.New(rand.NewPCG(3, 3)), n, 4)
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			h := Hierarchy{FanOut: 10}
			var d HierarchyDecision
			for b.Loop() {
				var err error
				if d, err = h.Decide(vs); err != nil {
					b.Fatal(err)
				}
			}
			reportMicros(b)
			b.ReportMetric(float64(d.Levels), "rounds")
		})
	}
}

// BenchmarkCombinatorial solves winner determination exactly (target:
// under 10 ms for 20 bids), with and without VCG payments, each op a fresh
// instance from a fixed list: random bids (1–4 of 12 items, amounts
// unrelated to size) and hard ones (1–6 of 64 items, amounts nearly
// proportional to size, so the bound prunes little).
func BenchmarkCombinatorial(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	hard := func(n int) []BundleBid {
		bids := make([]BundleBid, n)
		for i := range bids {
			items := make([]string, 1+rng.IntN(6))
			for j := range items {
				items[j] = strconv.Itoa(rng.IntN(64))
			}
			bids[i] = BundleBid{Bidder: strconv.Itoa(i), Items: items, Amount: float64(len(items)) * (1 + 0.1*rng.Float64())}
		}
		return bids
	}
	for _, size := range []struct {
		name string
		gen  func() []BundleBid
	}{
		{"random/bids=20", func() []BundleBid { return randomBundles(rng, 20, 12, 8) }},
		{"hard/bids=20", func() []BundleBid { return hard(20) }},
		{"hard/bids=32", func() []BundleBid { return hard(32) }},
	} {
		instances := make([][]BundleBid, 32)
		for k := range instances {
			instances[k] = size.gen()
		}
		for _, vcg := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/vcg=%v", size.name, vcg), func(b *testing.B) {
				c := Combinatorial{VCG: vcg}
				nodes, k := 0, 0
				for b.Loop() {
					out, err := c.Run(instances[k%len(instances)])
					if err != nil || !out.Exact {
						b.Fatal(err, out.Exact)
					}
					nodes += out.Nodes
					k++
				}
				reportMicros(b)
				b.ReportMetric(float64(nodes)/float64(k), "nodes/op")
			})
		}
	}
}

// BenchmarkCallMarket clears 100 orders.
func BenchmarkCallMarket(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	orders := make([]Order, 100)
	for i := range orders {
		orders[i] = Order{Agent: "agent-" + strconv.Itoa(i), Side: Side(1 + i%2), Quantity: 1 + 9*rng.Float64(), Price: rng.Float64()}
	}
	for b.Loop() {
		if _, err := (CallMarket{}).Clear(orders); err != nil {
			b.Fatal(err)
		}
	}
	reportMicros(b)
}
