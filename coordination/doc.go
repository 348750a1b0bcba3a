// Package coordination provides the protocols by which agents of a team
// decide together: consensus, auctions, markets, conflict resolution and
// hierarchical coordination, plus the token-budget splits the team uses.
// Most are a value with one call, e.g. Consensus{}.Decide(votes) or
// SealedBid{Pricing: SecondPrice}.Run(bids).
//
// Every protocol is a plain Go value whose zero value is a sensible
// default, with a documented rule, deterministic tie-breaking (by agent
// or bidder id, never by luck) and no hidden state; only Resolver keeps a
// record. Inputs are validated: errors are *InputError (matching
// ErrInvalid with errors.Is, and naming the field, e.g.
// "votes[3].Confidence") or a sentinel such as ErrNoVotes.
//
// # Consensus
//
// A Vote is (agent, answer, confidence, weight). Consensus compares
// answers after its Normalize function, weighs votes equally or by given
// weight (expertise, AccuracyWeight of a past record), confidence or both,
// optionally capping any one agent's share (MaxShare), and ranks answers
// by support, voters, confidence and answer. The Rule sets the quota the
// leader needs: Majority (more than half; with the default
// FallbackLeader this is plurality voting), Supermajority (Threshold) or
// Unanimity; a Fallback decides when it is not met. The Decision reports
// the answer, whether the quota was reached, the agreement level and the
// full tally, and does not depend on the order the votes are listed in.
// Refine iterates: it re-asks agents through a callback, showing them the
// tally, until agreement reaches Target or MaxRounds.
//
// # Auctions
//
// SealedBid sells one or more identical units at first price or second
// price (Vickrey, where truthful bidding is dominant), with a reserve.
// English raises a price clock by an increment, Dutch lowers one; both
// take each bidder's limit. Combinatorial sells bundles of items: exact
// winner determination by branch and bound (up to 32 bids by default; 20
// bids take microseconds), the greedy rule of Lehmann et al. beyond, and
// optional VCG payments.
//
// # Markets
//
// CallMarket clears buy and sell limit orders for a divisible resource at
// one price, reporting traded quantities and buyer and seller surplus.
// Budget splits a token budget equally, by a uniform-price auction of
// value-per-token bids, or by a market in which agents endowed with equal
// shares trade.
//
// # Conflicts and hierarchy
//
// A Resolver settles agents demanding more of a resource than exists
// (Allocate) or setting a shared variable differently (Settle) by
// priority, proportional share, auction, or escalation to a Coordinator,
// and records every conflict with its resolution. Hierarchy groups
// agents under coordinators of bounded fan-out that decide locally when
// their group agrees and escalate their tally when it does not, so
// hundreds of agents decide in ⌈log_FanOut n⌉ rounds.
//
// # Events and overhead
//
// Every protocol takes an Observer that receives structured events
// (started, bid, round, decided, conflict, resolved); LogObserver writes
// them to a log/slog Logger and Counter sums them. A nil Observer costs
// nothing: no event is built. Every outcome carries an Overhead (rounds,
// messages, bids) for the evaluation engine's coordination-overhead
// metrics, with or without an Observer.
package coordination
