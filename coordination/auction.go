package coordination

import (
	"math"
	"slices"
	"strings"
)

// Bid is one bidder's bid for a single-item auction. In sealed-bid
// auctions Amount is the bid; in English and Dutch auctions it is the
// bidder's limit: the highest price it stays in at or accepts.
type Bid struct {
	Bidder string
	Amount float64 // finite and >= 0
}

// Pricing is what the winners of a sealed-bid auction pay.
type Pricing string

// Pricings.
const (
	// FirstPrice: each winner pays its own bid.
	FirstPrice Pricing = "first-price"
	// SecondPrice (Vickrey): every winner pays the highest losing bid, or
	// the reserve if that is higher. Bidding one's true value is a
	// dominant strategy for bidders who want one unit.
	SecondPrice Pricing = "second-price"
)

// Award is one unit sold.
type Award struct {
	Bidder string
	Index  int     // the winning bid's index in the input
	Bid    float64 // the winning bid (or limit)
	Price  float64 // what the winner pays, never above Bid and never below the reserve
}

// Outcome is the result of a single-item (or multi-unit) auction.
type Outcome struct {
	// Awards lists the winners, best bid first; empty when nothing sold.
	Awards []Award
	// Overhead counts the run's rounds, messages and bids.
	Overhead Overhead
}

// Winner returns the first award and whether anything sold.
func (o Outcome) Winner() (Award, bool) {
	if len(o.Awards) == 0 {
		return Award{}, false
	}
	return o.Awards[0], true
}

// outranks reports whether bid a beats bid b (indices i, j): higher amount,
// then smaller bidder id, then smaller index. The order is total and does
// not depend on where bids are listed except between identical bids.
func outranks(a *Bid, i int, b *Bid, j int) bool {
	if a.Amount != b.Amount {
		return a.Amount > b.Amount
	}
	if c := strings.Compare(a.Bidder, b.Bidder); c != 0 {
		return c < 0
	}
	return i < j
}

func validateBids(bids []Bid) error {
	if len(bids) == 0 {
		return ErrNoBids
	}
	for i := range bids {
		if a := bids[i].Amount; !(a >= 0) || math.IsInf(a, 0) {
			return itemError("bids", i, "Amount", bids[i].Bidder, "must be finite and >= 0")
		}
	}
	return nil
}

func validateReserve(r float64) error {
	if !(r >= 0) || math.IsInf(r, 0) {
		return &InputError{Field: "Reserve", Msg: "must be finite and >= 0"}
	}
	return nil
}

// SealedBid is a sealed-bid auction of Units identical units, one per
// bidder: the highest bids at or above Reserve win (ties go to the smaller
// bidder id). Its zero value is a first-price auction of one unit with no
// reserve.
type SealedBid struct {
	// Pricing is FirstPrice or SecondPrice; "" means FirstPrice.
	Pricing Pricing
	// Reserve is the lowest acceptable bid and, under SecondPrice, the
	// lowest price; 0 means none.
	Reserve float64
	// Units is the number of identical units for sale; 0 means 1.
	Units int
	// Observer receives the events; nil means none.
	Observer Observer
}

func (a *SealedBid) protocol() string {
	if a.Pricing == SecondPrice {
		return "auction/vickrey"
	}
	return "auction/first-price"
}

// Run holds the auction. Errors are ErrNoBids and *InputError.
func (a SealedBid) Run(bids []Bid) (Outcome, error) {
	switch a.Pricing {
	case "", FirstPrice, SecondPrice:
	default:
		return Outcome{}, &InputError{Field: "Pricing", Msg: "unknown pricing " + quote(string(a.Pricing)) + " (known: first-price, second-price)"}
	}
	if a.Units < 0 {
		return Outcome{}, &InputError{Field: "Units", Msg: "must be >= 0"}
	}
	if err := validateReserve(a.Reserve); err != nil {
		return Outcome{}, err
	}
	if err := validateBids(bids); err != nil {
		return Outcome{}, err
	}
	obs := a.Observer
	if obs != nil {
		obs.Observe(Event{Kind: EventStarted, Protocol: a.protocol(), Round: 1, Amount: float64(len(bids))})
		for i := range bids {
			obs.Observe(Event{Kind: EventBid, Protocol: a.protocol(), Round: 1, Agent: bids[i].Bidder, Amount: bids[i].Amount})
		}
	}
	out := Outcome{Overhead: Overhead{Rounds: 1, Messages: len(bids), Bids: len(bids)}}
	units := max(a.Units, 1)
	if units == 1 {
		// One pass: the best valid bid and the best amount beside it.
		best, second := -1, math.Inf(-1)
		for i := range bids {
			b := &bids[i]
			if b.Amount < a.Reserve {
				continue
			}
			if best < 0 || outranks(b, i, &bids[best], best) {
				if best >= 0 {
					second = bids[best].Amount
				}
				best = i
			} else if b.Amount > second {
				second = b.Amount
			}
		}
		if best >= 0 {
			out.Awards = []Award{{Bidder: bids[best].Bidder, Index: best, Bid: bids[best].Amount,
				Price: a.price(bids[best].Amount, second)}}
		}
	} else {
		ranked := make([]int, 0, len(bids))
		for i := range bids {
			if bids[i].Amount >= a.Reserve {
				ranked = append(ranked, i)
			}
		}
		slices.SortFunc(ranked, func(i, j int) int {
			if outranks(&bids[i], i, &bids[j], j) {
				return -1
			}
			return 1
		})
		won := min(units, len(ranked))
		second := math.Inf(-1)
		if won < len(ranked) {
			second = bids[ranked[won]].Amount
		}
		out.Awards = make([]Award, won)
		for k, i := range ranked[:won] {
			out.Awards[k] = Award{Bidder: bids[i].Bidder, Index: i, Bid: bids[i].Amount, Price: a.price(bids[i].Amount, second)}
		}
	}
	if obs != nil {
		e := Event{Kind: EventDecided, Protocol: a.protocol(), Round: 1, Overhead: out.Overhead}
		if w, ok := out.Winner(); ok {
			e.Agent, e.Amount = w.Bidder, w.Price
		}
		obs.Observe(e)
	}
	return out, nil
}

