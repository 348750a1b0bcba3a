package coordination

import (
	"slices"
)

// Hierarchy is hierarchical consensus for large teams. Agents, in the
// order listed, are grouped FanOut at a time under coordinators, and
// coordinators FanOut at a time under higher ones, up to one root: a
// tree of depth ⌈log_FanOut n⌉. Each coordinator merges what its
// children report and applies the Consensus rule locally: if the rule is
// reached it decides, reporting one answer carrying the whole group's
// support upward (delegation); otherwise it escalates its full tally. The
// root applies the rule with its Fallback. So 1,000 agents under FanOut 10
// decide in 3 rounds, and if every group escalates the root decides
// exactly what flat Consensus would.
//
// The zero Hierarchy is plurality voting under coordinators of 8.
type Hierarchy struct {
	// FanOut is the most children a coordinator has, >= 2; 0 means 8.
	FanOut int
	// Consensus is the rule every coordinator applies; its Target,
	// MaxRounds and Observer are unused, MaxShare caps shares among all
	// agents, and Fallback applies at the root.
	Consensus Consensus
	// Observer receives the events; nil means none.
	Observer Observer
}

// HierarchyDecision is the outcome of a hierarchical consensus. Its
// Decision's Tally is what the root saw (decided groups count with their
// whole support for their answer), Reached is the root's rule, and
// Agreement and Confidence are Answer's true share of all agents' support
// and its voters' mean confidence. Overhead.Rounds is Levels; Messages
// counts each vote and each tally entry sent up a level.
type HierarchyDecision struct {
	Decision
	// Levels is the depth of the coordinator tree (1: a single
	// coordinator).
	Levels int
	// Coordinators counts the tree's coordinators, the root included.
	Coordinators int
	// Local counts the coordinators below the root that decided; Escalated
	// those that passed their tally up.
	Local, Escalated int
}

// hitem is one answer reported up the tree.
type hitem struct {
	answer  string
	votes   int
	support float64
	conf    float64 // summed confidence of the votes
}

