package coordination

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Strategy is how a Resolver settles a conflict.
type Strategy string

// Strategies.
const (
	// ByPriority: higher Priority first. For a resource, each priority
	// level in turn gets what it demands, or shares what is left in
	// proportion to demand; for a variable, the highest-priority claim's
	// value wins (ties: the value with more summed Amount, then the smaller
	// value).
	ByPriority Strategy = "priority"
	// Proportional: for a resource, every claimant gets capacity ×
	// demand / total demand; for a variable, the value with the largest
	// summed Amount wins (ties: more claimants, then the smaller value).
	Proportional Strategy = "proportional"
	// ByAuction: Bid is a unit value. For a resource, the highest Bid is
	// served first, up to its demand, equal bids sharing in proportion to
	// demand, and every winner pays per unit the highest Bid not fully
	// served (0 if all were); for a variable, the value of the highest Bid
	// wins (ties: the smaller value) and pays the best Bid made for another
	// value (second price).
	ByAuction Strategy = "auction"
	// Escalate: the Coordinator decides.
	Escalate Strategy = "escalate"
)

// ConflictKind says what agents conflict over.
type ConflictKind string

// Conflict kinds.
const (
	// Overdemand: the claims on a divisible resource exceed its capacity.
	Overdemand ConflictKind = "overdemand"
	// Disagreement: agents set a shared variable to different values.
	Disagreement ConflictKind = "disagreement"
)

// Claim is one agent's side of a possible conflict.
type Claim struct {
	Agent string
	// Amount is the quantity demanded of a resource (finite, >= 0), or,
	// for a variable, the weight behind Value (0 means 1).
	Amount float64
	// Value is the agent's setting of a shared variable; unused for a
	// resource.
	Value string
	// Priority ranks claims under ByPriority; higher wins.
	Priority int
	// Bid is the claim's unit value under ByAuction, finite and >= 0.
	Bid float64
}

// Conflict is one recorded conflict.
type Conflict struct {
	// Seq numbers the Resolver's conflicts from 1; 0 means the claims did
	// not conflict.
	Seq int
	// Kind is Overdemand or Disagreement; "" when there was no conflict.
	Kind ConflictKind
	// Subject names the contested resource or variable.
	Subject string
	// Capacity is the resource's capacity; 0 for a variable.
	Capacity float64
	// Claims is a copy of the claims.
	Claims []Claim
}

// Resolution is how a conflict (or a conflict-free set of claims) was
// settled.
type Resolution struct {
	Conflict Conflict
	// Strategy is the strategy applied; "" when there was no conflict.
	Strategy Strategy
	// Grants is what each claim receives of a resource, aligned with the
	// claims; each in [0, its Amount], summing to at most the capacity.
	// nil for a variable.
	Grants []float64
	// Value is the variable's settled value (normalised); "" for a
	// resource.
	Value string
	// Price is the unit price under ByAuction (for a variable, the price
	// the winning value pays); 0 otherwise.
	Price float64
	// Escalated reports that the Coordinator decided.
	Escalated bool
	// Note is the Coordinator's explanation, if it gave one.
	Note string
	// Overhead counts the run's rounds, messages and bids.
	Overhead Overhead
}

// Coordinator settles escalated conflicts, e.g. a planner agent or a
// human. It returns Grants (for Overdemand) or Value (for Disagreement),
// and may set Note and Price; the Resolver fills in the rest.
type Coordinator interface {
	Resolve(ctx context.Context, c Conflict) (Resolution, error)
}

// CoordinatorFunc adapts a function to the Coordinator interface.
type CoordinatorFunc func(ctx context.Context, c Conflict) (Resolution, error)

// Resolve calls f(ctx, c).
func (f CoordinatorFunc) Resolve(ctx context.Context, c Conflict) (Resolution, error) {
	return f(ctx, c)
}

