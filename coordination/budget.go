package coordination

import (
	"math"
	"slices"
)

// BudgetMethod is how Budget splits a token budget. The names match the
// team space's budget variable.
type BudgetMethod string

// Budget methods.
const (
	// SplitEqual: equal shares, capped by each agent's demand, what a
	// capped agent cannot use going to the others (max-min fair); tokens
	// that do not divide evenly go to the agents listed first.
	SplitEqual BudgetMethod = "equal"
	// SplitAuction: agents bid Value per token; the highest bids are served
	// first up to their demand, agents with equal bids sharing equally,
	// and everyone served pays per token the highest bid not fully served
	// (a uniform-price auction; 0 if every demand is met).
	SplitAuction BudgetMethod = "auction"
	// SplitMarket: every agent is endowed with an equal share and all
	// trade at one market-clearing price, buying up to their demand while
	// the price is below their Value and selling while it is above. The
	// tokens end where SplitAuction puts them (both are efficient); what
	// differs is the money: the price is the midpoint of the clearing
	// interval (as in CallMarket), and each agent pays for what it bought
	// beyond its endowment and is paid for what it sold.
	SplitMarket BudgetMethod = "market"
)

// BudgetRequest is one agent's claim on a token budget.
type BudgetRequest struct {
	Agent string
	// Value is what a token is worth to the agent, finite and >= 0; e.g.
	// its confidence or its skill on the task.
	Value float64
	// Demand is the most tokens the agent can use, >= 0; 0 means no limit.
	Demand int
}

// Allocation is a split token budget.
type Allocation struct {
	// Tokens is each agent's share, aligned with the requests; none is
	// above its agent's demand and they sum to at most the budget.
	Tokens []int
	// Price is the per-token clearing price under SplitAuction and
	// SplitMarket; 0 under SplitEqual.
	Price float64
	// Paid is what each agent pays at Price: for all its tokens under
	// SplitAuction, for its tokens beyond its endowment under SplitMarket
	// (negative: it sold and is paid); nil under SplitEqual. Market
	// payments sum to zero.
	Paid []float64
	// Unallocated is the part of the budget no agent could use.
	Unallocated int
	// Overhead counts the run's rounds, messages and bids.
	Overhead Overhead
}

// Budget splits a token budget among agents. Its zero value splits
// equally.
type Budget struct {
	// Method is the split; "" means SplitEqual.
	Method BudgetMethod
	// Observer receives the events; nil means none.
	Observer Observer
}

// Split divides total tokens among the agents of reqs. Errors are
// ErrNoBids and *InputError.
func (b Budget) Split(total int, reqs []BudgetRequest) (Allocation, error) {
	method := b.Method
	if method == "" {
		method = SplitEqual
	}
	switch method {
	case SplitEqual, SplitAuction, SplitMarket:
	default:
		return Allocation{}, &InputError{Field: "Method", Msg: "unknown method " + quote(string(b.Method)) + " (known: equal, auction, market)"}
	}
	if total < 0 {
		return Allocation{}, &InputError{Field: "total", Msg: "must be >= 0"}
	}
	if len(reqs) == 0 {
		return Allocation{}, ErrNoBids
	}
	for i := range reqs {
		r := &reqs[i]
		if !(r.Value >= 0) || math.IsInf(r.Value, 0) {
			return Allocation{}, itemError("reqs", i, "Value", r.Agent, "must be finite and >= 0")
		}
		if r.Demand < 0 {
			return Allocation{}, itemError("reqs", i, "Demand", r.Agent, "must be >= 0")
		}
	}
	obs := b.Observer
	var protocol string
	if obs != nil {
		protocol = "budget/" + string(method)
		obs.Observe(Event{Kind: EventStarted, Protocol: protocol, Round: 1, Amount: float64(total)})
		for i := range reqs {
			obs.Observe(Event{Kind: EventBid, Protocol: protocol, Round: 1, Agent: reqs[i].Agent, Amount: reqs[i].Value})
		}
	}
	demand := func(i int) int {
		if reqs[i].Demand == 0 {
			return total
		}
		return reqs[i].Demand
	}
	out := Allocation{Tokens: make([]int, len(reqs)), Overhead: Overhead{Rounds: 1, Messages: len(reqs)}}
	switch method {
	case SplitEqual:
		waterFill(out.Tokens, allIndices(len(reqs)), total, demand)
	case SplitAuction, SplitMarket:
		out.Overhead.Bids = len(reqs)
		m := serveByValue(out.Tokens, reqs, total, demand)
		out.Paid = make([]float64, len(reqs))
		if method == SplitAuction {
			if m.found {
				out.Price = m.value
			}
			for i, t := range out.Tokens {
				out.Paid[i] = out.Price * float64(t)
			}
			break
		}
		switch {
		case !m.found: // every demand met: tokens are free
		case m.served || !m.hasAbove:
			out.Price = m.value
		default:
			out.Price = m.value + (m.above-m.value)/2
		}
		n := len(reqs)
		for i, t := range out.Tokens {
			endow := total / n
			if i < total%n {
				endow++
			}
			out.Paid[i] = out.Price * float64(t-endow)
		}
	}
	out.Unallocated = total
	for _, t := range out.Tokens {
		out.Unallocated -= t
	}
	if obs != nil {
		obs.Observe(Event{Kind: EventDecided, Protocol: protocol, Round: 1, Amount: out.Price, Overhead: out.Overhead})
	}
	return out, nil
}

// waterFill gives the agents idx equal shares of budget capped by demand,
// re-sharing what capped agents leave; odd tokens go to agents earlier in
// idx. It adds to tokens and returns what is left.
func waterFill(tokens []int, idx []int, budget int, demand func(int) int) int {
	active := slices.Clone(idx)
	for budget > 0 && len(active) > 0 {
		share := budget / len(active)
		if share == 0 {
			for _, i := range active[:budget] {
				tokens[i]++
			}
			return 0
		}
		kept := active[:0]
		for _, i := range active {
			give := min(share, demand(i)-tokens[i])
			tokens[i] += give
			budget -= give
			if tokens[i] < demand(i) {
				kept = append(kept, i)
			}
		}
		active = kept
	}
	return budget
}

// margin describes the first value level whose demand was not fully met.
type margin struct {
	found    bool    // some agent's demand was not met
	value    float64 // that level's value
	served   bool    // the level got some tokens
	hasAbove bool    // a fully served level lies above it
	above    float64 // the lowest fully served value above it
}

// serveByValue fills tokens from the highest value down, agents of equal
// value sharing equally (waterFill), and returns the margin.
func serveByValue(tokens []int, reqs []BudgetRequest, total int, demand func(int) int) margin {
	idx := allIndices(len(reqs))
	slices.SortStableFunc(idx, func(i, j int) int { return -compareTol(reqs[i].Value, reqs[j].Value) })
	var m margin
	left := total
	for start := 0; start < len(idx); {
		end := start + 1
		for end < len(idx) && compareTol(reqs[idx[end]].Value, reqs[idx[start]].Value) == 0 {
			end++
		}
		level := idx[start:end]
		before := left
		left = waterFill(tokens, level, left, demand)
		if !m.found {
			for _, i := range level {
				if tokens[i] < demand(i) {
					m.found, m.value, m.served = true, reqs[i].Value, left < before
					break
				}
			}
			if !m.found {
				m.hasAbove, m.above = true, reqs[level[0]].Value
			}
		}
		start = end
	}
	return m
}
