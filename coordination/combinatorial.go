package coordination

import (
	"math"
	"math/bits"
	"slices"
	"strings"
)

// BundleBid is a bid for a bundle of items, all or nothing. A bidder may
// place several bundle bids and win any of them that do not share items
// (the OR bidding language).
type BundleBid struct {
	Bidder string
	// Items names the bundle's items, at least one; repeats are ignored.
	Items []string
	// Amount is what the bidder offers for the whole bundle, finite and >= 0.
	Amount float64
}

// BundleAward is one winning bundle bid.
type BundleAward struct {
	Index   int // the bid's index in the input
	Bidder  string
	Items   []string // the bid's own Items slice
	Amount  float64  // the bid
	Payment float64  // what the bidder pays for it, in [0, Amount]
}

// CombinatorialOutcome is the result of a combinatorial auction.
type CombinatorialOutcome struct {
	// Awards are the winning bids in input order; no item is in two.
	Awards []BundleAward
	// Value is the winning bids' summed Amount (the declared welfare).
	Value float64
	// Exact reports that Value is proven the largest of any feasible set
	// of bids (and VCG payments exact); false when the greedy
	// approximation was used or a search hit MaxNodes (the best set found
	// so far is used).
	Exact bool
	// Nodes counts the branch-and-bound search nodes, VCG re-solves
	// included.
	Nodes int
	// Overhead counts the run's rounds, messages and bids.
	Overhead Overhead
}

// Combinatorial is a sealed-bid combinatorial auction: it picks the set of
// non-overlapping bundle bids of largest total Amount. With at most
// ExactLimit bids of positive amount it solves winner determination
// exactly by depth-first branch and bound (bids in decreasing amount, a
// greedy incumbent, and an upper bound from each free item's best
// amount-per-item among the bids still to consider); beyond it, it uses
// the greedy rule of Lehmann, O'Callaghan and Shoham: bids in decreasing
// Amount/√|bundle|, each taken if it fits. Ties go to the earlier bid.
// Its zero value is an exact pay-as-bid auction for up to 32 bids.
type Combinatorial struct {
	// ExactLimit is the most positive bids solved exactly; 0 means 32, a
	// negative value means always greedy. Random 20-bid instances take
	// tens of search nodes, hard 40-bid ones tens of thousands.
	ExactLimit int
	// MaxNodes bounds the search nodes of each exact solve (about 0.1 s
	// at 1<<20); 0 means 1<<20. When reached, the best set found so far
	// is used.
	MaxNodes int
	// VCG charges Vickrey–Clarke–Groves payments: each winning bidder pays
	// the welfare the others lose by its presence, split over its winning
	// bids in proportion to their amounts. With exact winner determination
	// truthful bidding is then dominant. false means each winner pays its
	// bid.
	VCG bool
	// Observer receives the events; nil means none.
	Observer Observer
}

