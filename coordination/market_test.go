package coordination

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestCallMarketExample(t *testing.T) {
	orders := []Order{
		{Agent: "b1", Side: Buy, Quantity: 10, Price: 5},
		{Agent: "b2", Side: Buy, Quantity: 5, Price: 4},
		{Agent: "s1", Side: Sell, Quantity: 4, Price: 3},
		{Agent: "s2", Side: Sell, Quantity: 10, Price: 4.5},
	}
	cl, err := CallMarket{}.Clear(orders)
	if err != nil {
		t.Fatal(err)
	}
	// b1 buys 4 from s1 and 6 from s2; s2 is partly filled, so the price is
	// its limit 4.5 and b2 (limit 4) is rightly left out.
	want := []float64{10, 0, 4, 6}
	for i := range want {
		if cl.Filled[i] != want[i] {
			t.Errorf("filled %v, want %v", cl.Filled, want)
			break
		}
	}
	if cl.Price != 4.5 || cl.Volume != 10 || cl.BuyerSurplus != 5 || cl.SellerSurplus != 6 || cl.Surplus() != 11 {
		t.Errorf("got %+v", cl)
	}

	// Fully filled marginal orders: the price is the midpoint of the gap.
	cl, _ = CallMarket{}.Clear([]Order{{Agent: "b", Side: Buy, Quantity: 2, Price: 10}, {Agent: "s", Side: Sell, Quantity: 2, Price: 6}})
	if cl.Price != 8 || cl.Volume != 2 {
		t.Errorf("got %+v, want 2 at 8", cl)
	}
	// No overlap: nothing trades.
	cl, _ = CallMarket{}.Clear([]Order{{Agent: "b", Side: Buy, Quantity: 2, Price: 5}, {Agent: "s", Side: Sell, Quantity: 2, Price: 6}})
	if cl.Volume != 0 || cl.Price != 0 || cl.Filled[0] != 0 {
		t.Errorf("no overlap traded: %+v", cl)
	}
}

// The market never trades a buyer above its limit or a seller below its
// limit, conserves quantity, trades the most that can trade, and its price
// clears: no order left with quantity would trade at it.
func TestCallMarketProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for inst := 0; inst < 3000; inst++ {
		orders := make([]Order, 1+rng.IntN(20))
		for i := range orders {
			orders[i] = Order{Agent: "a" + strconv.Itoa(rng.IntN(8)), Side: Side(1 + rng.IntN(2)),
				Quantity: float64(rng.IntN(10)) * rng.Float64(), Price: float64(rng.IntN(20))}
		}
		cl, err := CallMarket{}.Clear(orders)
		if err != nil {
			t.Fatal(err)
		}
		bought, sold := 0.0, 0.0
		for i, o := range orders {
			q := cl.Filled[i]
			if q < 0 || q > o.Quantity*(1+1e-12) {
				t.Fatalf("order %d filled %v of %v", i, q, o.Quantity)
			}
			if q > 0 && o.Side == Buy && cl.Price > o.Price {
				t.Fatalf("buyer with limit %v pays %v", o.Price, cl.Price)
			}
			if q > 0 && o.Side == Sell && cl.Price < o.Price {
				t.Fatalf("seller with limit %v receives %v", o.Price, cl.Price)
			}
			if o.Side == Buy {
				bought += q
			} else {
				sold += q
			}
		}
		if math.Abs(bought-sold) > 1e-9 || math.Abs(bought-cl.Volume) > 1e-9 {
			t.Fatalf("bought %v, sold %v, volume %v", bought, sold, cl.Volume)
		}
		if cl.BuyerSurplus < -1e-9 || cl.SellerSurplus < -1e-9 {
			t.Fatalf("negative surplus %+v", cl)
		}
		// Most volume: max over prices p of min(demand at p, supply at p).
		most := 0.0
		for _, p := range orders {
			d, s := 0.0, 0.0
			for _, o := range orders {
				if o.Side == Buy && o.Price >= p.Price {
					d += o.Quantity
				}
				if o.Side == Sell && o.Price <= p.Price {
					s += o.Quantity
				}
			}
			most = math.Max(most, math.Min(d, s))
		}
		if math.Abs(cl.Volume-most) > 1e-9 {
			t.Fatalf("instance %d: volume %v, most tradeable %v (%+v)", inst, cl.Volume, most, orders)
		}
		if cl.Volume > 0 {
			// The price clears: nobody left with quantity wants to trade at it.
			for i, o := range orders {
				left := o.Quantity - cl.Filled[i]
				if left > 1e-9 && ((o.Side == Buy && o.Price > cl.Price) || (o.Side == Sell && o.Price < cl.Price)) {
					t.Fatalf("instance %d: order %+v has %v left though it would trade at %v", inst, o, left, cl.Price)
				}
			}
		}
	}
}

func TestCallMarketErrors(t *testing.T) {
	for _, o := range []Order{
		{Agent: "x", Quantity: 1, Price: 1},
		{Agent: "x", Side: Buy, Quantity: -1, Price: 1},
		{Agent: "x", Side: Sell, Quantity: 1, Price: math.NaN()},
	} {
		if _, err := (CallMarket{}).Clear([]Order{o}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if _, err := (CallMarket{}).Clear(nil); !errors.Is(err, ErrNoBids) {
		t.Errorf("no orders: %v", err)
	}
}