// Resolver settles conflicts between agents over divisible resources
// (Allocate) and shared variables (Settle) with one Strategy, and records
// every conflict with its resolution. Set its fields before first use; it
// is then safe for concurrent use. The zero Resolver settles by priority.
// A Resolver must not be copied after first use.
type Resolver struct {
	// Strategy is the strategy; "" means ByPriority.
	Strategy Strategy
	// Coordinator decides under Escalate; nil makes escalation fail with
	// ErrNoCoordinator.
	Coordinator Coordinator
	// Normalize maps variable values to the form they are compared in;
	// nil means identity.
	Normalize func(string) string
	// Observer receives the events; nil means none.
	Observer Observer

	mu      sync.Mutex // protects records
	records []Resolution
}

// Records returns a copy of every conflict resolved so far (failed
// escalations included), in the order the conflicts arose.
func (r *Resolver) Records() []Resolution {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Resolution, 0, len(r.records))
	for _, rec := range r.records {
		if rec.Conflict.Seq != 0 { // skip conflicts still being resolved
			out = append(out, rec)
		}
	}
	return out
}

func (r *Resolver) strategy() Strategy {
	if r.Strategy == "" {
		return ByPriority
	}
	return r.Strategy
}

func (r *Resolver) validate(claims []Claim) error {
	switch r.Strategy {
	case "", ByPriority, Proportional, ByAuction, Escalate:
	default:
		return &InputError{Field: "Strategy", Msg: "unknown strategy " + quote(string(r.Strategy)) + " (known: priority, proportional, auction, escalate)"}
	}
	if len(claims) == 0 {
		return ErrNoBids
	}
	for i := range claims {
		c := &claims[i]
		if !(c.Amount >= 0) || math.IsInf(c.Amount, 0) {
			return itemError("claims", i, "Amount", c.Agent, "must be finite and >= 0")
		}
		if !(c.Bid >= 0) || math.IsInf(c.Bid, 0) {
			return itemError("claims", i, "Bid", c.Agent, "must be finite and >= 0")
		}
	}
	return nil
}

// begin numbers and announces a conflict; it holds no lock while the
// conflict is resolved, so Seq follows the order conflicts were found.
func (r *Resolver) begin(kind ConflictKind, subject string, capacity float64, claims []Claim) Conflict {
	r.mu.Lock()
	seq := len(r.records) + 1
	r.records = append(r.records, Resolution{}) // reserve the slot
	r.mu.Unlock()
	c := Conflict{Seq: seq, Kind: kind, Subject: subject, Capacity: capacity, Claims: slices.Clone(claims)}
	if r.Observer != nil {
		r.Observer.Observe(Event{Kind: EventConflict, Protocol: "conflict/" + string(r.strategy()), Round: 1,
			Subject: subject, Amount: float64(len(claims))})
	}
	return c
}

// finish records res in its slot and announces it.
func (r *Resolver) finish(res *Resolution) {
	r.mu.Lock()
	r.records[res.Conflict.Seq-1] = *res
	r.mu.Unlock()
	if r.Observer != nil {
		amount := 0.0
		for _, g := range res.Grants {
			amount += g
		}
		r.Observer.Observe(Event{Kind: EventResolved, Protocol: "conflict/" + string(res.Strategy), Round: res.Overhead.Rounds,
			Subject: res.Conflict.Subject + valueSuffix(res.Value), Amount: amount, Overhead: res.Overhead})
	}
}

func valueSuffix(v string) string {
	if v == "" {
		return ""
	}
	return "=" + v
}