// Run holds the auction. Errors are ErrNoBids and *InputError.
func (c Combinatorial) Run(bids []BundleBid) (CombinatorialOutcome, error) {
	const protocol = "auction/combinatorial"
	if c.MaxNodes < 0 {
		return CombinatorialOutcome{}, &InputError{Field: "MaxNodes", Msg: "must be >= 0"}
	}
	if len(bids) == 0 {
		return CombinatorialOutcome{}, ErrNoBids
	}
	for i := range bids {
		b := &bids[i]
		if !(b.Amount >= 0) || math.IsInf(b.Amount, 0) {
			return CombinatorialOutcome{}, itemError("bids", i, "Amount", b.Bidder, "must be finite and >= 0")
		}
		if len(b.Items) == 0 {
			return CombinatorialOutcome{}, itemError("bids", i, "Items", b.Bidder, "must name at least one item")
		}
	}
	obs := c.Observer
	if obs != nil {
		obs.Observe(Event{Kind: EventStarted, Protocol: protocol, Round: 1, Amount: float64(len(bids))})
		for i := range bids {
			obs.Observe(Event{Kind: EventBid, Protocol: protocol, Round: 1, Agent: bids[i].Bidder,
				Subject: strings.Join(bids[i].Items, "+"), Amount: bids[i].Amount})
		}
	}
	limit := c.ExactLimit
	if limit == 0 {
		limit = 32
	}
	maxNodes := c.MaxNodes
	if maxNodes == 0 {
		maxNodes = 1 << 20
	}
	s := newWDP(bids, maxNodes)
	exact := limit > 0 && s.n <= limit
	value, set, ok := s.solve(-1, exact)
	out := CombinatorialOutcome{Value: value, Exact: exact && ok,
		Overhead: Overhead{Rounds: 1, Messages: len(bids), Bids: len(bids)}}
	slices.Sort(set) // search positions in decreasing amount; map back below
	pay := make([]float64, len(set))
	for k, p := range set {
		pay[k] = s.amount[p]
	}
	if c.VCG {
		// Each winning bidder pays V(without it) − (V − its winning value).
		for k, p := range set {
			bidder := s.bidder[p]
			if slices.IndexFunc(set[:k], func(q int) bool { return s.bidder[q] == bidder }) >= 0 {
				continue // bidder already charged
			}
			own := 0.0
			for _, q := range set {
				if s.bidder[q] == bidder {
					own += s.amount[q]
				}
			}
			without, _, solved := s.solve(bidder, exact)
			out.Exact = out.Exact && solved
			charge := min(max(without-(value-own), 0), own)
			for j, q := range set {
				if s.bidder[q] == bidder {
					if own > 0 {
						pay[j] = charge * s.amount[q] / own
					} else {
						pay[j] = 0
					}
				}
			}
		}
	}
	out.Nodes = s.nodes
	out.Awards = make([]BundleAward, len(set))
	for k, p := range set {
		i := s.orig[p]
		out.Awards[k] = BundleAward{Index: i, Bidder: bids[i].Bidder, Items: bids[i].Items, Amount: bids[i].Amount, Payment: pay[k]}
	}
	slices.SortFunc(out.Awards, func(a, b BundleAward) int { return a.Index - b.Index })
	if obs != nil {
		obs.Observe(Event{Kind: EventDecided, Protocol: protocol, Round: 1, Amount: out.Value, Overhead: out.Overhead})
	}
	return out, nil
}

// wdp is one winner-determination problem: the positive bids, in
// decreasing amount (ties by input index), as item bitmasks.
type wdp struct {
	n, m, words int
	masks       []uint64  // bid p's items at [p*words, (p+1)*words)
	amount      []float64 // bid p's amount
	size        []int     // items in bid p
	bidder      []int     // bidder number of bid p
	orig        []int     // input index of bid p
	dens        []float64 // dens[p*m+j]: best amount per item among bids p.. holding item j
	greedy      []int     // positions in greedy order

	// Search state, reset by solve.
	used           []uint64
	stack, bestSet []int
	best           float64
	skip           int // bidder whose bids are left out, -1 none
	nodes, budget  int
	maxNodes       int
}

