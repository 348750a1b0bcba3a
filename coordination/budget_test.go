package coordination

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func TestBudgetSplit(t *testing.T) {
	three := func(v0, v1, v2 float64, d0, d1, d2 int) []BudgetRequest {
		return []BudgetRequest{{"a", v0, d0}, {"b", v1, d1}, {"c", v2, d2}}
	}
	for _, tc := range []struct {
		name   string
		method BudgetMethod
		total  int
		reqs   []BudgetRequest
		tokens []int
		price  float64
		paid   []float64
	}{
		{"equal, odd tokens to the first", "", 100, three(0, 0, 0, 0, 0, 0), []int{34, 33, 33}, 0, nil},
		{"equal, capped demand re-shared", SplitEqual, 100, three(0, 0, 0, 10, 0, 0), []int{10, 45, 45}, 0, nil},
		{"equal, everyone capped", SplitEqual, 100, three(0, 0, 0, 10, 20, 30), []int{10, 20, 30}, 0, nil},
		{"auction, highest value first", SplitAuction, 100, three(0.9, 0.5, 0.7, 50, 0, 30), []int{50, 20, 30}, 0.5, []float64{25, 10, 15}},
		{"auction, equal bids share", SplitAuction, 9, three(0.5, 0.5, 0.1, 0, 0, 0), []int{5, 4, 0}, 0.5, []float64{2.5, 2, 0}},
		{"auction, all served", SplitAuction, 100, three(0.9, 0.5, 0.7, 10, 10, 10), []int{10, 10, 10}, 0, []float64{0, 0, 0}},
		// Endowed 30 each, a buys 60; b (0.1) and c (0.5) sell theirs; the
		// price lies between c's value and a's.
		{"market, tokens flow to value", SplitMarket, 90, three(0.9, 0.1, 0.5, 0, 0, 0), []int{90, 0, 0}, 0.7, []float64{42, -21, -21}},
		// Tokens beyond demand are offered at 0: a buys its missing 10 free
		// from b, and c's spare 10 stay unallocated.
		{"market, tokens beyond demand are free", SplitMarket, 90, three(0.9, 0.1, 0.5, 40, 10, 20), []int{40, 10, 20}, 0, []float64{0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Budget{Method: tc.method}.Split(tc.total, tc.reqs)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.Tokens, tc.tokens) || math.Abs(out.Price-tc.price) > 1e-12 {
				t.Errorf("tokens %v at %v, want %v at %v", out.Tokens, out.Price, tc.tokens, tc.price)
			}
			if len(out.Paid) != len(tc.paid) {
				t.Fatalf("paid %v, want %v", out.Paid, tc.paid)
			}
			for i := range tc.paid {
				if math.Abs(out.Paid[i]-tc.paid[i]) > 1e-9 {
					t.Errorf("paid %v, want %v", out.Paid, tc.paid)
				}
			}
		})
	}
}

// Every split gives no agent more than its demand, spends no more than the
// budget, leaves nothing unallocated that someone could use, and under the
// market pays sellers what buyers pay.
func TestBudgetBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for inst := 0; inst < 2000; inst++ {
		reqs := make([]BudgetRequest, 1+rng.IntN(12))
		for i := range reqs {
			reqs[i] = BudgetRequest{Agent: strconv.Itoa(i), Value: float64(rng.IntN(5)) / 4, Demand: rng.IntN(3) * rng.IntN(400)}
		}
		total := rng.IntN(2000)
		unlimited := false
		room := 0
		for _, r := range reqs {
			if r.Demand == 0 {
				unlimited = true
			}
			room += r.Demand
		}
		for _, m := range []BudgetMethod{SplitEqual, SplitAuction, SplitMarket} {
			out, err := Budget{Method: m}.Split(total, reqs)
			if err != nil {
				t.Fatal(err)
			}
			sum := 0
			for i, tk := range out.Tokens {
				if tk < 0 || (reqs[i].Demand > 0 && tk > reqs[i].Demand) {
					t.Fatalf("%s: agent %d gets %d for demand %d", m, i, tk, reqs[i].Demand)
				}
				sum += tk
			}
			if sum+out.Unallocated != total || out.Unallocated < 0 {
				t.Fatalf("%s: %d allocated + %d unallocated != %d", m, sum, out.Unallocated, total)
			}
			if want := total; !unlimited && room < total {
				want = room
				if sum != want {
					t.Fatalf("%s: allocated %d, could allocate %d", m, sum, want)
				}
			} else if sum != want {
				t.Fatalf("%s: allocated %d of %d with demand to spare: %+v -> %+v", m, sum, want, reqs, out)
			}
			if m == SplitMarket {
				net := 0.0
				for _, p := range out.Paid {
					net += p
				}
				if math.Abs(net) > 1e-6 {
					t.Fatalf("market payments do not balance: %v", out.Paid)
				}
			}
		}
	}
}

func TestBudgetErrors(t *testing.T) {
	ok := []BudgetRequest{{Agent: "a", Value: 1}}
	if _, err := (Budget{Method: "lottery"}).Split(10, ok); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad method: %v", err)
	}
	if _, err := (Budget{}).Split(-1, ok); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative total: %v", err)
	}
	if _, err := (Budget{}).Split(10, []BudgetRequest{{Value: -1}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative value: %v", err)
	}
	if _, err := (Budget{}).Split(10, nil); !errors.Is(err, ErrNoBids) {
		t.Errorf("no agents: %v", err)
	}
}