// Allocate shares a divisible resource of the given capacity among claims
// on it. If total demand fits, every claim gets its Amount and nothing is
// recorded; otherwise the conflict is settled by the Strategy and
// recorded. If escalation fails, the error is returned, the conflict stays
// recorded with Strategy Escalate and no Grants, and no grants are made.
// Errors are ErrNoBids, ErrNoCoordinator, ErrBadResolution, a
// Coordinator's error, and *InputError.
func (r *Resolver) Allocate(ctx context.Context, subject string, capacity float64, claims []Claim) (Resolution, error) {
	if err := r.validate(claims); err != nil {
		return Resolution{}, err
	}
	if !(capacity >= 0) || math.IsInf(capacity, 0) {
		return Resolution{}, &InputError{Field: "capacity", Msg: "must be finite and >= 0"}
	}
	demand := 0.0
	for i := range claims {
		demand += claims[i].Amount
	}
	grants := make([]float64, len(claims))
	if demand <= capacity {
		for i := range claims {
			grants[i] = claims[i].Amount
		}
		return Resolution{Conflict: Conflict{Subject: subject, Capacity: capacity, Claims: slices.Clone(claims)},
			Grants: grants, Overhead: Overhead{Rounds: 1, Messages: len(claims)}}, nil
	}
	c := r.begin(Overdemand, subject, capacity, claims)
	res := Resolution{Conflict: c, Strategy: r.strategy(), Overhead: Overhead{Rounds: 1, Messages: len(claims)}}
	switch res.Strategy {
	case ByPriority:
		byPriority(claims, capacity, grants)
		res.Grants = grants
	case Proportional:
		shareOut(claims, allIndices(len(claims)), capacity, grants)
		res.Grants = grants
	case ByAuction:
		res.Price = byBid(claims, capacity, grants)
		res.Grants = grants
		res.Overhead.Bids = len(claims)
	case Escalate:
		if err := r.escalate(ctx, &res); err != nil {
			r.finish(&res)
			return res, err
		}
		if err := checkGrants(res.Grants, claims, capacity); err != nil {
			res.Grants = nil
			r.finish(&res)
			return res, err
		}
	}
	r.finish(&res)
	return res, nil
}

// escalate asks the Coordinator to settle res.Conflict and merges its
// answer into res.
func (r *Resolver) escalate(ctx context.Context, res *Resolution) error {
	res.Escalated = true
	res.Overhead.Rounds++
	res.Overhead.Messages += 2 // the conflict up, the decision down
	if r.Coordinator == nil {
		return ErrNoCoordinator
	}
	got, err := r.Coordinator.Resolve(ctx, res.Conflict)
	if err != nil {
		return err
	}
	res.Grants, res.Value, res.Price, res.Note = got.Grants, got.Value, got.Price, got.Note
	return nil
}

func checkGrants(grants []float64, claims []Claim, capacity float64) error {
	if len(grants) != len(claims) {
		return fmt.Errorf("%w: %d grants for %d claims", ErrBadResolution, len(grants), len(claims))
	}
	total := 0.0
	for i, g := range grants {
		if !(g >= 0) || g > claims[i].Amount*(1+1e-9) {
			return fmt.Errorf("%w: grant %v to claim %d (agent %q) is outside [0, %v]", ErrBadResolution, g, i, claims[i].Agent, claims[i].Amount)
		}
		total += g
	}
	if total > capacity*(1+1e-9) {
		return fmt.Errorf("%w: grants total %v above capacity %v", ErrBadResolution, total, capacity)
	}
	return nil
}