func newWDP(bids []BundleBid, maxNodes int) *wdp {
	itemIDs := map[string]int{}
	bidderIDs := map[string]int{}
	s := &wdp{maxNodes: maxNodes}
	for i := range bids {
		if bids[i].Amount > 0 {
			s.orig = append(s.orig, i)
		}
		for _, it := range bids[i].Items {
			if _, ok := itemIDs[it]; !ok {
				itemIDs[it] = len(itemIDs)
			}
		}
	}
	slices.SortStableFunc(s.orig, func(i, j int) int { return -compareTol(bids[i].Amount, bids[j].Amount) })
	s.n, s.m = len(s.orig), len(itemIDs)
	s.words = (s.m + 63) / 64
	s.masks = make([]uint64, s.n*s.words)
	s.amount = make([]float64, s.n)
	s.size = make([]int, s.n)
	s.bidder = make([]int, s.n)
	for p, i := range s.orig {
		b := &bids[i]
		mask := s.masks[p*s.words : (p+1)*s.words]
		for _, it := range b.Items {
			j := itemIDs[it]
			mask[j/64] |= 1 << (j % 64)
		}
		for _, w := range mask {
			s.size[p] += bits.OnesCount64(w)
		}
		s.amount[p] = b.Amount
		id, ok := bidderIDs[b.Bidder]
		if !ok {
			id = len(bidderIDs)
			bidderIDs[b.Bidder] = id
		}
		s.bidder[p] = id
	}
	// Suffix maxima of amount per item, for the upper bound.
	s.dens = make([]float64, (s.n+1)*s.m)
	for p := s.n - 1; p >= 0; p-- {
		row, next := s.dens[p*s.m:(p+1)*s.m], s.dens[(p+1)*s.m:(p+2)*s.m]
		copy(row, next)
		d := s.amount[p] / float64(s.size[p])
		s.forItems(p, func(j int) { row[j] = max(row[j], d) })
	}
	s.greedy = make([]int, s.n)
	for p := range s.greedy {
		s.greedy[p] = p
	}
	slices.SortStableFunc(s.greedy, func(p, q int) int {
		return -compareTol(s.amount[p]/math.Sqrt(float64(s.size[p])), s.amount[q]/math.Sqrt(float64(s.size[q])))
	})
	s.used = make([]uint64, s.words)
	return s
}

func (s *wdp) forItems(p int, f func(j int)) {
	for w, x := range s.masks[p*s.words : (p+1)*s.words] {
		for x != 0 {
			f(w*64 + bits.TrailingZeros64(x))
			x &= x - 1
		}
	}
}

// fits reports whether bid p shares no item with s.used.
func (s *wdp) fits(p int) bool {
	mask := s.masks[p*s.words : (p+1)*s.words]
	for w := range mask {
		if mask[w]&s.used[w] != 0 {
			return false
		}
	}
	return true
}

func (s *wdp) toggle(p int) {
	mask := s.masks[p*s.words : (p+1)*s.words]
	for w := range mask {
		s.used[w] ^= mask[w]
	}
}

// bound is an upper bound on what bids p.. can add to the current set:
// every free item's best amount per item among them.
func (s *wdp) bound(p int) float64 {
	row := s.dens[p*s.m : (p+1)*s.m]
	total := 0.0
	for w, u := range s.used {
		free := ^u
		if w == s.words-1 && s.m%64 != 0 {
			free &= 1<<(s.m%64) - 1
		}
		for free != 0 {
			total += row[w*64+bits.TrailingZeros64(free)]
			free &= free - 1
		}
	}
	return total
}

// solve returns the best value and set (search positions) without the
// bids of bidder skip (-1: none), exactly by branch and bound if exact,
// else greedily; ok is false if the search hit the node budget.
func (s *wdp) solve(skip int, exact bool) (value float64, set []int, ok bool) {
	s.skip = skip
	clear(s.used)
	s.stack, s.bestSet = s.stack[:0], s.bestSet[:0]
	s.best = 0
	for _, p := range s.greedy {
		if s.bidder[p] != skip && s.fits(p) {
			s.toggle(p)
			s.best += s.amount[p]
			s.bestSet = append(s.bestSet, p)
		}
	}
	ok = true
	if exact {
		clear(s.used)
		s.budget = s.maxNodes
		ok = s.search(0, 0)
	}
	return s.best, slices.Clone(s.bestSet), ok
}

// search extends the current set with bids from position p on; it reports
// false once the node budget is spent.
func (s *wdp) search(p int, cur float64) bool {
	s.nodes++
	if s.budget--; s.budget < 0 {
		return false
	}
	if cur > s.best*(1+1e-12) {
		s.best = cur
		s.bestSet = append(s.bestSet[:0], s.stack...)
	}
	for q := p; q < s.n; q++ {
		if cur+s.bound(q)*(1+1e-12) <= s.best {
			break // bound falls as q grows
		}
		if s.bidder[q] == s.skip || !s.fits(q) {
			continue
		}
		s.toggle(q)
		s.stack = append(s.stack, q)
		more := s.search(q+1, cur+s.amount[q])
		s.stack = s.stack[:len(s.stack)-1]
		s.toggle(q)
		if !more {
			return false
		}
	}
	return true
}