// price is what a winner with bid own pays when the best losing bid is
// second (-Inf if none).
func (a *SealedBid) price(own, second float64) float64 {
	if a.Pricing == SecondPrice {
		return max(second, a.Reserve)
	}
	return own
}

// English is an ascending-clock auction of one item. The price opens at
// max(Start, Reserve) and rises by Increment each round; a bidder stays in
// while the price is at most its limit (Bid.Amount). When one bidder is
// left it wins at the current price; when the last bidders all drop out at
// once, the best of them (see SealedBid) wins at the price they last
// accepted. If nobody accepts the opening price the item is unsold. The
// outcome is that of a second-price auction, rounded up to the increment.
type English struct {
	// Start is the opening price; 0 means Reserve.
	Start float64
	// Increment is the price step, > 0; 0 means 1.
	Increment float64
	// Reserve is the lowest price; 0 means none.
	Reserve float64
	// MaxRounds bounds the price steps; 0 means 100000. Run returns
	// ErrRoundLimit when it is reached.
	MaxRounds int
	// Observer receives the events; nil means none.
	Observer Observer
}

// Run holds the auction with each bidder's limit in bids. Overhead counts
// a price announcement to, and a stay-in bid from, every active bidder in
// each round. Errors are ErrNoBids, ErrRoundLimit and *InputError.
func (e English) Run(bids []Bid) (Outcome, error) {
	const protocol = "auction/english"
	inc := e.Increment
	if inc == 0 {
		inc = 1
	}
	if !(inc > 0) || math.IsInf(inc, 0) {
		return Outcome{}, &InputError{Field: "Increment", Msg: "must be finite and > 0"}
	}
	if !(e.Start >= 0) || math.IsInf(e.Start, 0) {
		return Outcome{}, &InputError{Field: "Start", Msg: "must be finite and >= 0"}
	}
	maxRounds, err := clockRounds(e.Reserve, e.MaxRounds, bids)
	if err != nil {
		return Outcome{}, err
	}
	obs := e.Observer
	if obs != nil {
		obs.Observe(Event{Kind: EventStarted, Protocol: protocol, Round: 1, Amount: float64(len(bids))})
	}
	var out Outcome
	price, prev := max(e.Start, e.Reserve), 0.0
	announced := len(bids) // everyone hears the opening price
	for round := 1; ; round++ {
		if round > maxRounds {
			out.Overhead.Rounds = maxRounds
			return out, ErrRoundLimit
		}
		if obs != nil {
			obs.Observe(Event{Kind: EventRound, Protocol: protocol, Round: round, Amount: price})
		}
		stay, best := 0, -1
		for i := range bids {
			b := &bids[i]
			if b.Amount < price {
				continue
			}
			stay++
			if best < 0 || outranks(b, i, &bids[best], best) {
				best = i
			}
			if obs != nil {
				obs.Observe(Event{Kind: EventBid, Protocol: protocol, Round: round, Agent: b.Bidder, Amount: price})
			}
		}
		out.Overhead.Rounds = round
		out.Overhead.Messages += announced + stay
		out.Overhead.Bids += stay
		switch {
		case stay == 0 && round == 1:
			// Nobody opens: unsold.
		case stay == 0:
			// Everyone left dropped out at once: the best of the previous
			// round wins at the previous price.
			w := e.bestAbove(bids, prev)
			out.Awards = []Award{{Bidder: bids[w].Bidder, Index: w, Bid: bids[w].Amount, Price: prev}}
		case stay == 1:
			out.Awards = []Award{{Bidder: bids[best].Bidder, Index: best, Bid: bids[best].Amount, Price: price}}
		default:
			announced = stay
			prev, price = price, price+inc
			continue
		}
		break
	}
	if obs != nil {
		ev := Event{Kind: EventDecided, Protocol: protocol, Round: out.Overhead.Rounds, Overhead: out.Overhead}
		if w, ok := out.Winner(); ok {
			ev.Agent, ev.Amount = w.Bidder, w.Price
		}
		obs.Observe(ev)
	}
	return out, nil
}