func allIndices(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// shareOut gives the claims idx up to capacity: all they demand if it
// fits, else capacity in proportion to demand. It returns what is left.
func shareOut(claims []Claim, idx []int, capacity float64, grants []float64) float64 {
	demand := 0.0
	for _, i := range idx {
		demand += claims[i].Amount
	}
	if demand <= capacity {
		for _, i := range idx {
			grants[i] = claims[i].Amount
		}
		return capacity - demand
	}
	for _, i := range idx {
		grants[i] = capacity * (claims[i].Amount / demand)
	}
	return 0
}

// byPriority serves priority levels from the highest down.
func byPriority(claims []Claim, capacity float64, grants []float64) {
	idx := allIndices(len(claims))
	slices.SortStableFunc(idx, func(i, j int) int { return claims[j].Priority - claims[i].Priority })
	for start := 0; start < len(idx) && capacity > 0; {
		end := start + 1
		for end < len(idx) && claims[idx[end]].Priority == claims[idx[start]].Priority {
			end++
		}
		capacity = shareOut(claims, idx[start:end], capacity, grants)
		start = end
	}
}

// byBid serves the highest unit bids first and returns the uniform unit
// price: the highest bid not fully served.
func byBid(claims []Claim, capacity float64, grants []float64) float64 {
	idx := allIndices(len(claims))
	slices.SortStableFunc(idx, func(i, j int) int { return -compareTol(claims[i].Bid, claims[j].Bid) })
	for start := 0; start < len(idx); {
		end := start + 1
		for end < len(idx) && compareTol(claims[idx[end]].Bid, claims[idx[start]].Bid) == 0 {
			end++
		}
		level := idx[start:end]
		capacity = shareOut(claims, level, capacity, grants)
		for _, i := range level {
			if grants[i] < claims[i].Amount {
				return claims[i].Bid // the first level not fully served sets the price
			}
		}
		start = end
	}
	return 0
}

// Settle chooses one value for a shared variable the claims set. If all
// claims agree (after Normalize) that value stands and nothing is
// recorded; otherwise the conflict is settled by the Strategy and
// recorded (see Allocate for failed escalation). A Coordinator may choose
// a value nobody proposed. Errors are as for Allocate.
func (r *Resolver) Settle(ctx context.Context, subject string, claims []Claim) (Resolution, error) {
	if err := r.validate(claims); err != nil {
		return Resolution{}, err
	}
	norm := func(s string) string {
		if r.Normalize != nil {
			return r.Normalize(s)
		}
		return s
	}
	// Distinct values with their summed weight, claimant count, best
	// priority and best bid.
	type value struct {
		v         string
		weight    float64
		claimants int
		priority  int
		bid       float64
	}
	var vals []value
	for i := range claims {
		c := &claims[i]
		v := norm(c.Value)
		k := slices.IndexFunc(vals, func(x value) bool { return x.v == v })
		if k < 0 {
			vals = append(vals, value{v: v, priority: c.Priority, bid: c.Bid})
			k = len(vals) - 1
		}
		x := &vals[k]
		w := c.Amount
		if w == 0 {
			w = 1
		}
		x.weight += w
		x.claimants++
		x.priority = max(x.priority, c.Priority)
		x.bid = max(x.bid, c.Bid)
	}
	base := Overhead{Rounds: 1, Messages: len(claims)}
	if len(vals) == 1 {
		return Resolution{Conflict: Conflict{Subject: subject, Claims: slices.Clone(claims)}, Value: vals[0].v, Overhead: base}, nil
	}
	c := r.begin(Disagreement, subject, 0, claims)
	res := Resolution{Conflict: c, Strategy: r.strategy(), Overhead: base}
	byWeight := func(a, b value) int {
		if d := compareTol(a.weight, b.weight); d != 0 {
			return -d
		}
		if a.claimants != b.claimants {
			return b.claimants - a.claimants
		}
		return strings.Compare(a.v, b.v)
	}
	switch res.Strategy {
	case ByPriority:
		slices.SortFunc(vals, func(a, b value) int {
			if a.priority != b.priority {
				return b.priority - a.priority
			}
			return byWeight(a, b)
		})
		res.Value = vals[0].v
	case Proportional:
		slices.SortFunc(vals, byWeight)
		res.Value = vals[0].v
	case ByAuction:
		slices.SortFunc(vals, func(a, b value) int {
			if a.bid != b.bid {
				if a.bid > b.bid {
					return -1
				}
				return 1
			}
			return strings.Compare(a.v, b.v)
		})
		res.Value, res.Price = vals[0].v, vals[1].bid
		res.Overhead.Bids = len(claims)
	case Escalate:
		err := r.escalate(ctx, &res)
		if err == nil && res.Value == "" {
			err = fmt.Errorf("%w: no value chosen", ErrBadResolution)
		}
		res.Grants = nil
		if err != nil {
			r.finish(&res)
			return res, err
		}
	}
	r.finish(&res)
	return res, nil
}