// Decide runs the hierarchy over votes. Errors are as for
// Consensus.Decide.
func (h Hierarchy) Decide(votes []Vote) (HierarchyDecision, error) {
	const protocol = "consensus/hierarchy"
	c := &h.Consensus
	if err := c.validate(); err != nil {
		return HierarchyDecision{}, err
	}
	fan := h.FanOut
	if fan == 0 {
		fan = 8
	}
	if fan < 2 {
		return HierarchyDecision{}, &InputError{Field: "FanOut", Msg: "must be >= 2, or 0 for 8"}
	}
	n := len(votes)
	if n == 0 {
		return HierarchyDecision{}, ErrNoVotes
	}
	w, err := c.weights(votes, nil)
	if err != nil {
		return HierarchyDecision{}, err
	}
	obs := h.Observer
	if obs != nil {
		obs.Observe(Event{Kind: EventStarted, Protocol: protocol, Round: 1, Amount: float64(n)})
	}
	var out HierarchyDecision
	out.Voters = n
	// Leaves: one item per vote; cur[off[k]:off[k+1]] is child k's report.
	cur := make([]hitem, n)
	off := make([]int, n+1)
	best := -1 // the most confident vote, for FallbackMostConfident
	total := 0.0
	for i := range votes {
		a := votes[i].Answer
		if c.Normalize != nil {
			a = c.Normalize(a)
		}
		cur[i] = hitem{answer: a, votes: 1, support: w[i], conf: votes[i].Confidence}
		off[i+1] = i + 1
		total += w[i]
		if a == "" {
			out.Abstained++
		} else if best < 0 || moreConfident(&votes[i], w[i], a, &votes[best], w[best], cur[best].answer) {
			best = i
		}
		if obs != nil {
			obs.Observe(Event{Kind: EventBid, Protocol: protocol, Round: 1, Agent: votes[i].Agent, Subject: a, Amount: w[i]})
		}
	}
	leaves := slices.Clone(cur[:n])
	out.Overhead.Messages = n

	var next []hitem
	nextOff := make([]int, 0, n/fan+2)
	var local []hitem // one coordinator's merged tally
	children := n
	for level := 1; ; level++ {
		out.Levels = level
		groups := (children + fan - 1) / fan
		out.Coordinators += groups
		if obs != nil {
			obs.Observe(Event{Kind: EventRound, Protocol: protocol, Round: level, Amount: float64(groups)})
		}
		if groups == 1 {
			local = mergeItems(local[:0], cur[off[0]:off[children]])
			break
		}
		next, nextOff = next[:0], append(nextOff[:0], 0)
		for g := 0; g < groups; g++ {
			lo, hi := g*fan, min((g+1)*fan, children)
			local = mergeItems(local[:0], cur[off[lo]:off[hi]])
			sum := hitem{}
			for _, it := range local {
				sum.votes += it.votes
				sum.support += it.support
			}
			lead := leader(local)
			if lead >= 0 && c.quota(local[lead].support, sum.support, local[lead].votes, sum.votes) {
				l := local[lead]
				next = append(next, hitem{answer: l.answer, votes: sum.votes, support: sum.support,
					conf: l.conf / float64(l.votes) * float64(sum.votes)})
				out.Local++
			} else {
				next = append(next, local...)
				out.Escalated++
			}
			nextOff = append(nextOff, len(next))
		}
		out.Overhead.Messages += len(next)
		cur, next = next, cur
		off, nextOff = nextOff, off
		children = groups
	}
	out.Overhead.Rounds = out.Levels

	// The root: rank its tally and apply the rule with the fallback.
	rootTotal, rootVotes := 0.0, 0
	for _, it := range local {
		rootTotal += it.support
		rootVotes += it.votes
	}
	out.Tally = make([]Option, 0, len(local))
	for _, it := range local {
		if it.answer != "" {
			out.Tally = append(out.Tally, Option{Answer: it.answer, Votes: it.votes, Support: it.support, Confidence: it.conf})
		}
	}
	slices.SortFunc(out.Tally, compareOptions)
	for k := range out.Tally {
		out.Tally[k].Confidence /= float64(out.Tally[k].Votes)
	}
	if len(out.Tally) > 0 {
		lead := &out.Tally[0]
		out.Reached = c.quota(lead.Support, rootTotal, lead.Votes, rootVotes)
		out.Answer = lead.Answer
		if !out.Reached {
			switch c.Fallback {
			case FallbackMostConfident:
				out.Answer = leaves[best].answer
			case FallbackNone:
				out.Answer = ""
				err = ErrNoConsensus
			}
		}
	} else if c.Fallback == FallbackNone {
		err = ErrNoConsensus
	}
	// True agreement and confidence among the agents.
	target := out.Answer
	if target == "" && len(out.Tally) > 0 {
		target = out.Tally[0].Answer // FallbackNone reports the leader's share
	}
	if target != "" {
		support, conf, k := 0.0, 0.0, 0
		for _, it := range leaves {
			if it.answer == target {
				support += it.support
				conf += it.conf
				k++
			}
		}
		if total > 0 {
			out.Agreement = support / total
		}
		if out.Answer != "" {
			out.Confidence = conf / float64(k)
		}
	}
	if obs != nil {
		obs.Observe(Event{Kind: EventDecided, Protocol: protocol, Round: out.Levels, Subject: out.Answer,
			Amount: out.Agreement, Overhead: out.Overhead})
	}
	return out, err
}

// mergeItems appends to dst the items of src with equal answers merged, in
// order of first appearance.
func mergeItems(dst, src []hitem) []hitem {
	for _, it := range src {
		k := -1
		for j := range dst {
			if dst[j].answer == it.answer {
				k = j
				break
			}
		}
		if k < 0 {
			dst = append(dst, it)
			continue
		}
		dst[k].votes += it.votes
		dst[k].support += it.support
		dst[k].conf += it.conf
	}
	return dst
}

// leader returns the index of the best non-abstaining item under the
// consensus ranking, or -1.
func leader(items []hitem) int {
	best := -1
	for k := range items {
		if items[k].answer == "" {
			continue
		}
		if best < 0 || compareOptions(
			Option{Answer: items[k].answer, Votes: items[k].votes, Support: items[k].support, Confidence: items[k].conf},
			Option{Answer: items[best].answer, Votes: items[best].votes, Support: items[best].support, Confidence: items[best].conf}) < 0 {
			best = k
		}
	}
	return best
}
