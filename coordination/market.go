package coordination

import (
	"math"
	"slices"
	"strings"
)

// Side says whether an order buys or sells.
type Side uint8

// Sides. The zero Side is invalid.
const (
	Buy Side = iota + 1
	Sell
)

// String returns "buy" or "sell".
func (s Side) String() string {
	switch s {
	case Buy:
		return "buy"
	case Sell:
		return "sell"
	}
	return "invalid"
}

// Order is a limit order for a divisible resource (tokens, seconds of a
// model slot): buy up to Quantity at a unit price of at most Price, or sell
// up to Quantity at a unit price of at least Price. Orders may be filled
// in part.
type Order struct {
	Agent    string
	Side     Side
	Quantity float64 // finite and >= 0
	Price    float64 // unit limit price, finite
}

// Clearing is the result of a call market.
type Clearing struct {
	// Price is the uniform unit price every trade is made at; 0 when
	// nothing trades.
	Price float64
	// Volume is the quantity traded: the sum of buy fills, equal to the sum
	// of sell fills.
	Volume float64
	// Filled is the quantity each order traded, aligned with the orders.
	Filled []float64
	// BuyerSurplus sums fill × (limit − Price) over buys; SellerSurplus sums
	// fill × (Price − limit) over sells. Both are >= 0.
	BuyerSurplus, SellerSurplus float64
	// Overhead counts the run's rounds, messages and orders.
	Overhead Overhead
}

// Surplus is the total gain from trade, BuyerSurplus + SellerSurplus.
func (c Clearing) Surplus() float64 { return c.BuyerSurplus + c.SellerSurplus }

// CallMarket is a double auction cleared once at a uniform price (a call
// market). Buys are matched from the highest limit down and sells from the
// lowest up, while the buy limit is at least the sell limit; equal limits
// are served by agent id, then input order. This trades the largest
// possible quantity and maximises surplus. The price is the midpoint of
// the interval of prices at which that volume clears: between the
// marginal traded limits, narrowed by the best untraded buy and sell
// limits (a partly filled order pins the price to its own limit). So no
// buyer pays above its limit, no seller receives below its limit, and no
// order left out would have traded at the price. The zero CallMarket is
// ready to use.
type CallMarket struct {
	// Observer receives the events; nil means none.
	Observer Observer
}

// Clear matches orders. Errors are ErrNoBids and *InputError.
func (m CallMarket) Clear(orders []Order) (Clearing, error) {
	const protocol = "market/call"
	if len(orders) == 0 {
		return Clearing{}, ErrNoBids
	}
	var buys, sells []int
	for i := range orders {
		o := &orders[i]
		if !(o.Quantity >= 0) || math.IsInf(o.Quantity, 0) {
			return Clearing{}, itemError("orders", i, "Quantity", o.Agent, "must be finite and >= 0")
		}
		if math.IsNaN(o.Price) || math.IsInf(o.Price, 0) {
			return Clearing{}, itemError("orders", i, "Price", o.Agent, "must be finite")
		}
		switch o.Side {
		case Buy:
			buys = append(buys, i)
		case Sell:
			sells = append(sells, i)
		default:
			return Clearing{}, itemError("orders", i, "Side", o.Agent, "must be Buy or Sell")
		}
	}
	obs := m.Observer
	if obs != nil {
		obs.Observe(Event{Kind: EventStarted, Protocol: protocol, Round: 1, Amount: float64(len(orders))})
		for i := range orders {
			obs.Observe(Event{Kind: EventBid, Protocol: protocol, Round: 1, Agent: orders[i].Agent,
				Subject: orders[i].Side.String(), Amount: orders[i].Price})
		}
	}
	rank := func(desc bool) func(i, j int) int {
		return func(i, j int) int {
			a, b := &orders[i], &orders[j]
			if a.Price != b.Price {
				if (a.Price > b.Price) == desc {
					return -1
				}
				return 1
			}
			if c := strings.Compare(a.Agent, b.Agent); c != 0 {
				return c
			}
			return i - j
		}
	}
	slices.SortFunc(buys, rank(true))
	slices.SortFunc(sells, rank(false))

	out := Clearing{Filled: make([]float64, len(orders)),
		Overhead: Overhead{Rounds: 1, Messages: len(orders), Bids: len(orders)}}
	bi, si := 0, 0
	var rb, rs float64 // remaining quantity of buys[bi], sells[si]
	if len(buys) > 0 {
		rb = orders[buys[0]].Quantity
	}
	if len(sells) > 0 {
		rs = orders[sells[0]].Quantity
	}
	lastBuy, lastSell := -1, -1
	for bi < len(buys) && si < len(sells) {
		if rb == 0 {
			if bi++; bi < len(buys) {
				rb = orders[buys[bi]].Quantity
			}
			continue
		}
		if rs == 0 {
			if si++; si < len(sells) {
				rs = orders[sells[si]].Quantity
			}
			continue
		}
		b, s := buys[bi], sells[si]
		if orders[b].Price < orders[s].Price {
			break
		}
		q := min(rb, rs)
		out.Filled[b] += q
		out.Filled[s] += q
		out.Volume += q
		rb -= q
		rs -= q
		lastBuy, lastSell = b, s
	}
	if lastBuy < 0 {
		if obs != nil {
			obs.Observe(Event{Kind: EventDecided, Protocol: protocol, Round: 1, Overhead: out.Overhead})
		}
		return out, nil
	}
	lo, hi := orders[lastSell].Price, orders[lastBuy].Price
	// The best untraded limits: a buyer left out must not want to buy at
	// the price, nor a seller left out want to sell. rb and rs are exact
	// remainders, so a fully filled order is never taken for a partial one.
	if p, ok := nextLimit(orders, buys, bi, rb); ok {
		lo = max(lo, p)
	}
	if p, ok := nextLimit(orders, sells, si, rs); ok {
		hi = min(hi, p)
	}
	out.Price = lo + (hi-lo)/2
	for i := range orders {
		if q := out.Filled[i]; q > 0 {
			if orders[i].Side == Buy {
				out.BuyerSurplus += q * (orders[i].Price - out.Price)
			} else {
				out.SellerSurplus += q * (out.Price - orders[i].Price)
			}
		}
	}
	if obs != nil {
		obs.Observe(Event{Kind: EventDecided, Protocol: protocol, Round: 1, Amount: out.Price, Overhead: out.Overhead})
	}
	return out, nil
}

// nextLimit returns the limit of the first order of idx from position k on
// with quantity left, where rem is what is left of idx[k].
func nextLimit(orders []Order, idx []int, k int, rem float64) (float64, bool) {
	if k < len(idx) && rem > 0 {
		return orders[idx[k]].Price, true
	}
	for k++; k < len(idx); k++ {
		if orders[idx[k]].Quantity > 0 {
			return orders[idx[k]].Price, true
		}
	}
	return 0, false
}
