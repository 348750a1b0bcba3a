package coordination

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func bidsOf(amounts ...float64) []Bid {
	bs := make([]Bid, len(amounts))
	for i, a := range amounts {
		bs[i] = Bid{Bidder: "b" + strconv.Itoa(i), Amount: a}
	}
	return bs
}

func TestSealedBid(t *testing.T) {
	type award struct {
		bidder string
		price  float64
	}
	for _, tc := range []struct {
		name string
		a    SealedBid
		bids []Bid
		want []award
	}{
		{"first price", SealedBid{}, bidsOf(3, 9, 5), []award{{"b1", 9}}},
		{"vickrey", SealedBid{Pricing: SecondPrice}, bidsOf(3, 9, 5), []award{{"b1", 5}}},
		{"vickrey single bidder pays reserve", SealedBid{Pricing: SecondPrice, Reserve: 2}, bidsOf(9), []award{{"b0", 2}}},
		{"vickrey reserve above second bid", SealedBid{Pricing: SecondPrice, Reserve: 6}, bidsOf(3, 9, 5), []award{{"b1", 6}}},
		{"reserve rejects every bid", SealedBid{Reserve: 10}, bidsOf(3, 9, 5), nil},
		{"bid equal to reserve is valid", SealedBid{Reserve: 9}, bidsOf(3, 9), []award{{"b1", 9}}},
		{"tie goes to the smaller bidder id", SealedBid{Pricing: SecondPrice}, []Bid{{"zed", 7}, {"amy", 7}, {"bob", 1}}, []award{{"amy", 7}}},
		{"two units, uniform third price", SealedBid{Pricing: SecondPrice, Units: 2}, bidsOf(3, 9, 5, 8), []award{{"b1", 5}, {"b3", 5}}},
		{"two units, pay as bid", SealedBid{Units: 2}, bidsOf(3, 9, 5, 8), []award{{"b1", 9}, {"b3", 8}}},
		{"more units than bidders", SealedBid{Pricing: SecondPrice, Units: 5, Reserve: 1}, bidsOf(3, 9), []award{{"b1", 1}, {"b0", 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.a.Run(tc.bids)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Awards) != len(tc.want) {
				t.Fatalf("awards %+v, want %v", out.Awards, tc.want)
			}
			for k, w := range tc.want {
				if a := out.Awards[k]; a.Bidder != w.bidder || a.Price != w.price || tc.bids[a.Index].Bidder != w.bidder {
					t.Errorf("award %d = %+v, want %v", k, a, w)
				}
			}
			if out.Overhead != (Overhead{Rounds: 1, Messages: len(tc.bids), Bids: len(tc.bids)}) {
				t.Errorf("overhead %+v", out.Overhead)
			}
		})
	}
}

// vickreyUtility is bidder 0's utility (value minus price if it wins) when
// it bids b against others.
func vickreyUtility(t *testing.T, a SealedBid, value, b float64, others []Bid) float64 {
	bids := append([]Bid{{Bidder: "me", Amount: b}}, others...)
	out, err := a.Run(bids)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range out.Awards {
		if w.Index == 0 {
			return value - w.Price
		}
	}
	return 0
}

// Truthful bidding is a dominant strategy in a Vickrey auction: no
// deviation raises a bidder's utility, whatever the others bid.
func TestVickreyTruthfulDominant(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for inst := 0; inst < 3000; inst++ {
		a := SealedBid{Pricing: SecondPrice, Units: 1 + rng.IntN(2)}
		if rng.IntN(2) == 0 {
			a.Reserve = float64(rng.IntN(5))
		}
		value := float64(rng.IntN(10)) + rng.Float64()*float64(rng.IntN(2)) // ties are common
		others := make([]Bid, 1+rng.IntN(6))
		for i := range others {
			others[i] = Bid{Bidder: string(rune('a' + rng.IntN(26))), Amount: float64(rng.IntN(10))}
		}
		truth := vickreyUtility(t, a, value, value, others)
		deviations := []float64{0, value / 2, value + 1, 2*value + 10, a.Reserve}
		for _, o := range others {
			deviations = append(deviations, o.Amount, o.Amount+1e-9, math.Max(o.Amount-1e-9, 0))
		}
		for _, d := range deviations {
			if u := vickreyUtility(t, a, value, d, others); u > truth+1e-12 {
				t.Fatalf("instance %d: value %v, bidding %v gains %v over truthful %v (others %v, %+v)",
					inst, value, d, u, truth, others, a)
			}
		}
	}
}