// bestAbove returns the index of the best bid with Amount >= p.
func (e *English) bestAbove(bids []Bid, p float64) int {
	best := -1
	for i := range bids {
		if bids[i].Amount >= p && (best < 0 || outranks(&bids[i], i, &bids[best], best)) {
			best = i
		}
	}
	return best
}

// Dutch is a descending-clock auction of one item. The price opens at
// Start and falls by Decrement each round, never below Reserve (the
// reserve itself is always offered); the first bidders whose limit
// (Bid.Amount) reaches the price accept, and the best of them (see
// SealedBid) wins at that price. If nobody accepts the reserve the item is
// unsold. Strategically it is a first-price auction.
type Dutch struct {
	// Start is the opening price, finite and > 0; it must be set.
	Start float64
	// Decrement is the price step, > 0; 0 means Start/100.
	Decrement float64
	// Reserve is the lowest price; 0 means none.
	Reserve float64
	// MaxRounds bounds the price steps; 0 means 100000. Run returns
	// ErrRoundLimit when it is reached.
	MaxRounds int
	// Observer receives the events; nil means none.
	Observer Observer
}

// Run holds the auction with each bidder's limit in bids. Overhead counts
// a price announcement to every bidder in each round and each acceptance.
// Errors are ErrNoBids, ErrRoundLimit and *InputError.
func (d Dutch) Run(bids []Bid) (Outcome, error) {
	const protocol = "auction/dutch"
	if !(d.Start > 0) || math.IsInf(d.Start, 0) {
		return Outcome{}, &InputError{Field: "Start", Msg: "must be finite and > 0"}
	}
	dec := d.Decrement
	if dec == 0 {
		dec = d.Start / 100
	}
	if !(dec > 0) || math.IsInf(dec, 0) {
		return Outcome{}, &InputError{Field: "Decrement", Msg: "must be finite and > 0"}
	}
	maxRounds, err := clockRounds(d.Reserve, d.MaxRounds, bids)
	if err != nil {
		return Outcome{}, err
	}
	obs := d.Observer
	if obs != nil {
		obs.Observe(Event{Kind: EventStarted, Protocol: protocol, Round: 1, Amount: float64(len(bids))})
	}
	var out Outcome
	price := max(d.Start, d.Reserve)
	for round := 1; ; round++ {
		if round > maxRounds {
			out.Overhead.Rounds = maxRounds
			return out, ErrRoundLimit
		}
		if obs != nil {
			obs.Observe(Event{Kind: EventRound, Protocol: protocol, Round: round, Amount: price})
		}
		take, best := 0, -1
		for i := range bids {
			if bids[i].Amount >= price {
				take++
				if best < 0 || outranks(&bids[i], i, &bids[best], best) {
					best = i
				}
				if obs != nil {
					obs.Observe(Event{Kind: EventBid, Protocol: protocol, Round: round, Agent: bids[i].Bidder, Amount: price})
				}
			}
		}
		out.Overhead.Rounds = round
		out.Overhead.Messages += len(bids) + take
		out.Overhead.Bids += take
		if take > 0 {
			out.Awards = []Award{{Bidder: bids[best].Bidder, Index: best, Bid: bids[best].Amount, Price: price}}
			break
		}
		if price <= d.Reserve {
			break // the reserve was offered and refused: unsold
		}
		price = max(price-dec, d.Reserve)
	}
	if obs != nil {
		ev := Event{Kind: EventDecided, Protocol: protocol, Round: out.Overhead.Rounds, Overhead: out.Overhead}
		if w, ok := out.Winner(); ok {
			ev.Agent, ev.Amount = w.Bidder, w.Price
		}
		obs.Observe(ev)
	}
	return out, nil
}

// clockRounds checks what the English and Dutch clocks share (reserve,
// round limit, bids) and returns the round limit with its default.
func clockRounds(reserve float64, maxRounds int, bids []Bid) (int, error) {
	if err := validateReserve(reserve); err != nil {
		return 0, err
	}
	if maxRounds < 0 {
		return 0, &InputError{Field: "MaxRounds", Msg: "must be >= 0"}
	}
	if err := validateBids(bids); err != nil {
		return 0, err
	}
	if maxRounds == 0 {
		maxRounds = 100000
	}
	return maxRounds, nil
}