// Winners never pay above their bid, prices never fall below the reserve,
// the highest bids win, and an item sells when anyone meets the reserve.
func TestAuctionsPriceBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for inst := 0; inst < 2000; inst++ {
		bids := make([]Bid, 1+rng.IntN(12))
		top := 0.0
		for i := range bids {
			bids[i] = Bid{Bidder: "b" + strconv.Itoa(rng.IntN(20)), Amount: math.Round(rng.Float64()*1000) / 10}
			top = math.Max(top, bids[i].Amount)
		}
		reserve := 0.0
		if rng.IntN(2) == 0 {
			reserve = rng.Float64() * 100
		}
		type run struct {
			name string
			f    func() (Outcome, error)
			// sells reports whether the item must sell.
			sells bool
		}
		runs := []run{
			{"first-price", func() (Outcome, error) { return SealedBid{Reserve: reserve, Units: 1 + rng.IntN(3)}.Run(bids) }, top >= reserve},
			{"vickrey", func() (Outcome, error) {
				return SealedBid{Pricing: SecondPrice, Reserve: reserve, Units: 1 + rng.IntN(3)}.Run(bids)
			}, top >= reserve},
			{"english", func() (Outcome, error) {
				return English{Reserve: reserve, Increment: 0.5 + rng.Float64()*5}.Run(bids)
			}, top >= reserve},
			{"dutch", func() (Outcome, error) {
				return Dutch{Start: 150, Decrement: 0.5 + rng.Float64()*5, Reserve: reserve}.Run(bids)
			}, top >= reserve},
		}
		for _, r := range runs {
			out, err := r.f()
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if sold := len(out.Awards) > 0; sold != r.sells {
				t.Fatalf("%s instance %d: sold=%v, top bid %v reserve %v", r.name, inst, sold, top, reserve)
			}
			for _, w := range out.Awards {
				if w.Price > w.Bid+1e-9 {
					t.Fatalf("%s: winner pays %v above its bid %v", r.name, w.Price, w.Bid)
				}
				if w.Price < reserve-1e-9 {
					t.Fatalf("%s: price %v below reserve %v", r.name, w.Price, reserve)
				}
				if w.Bid != bids[w.Index].Amount || w.Bidder != bids[w.Index].Bidder {
					t.Fatalf("%s: award %+v does not match its bid", r.name, w)
				}
			}
			if w, ok := out.Winner(); ok && r.name != "dutch" && w.Bid != top {
				t.Fatalf("%s: winner bid %v, top bid %v", r.name, w.Bid, top)
			}
		}
	}
}

func TestEnglish(t *testing.T) {
	out, err := English{Increment: 1}.Run(bidsOf(10, 7, 3))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := out.Winner()
	if w.Bidder != "b0" || w.Price != 8 {
		t.Errorf("winner %+v, want b0 at 8 (second value plus one increment)", w)
	}
	// Prices 0..8: 9 rounds; bidders active: 3 at 0..3, 2 at 4..7, 1 at 8.
	stays := 3*4 + 2*4 + 1
	announced := 3 + 3*4 + 2*4 // everyone the opening price, then last round's stayers
	if out.Overhead != (Overhead{Rounds: 9, Messages: stays + announced, Bids: stays}) {
		t.Errorf("overhead %+v", out.Overhead)
	}

	out, _ = English{Increment: 1}.Run([]Bid{{"zed", 5}, {"amy", 5}})
	if w, _ := out.Winner(); w.Bidder != "amy" || w.Price != 5 {
		t.Errorf("simultaneous drop-out: %+v, want amy at 5", w)
	}
	out, _ = English{Start: 20, Reserve: 3}.Run(bidsOf(10, 7))
	if _, ok := out.Winner(); ok {
		t.Error("nobody meets the opening price: must not sell")
	}
	if _, err := (English{Increment: 1e-6, MaxRounds: 100}).Run(bidsOf(10, 9)); !errors.Is(err, ErrRoundLimit) {
		t.Errorf("err = %v, want ErrRoundLimit", err)
	}
}

func TestDutch(t *testing.T) {
	out, err := Dutch{Start: 10, Decrement: 1}.Run(bidsOf(4, 6.5))
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := out.Winner(); w.Bidder != "b1" || w.Price != 6 || out.Overhead.Rounds != 5 {
		t.Errorf("got %+v, want b1 at 6 after 5 rounds", out)
	}
	out, _ = Dutch{Start: 10, Decrement: 4, Reserve: 3}.Run(bidsOf(3.5))
	if w, _ := out.Winner(); w.Price != 3 {
		t.Errorf("the reserve itself must be offered: %+v", out)
	}
	out, _ = Dutch{Start: 10, Reserve: 3}.Run(bidsOf(2.9))
	if _, ok := out.Winner(); ok {
		t.Error("sold below the reserve")
	}
	if _, err := (Dutch{}).Run(bidsOf(1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("Dutch without Start: %v", err)
	}
}

func TestAuctionErrors(t *testing.T) {
	if _, err := (SealedBid{}).Run(nil); !errors.Is(err, ErrNoBids) {
		t.Errorf("no bids: %v", err)
	}
	for _, a := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := (SealedBid{}).Run(bidsOf(1, a)); !errors.Is(err, ErrInvalid) {
			t.Errorf("bid %v: %v", a, err)
		}
	}
	if _, err := (SealedBid{Pricing: "third"}).Run(bidsOf(1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad pricing: %v", err)
	}
	if _, err := (SealedBid{Reserve: -1}).Run(bidsOf(1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad reserve: %v", err)
	}
	if _, err := (English{Increment: -1}).Run(bidsOf(1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad increment: %v", err)
	}
}
