package coordination

import (
	"context"
	"math"
	"slices"
	"strings"
)

// Rule is a consensus rule: the quota of support the leading answer needs.
// Every rule ranks answers the same way (see Consensus); rules differ only
// in when the leader's win counts as reached.
type Rule string

// Consensus rules.
const (
	// Majority: reached when the leader has more than half of all support.
	// With the default FallbackLeader it is plurality voting.
	Majority Rule = "majority"
	// Supermajority: reached when the leader has at least Threshold of all
	// support.
	Supermajority Rule = "supermajority"
	// Unanimity: reached when every voter gave the leading answer (none
	// abstained or dissented, whatever their weights).
	Unanimity Rule = "unanimity"
)

// Fallback says what a consensus decides when its rule's quota is not met.
type Fallback string

// Fallbacks.
const (
	// FallbackLeader: the leading answer wins anyway (plurality).
	FallbackLeader Fallback = "leader"
	// FallbackMostConfident: the answer of the single most confident voter
	// wins; ties go to the larger weight, then the smaller answer, then the
	// smaller agent id.
	FallbackMostConfident Fallback = "most-confident"
	// FallbackNone: no answer; Decide returns ErrNoConsensus.
	FallbackNone Fallback = "none"
)

// Weighting says how much support one vote carries.
type Weighting string

// Weightings.
const (
	// WeightEqual: one agent, one vote (weight 1).
	WeightEqual Weighting = "equal"
	// WeightGiven: Vote.Weight, e.g. expertise or AccuracyWeight of the
	// agent's past record.
	WeightGiven Weighting = "given"
	// WeightConfidence: Vote.Confidence.
	WeightConfidence Weighting = "confidence"
	// WeightGivenConfidence: Vote.Weight × Vote.Confidence.
	WeightGivenConfidence Weighting = "given-confidence"
)

// Vote is one agent's answer.
type Vote struct {
	// Agent identifies the voter; one vote per agent.
	Agent string
	// Answer is compared after Consensus.Normalize; an answer that
	// normalises to "" abstains (and counts against every answer).
	Answer string
	// Confidence is the voter's confidence in Answer, in [0, 1].
	Confidence float64
	// Weight is the voter's weight under WeightGiven and
	// WeightGivenConfidence, >= 0; ignored otherwise. The zero value gives
	// the vote no support under those weightings.
	Weight float64
}

// Consensus is a voting protocol: a rule, a fallback and a weighting. Its
// zero value is plurality voting with one vote per agent. A Consensus is a
// plain value, safe for concurrent use if its Normalize and Observer are.
//
// Answers are ranked by support (summed weight), then by number of voters,
// then by summed confidence, then by the answer in byte order; supports
// within a relative 1e-9 count as equal. The ranking is total and
// independent of the order votes are listed in, so decisions are
// deterministic.
type Consensus struct {
	// Rule is the quota; "" means Majority.
	Rule Rule
	// Threshold is the Supermajority quota, in (0.5, 1]; 0 means 2/3.
	Threshold float64
	// Fallback applies when the quota is not met; "" means FallbackLeader.
	Fallback Fallback
	// Weighting sets each vote's support; "" means WeightEqual.
	Weighting Weighting
	// MaxShare caps any one agent's share of the total weight, in (0, 1];
	// weights above the cap are lowered to it (and the cap recomputed on
	// the new total) until no share exceeds it. If it cannot hold because
	// too few agents have weight, those agents get equal weights. 0 means
	// no cap.
	MaxShare float64
	// Normalize maps answers to the form they are compared in, e.g.
	// datasets.Normalize; nil means identity. The decided Answer is in
	// normalised form.
	Normalize func(string) string
	// Target is the agreement at which Refine stops; 0 means when the rule
	// is reached (a strict majority under Majority).
	Target float64
	// MaxRounds is the most tallies Refine takes, the first included; 0
	// means 3.
	MaxRounds int
	// Observer receives the events; nil means none.
	Observer Observer
}

// Option is one distinct answer in a tally.
type Option struct {
	Answer     string  // normalised answer
	Votes      int     // voters who gave it
	Support    float64 // their summed weight
	Confidence float64 // their mean confidence
}

// Decision is the outcome of a consensus.
type Decision struct {
	// Answer is the decided answer in normalised form; "" when every voter
	// abstained or FallbackNone applied.
	Answer string
	// Reached reports whether the rule's quota was met; if not, Answer came
	// from the Fallback.
	Reached bool
	// Agreement is Answer's share of all support, abstentions included, in
	// [0, 1]; under FallbackNone the leader's share. 0 if all support is 0.
	Agreement float64
	// Confidence is the mean confidence of Answer's voters.
	Confidence float64
	// Voters is the number of votes, abstentions included; Abstained how
	// many of them abstained.
	Voters, Abstained int
	// Tally lists every answer given, best first.
	Tally []Option
	// Overhead counts the run's rounds and messages.
	Overhead Overhead
}

// rule returns the rule with its default applied.
func (c *Consensus) rule() Rule {
	if c.Rule == "" {
		return Majority
	}
	return c.Rule
}

func (c *Consensus) threshold() float64 {
	if c.Threshold == 0 {
		return 2.0 / 3
	}
	return c.Threshold
}

func (c *Consensus) protocol() string {
	switch c.rule() {
	case Supermajority:
		return "consensus/supermajority"
	case Unanimity:
		return "consensus/unanimity"
	}
	return "consensus/majority"
}

// validate checks the settings.
func (c *Consensus) validate() error {
	switch c.Rule {
	case "", Majority, Supermajority, Unanimity:
	default:
		return &InputError{Field: "Rule", Msg: "unknown rule " + quote(string(c.Rule)) + " (known: majority, supermajority, unanimity)"}
	}
	switch c.Fallback {
	case "", FallbackLeader, FallbackMostConfident, FallbackNone:
	default:
		return &InputError{Field: "Fallback", Msg: "unknown fallback " + quote(string(c.Fallback)) + " (known: leader, most-confident, none)"}
	}
	switch c.Weighting {
	case "", WeightEqual, WeightGiven, WeightConfidence, WeightGivenConfidence:
	default:
		return &InputError{Field: "Weighting", Msg: "unknown weighting " + quote(string(c.Weighting)) + " (known: equal, given, confidence, given-confidence)"}
	}
	if c.Threshold != 0 && !(c.Threshold > 0.5 && c.Threshold <= 1) {
		return &InputError{Field: "Threshold", Msg: "must be in (0.5, 1], or 0 for 2/3"}
	}
	if !(c.MaxShare >= 0 && c.MaxShare <= 1) {
		return &InputError{Field: "MaxShare", Msg: "must be in (0, 1], or 0 for no cap"}
	}
	if !(c.Target >= 0 && c.Target <= 1) {
		return &InputError{Field: "Target", Msg: "must be in [0, 1]"}
	}
	if c.MaxRounds < 0 {
		return &InputError{Field: "MaxRounds", Msg: "must be >= 0"}
	}
	return nil
}

func quote(s string) string { return `"` + s + `"` }

// weight returns the raw support of v under the weighting.
func (c *Consensus) weight(v *Vote) float64 {
	switch c.Weighting {
	case WeightGiven:
		return v.Weight
	case WeightConfidence:
		return v.Confidence
	case WeightGivenConfidence:
		return v.Weight * v.Confidence
	}
	return 1
}

// Decide tallies votes under c. Under FallbackNone without a quota it
// returns the filled Decision and ErrNoConsensus; other errors are
// ErrNoVotes and *InputError.
func (c Consensus) Decide(votes []Vote) (Decision, error) {
	var d Decision
	err := c.DecideInto(votes, &d)
	return d, err
}

// DecideInto is Decide writing into d, reusing d.Tally's storage: with
// no Observer, the default Normalize, at most 128 votes and 32 distinct
// answers it does not allocate once d.Tally has grown, so a caller
// deciding many times can keep one Decision.
func (c Consensus) DecideInto(votes []Vote, d *Decision) error {
	if err := c.validate(); err != nil {
		return err
	}
	return c.decide(votes, d, 1)
}

// quotaEps absorbs rounding in summed supports when comparing shares.
const quotaEps = 1e-9

// decide is DecideInto without validation; round numbers the events.
func (c *Consensus) decide(votes []Vote, d *Decision, round int) error {
	n := len(votes)
	if n == 0 {
		return ErrNoVotes
	}
	var wbuf [128]float64
	w, err := c.weights(votes, wbuf[:0])
	if err != nil {
		return err
	}
	obs := c.Observer
	if obs != nil {
		obs.Observe(Event{Kind: EventStarted, Protocol: c.protocol(), Round: round, Amount: float64(n)})
	}

	*d = Decision{Tally: d.Tally[:0], Voters: n}
	var index map[string]int // built only when there are many distinct answers
	total := 0.0
	best := -1 // the most confident non-abstaining vote, for FallbackMostConfident
	var bestAnswer string
	for i := range votes {
		v := &votes[i]
		a := v.Answer
		if c.Normalize != nil {
			a = c.Normalize(a)
		}
		total += w[i]
		if obs != nil {
			obs.Observe(Event{Kind: EventBid, Protocol: c.protocol(), Round: round, Agent: v.Agent, Subject: a, Amount: w[i]})
		}
		if a == "" {
			d.Abstained++
			continue
		}
		if best < 0 || moreConfident(v, w[i], a, &votes[best], w[best], bestAnswer) {
			best, bestAnswer = i, a
		}
		k := -1
		if index != nil {
			if j, ok := index[a]; ok {
				k = j
			}
		} else {
			for j := range d.Tally {
				if d.Tally[j].Answer == a {
					k = j
					break
				}
			}
		}
		if k < 0 {
			d.Tally = append(d.Tally, Option{Answer: a})
			k = len(d.Tally) - 1
			if index != nil {
				index[a] = k
			} else if k >= 32 {
				index = make(map[string]int, 2*k)
				for j := range d.Tally {
					index[d.Tally[j].Answer] = j
				}
			}
		}
		o := &d.Tally[k]
		o.Votes++
		o.Support += w[i]
		o.Confidence += v.Confidence // summed until ranked
	}
	slices.SortFunc(d.Tally, compareOptions)
	for k := range d.Tally {
		d.Tally[k].Confidence /= float64(d.Tally[k].Votes)
	}
	d.Overhead = Overhead{Rounds: 1, Messages: n}

	if len(d.Tally) > 0 {
		lead := &d.Tally[0]
		share := 0.0
		if total > 0 {
			share = lead.Support / total
		}
		d.Reached = c.quota(lead.Support, total, lead.Votes, n)
		pick := lead
		if !d.Reached {
			switch c.Fallback {
			case FallbackMostConfident:
				for k := range d.Tally {
					if d.Tally[k].Answer == bestAnswer {
						pick = &d.Tally[k]
						break
					}
				}
			case FallbackNone:
				pick = nil
				err = ErrNoConsensus
			}
		}
		if pick == nil {
			d.Agreement = share
		} else {
			d.Answer, d.Confidence = pick.Answer, pick.Confidence
			if total > 0 {
				d.Agreement = pick.Support / total
			}
		}
	} else if c.Fallback == FallbackNone {
		err = ErrNoConsensus
	}
	if obs != nil {
		obs.Observe(Event{Kind: EventDecided, Protocol: c.protocol(), Round: round, Subject: d.Answer,
			Amount: d.Agreement, Overhead: d.Overhead})
	}
	return err
}

// quota reports whether an answer with the given support and voters meets
// the rule among voters votes of total support.
func (c *Consensus) quota(support, total float64, votes, voters int) bool {
	switch c.rule() {
	case Supermajority:
		return total > 0 && support/total >= c.threshold()-quotaEps
	case Unanimity:
		return votes == voters
	}
	return total > 0 && support/total > 0.5+quotaEps
}

// weights validates votes and returns their support in buf (grown if
// short), capped by MaxShare.
func (c *Consensus) weights(votes []Vote, buf []float64) ([]float64, error) {
	w := buf[:0]
	if cap(w) < len(votes) {
		w = make([]float64, 0, len(votes))
	}
	for i := range votes {
		v := &votes[i]
		if !(v.Confidence >= 0 && v.Confidence <= 1) {
			return nil, itemError("votes", i, "Confidence", v.Agent, "must be in [0, 1]")
		}
		if !(v.Weight >= 0) || math.IsInf(v.Weight, 0) {
			return nil, itemError("votes", i, "Weight", v.Agent, "must be finite and >= 0")
		}
		w = append(w, c.weight(v))
	}
	if c.MaxShare > 0 && c.MaxShare < 1 {
		capShares(w, c.MaxShare)
	}
	return w, nil
}

// compareOptions orders options best first; see Consensus for the ranking.
func compareOptions(a, b Option) int {
	if c := compareTol(a.Support, b.Support); c != 0 {
		return -c
	}
	if a.Votes != b.Votes {
		if a.Votes > b.Votes {
			return -1
		}
		return 1
	}
	if c := compareTol(a.Confidence, b.Confidence); c != 0 {
		return -c
	}
	return strings.Compare(a.Answer, b.Answer)
}

// compareTol compares x and y, treating values within a relative 1e-9 as
// equal, so that sums taken in different orders rank alike.
func compareTol(x, y float64) int {
	if math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y)) {
		return 0
	}
	if x < y {
		return -1
	}
	return 1
}

// moreConfident reports whether vote v (weight wv, normalised answer av)
// outranks vote u for FallbackMostConfident.
func moreConfident(v *Vote, wv float64, av string, u *Vote, wu float64, au string) bool {
	if v.Confidence != u.Confidence {
		return v.Confidence > u.Confidence
	}
	if wv != wu {
		return wv > wu
	}
	if av != au {
		return av < au
	}
	return v.Agent < u.Agent
}

// capShares lowers the largest weights of w in place until none exceeds a
// share s of the total, or makes all positive weights equal if the cap
// cannot hold.
func capShares(w []float64, s float64) {
	m := 0
	for _, x := range w {
		if x > 0 {
			m++
		}
	}
	if m == 0 {
		return
	}
	equalise := func() {
		for i, x := range w {
			if x > 0 {
				w[i] = 1
			}
		}
	}
	if float64(m)*s <= 1 {
		equalise()
		return
	}
	// Capped weights are marked by a negative sign. The cap c falls as
	// agents are capped, so a capped agent stays capped.
	capped := 0
	var c float64
	for {
		rest := 0.0
		for _, x := range w {
			if x > 0 {
				rest += x
			}
		}
		den := 1 - float64(capped)*s
		if den <= 0 {
			equalise()
			return
		}
		c = s * rest / den
		added := false
		for i, x := range w {
			if x > c*(1+1e-12) {
				w[i] = -x
				capped++
				added = true
			}
		}
		if !added {
			break
		}
	}
	for i, x := range w {
		if x < 0 {
			w[i] = c
		}
	}
}

// Reask asks the agents again, showing them the current decision (its
// Tally is theirs to keep), and returns their new votes. round is the
// number of the coming tally, from 2.
type Reask func(ctx context.Context, round int, current Decision) ([]Vote, error)

// Refine is iterative consensus: it tallies votes and, while agreement is
// below Target (or the rule is not reached, if Target is 0) and fewer than
// MaxRounds tallies were taken, calls reask for new votes and tallies
// again. The Decision is the last tally's, with Overhead summed over all
// rounds: Rounds tallies, and Messages counting each vote and each tally
// announced to a voter. Refine stops with ctx's error if ctx ends between
// rounds. ErrNoConsensus is returned only for the last tally.
func (c Consensus) Refine(ctx context.Context, votes []Vote, reask Reask) (Decision, error) {
	if err := c.validate(); err != nil {
		return Decision{}, err
	}
	if reask == nil {
		return Decision{}, &InputError{Field: "reask", Msg: "must not be nil"}
	}
	maxRounds := c.MaxRounds
	if maxRounds == 0 {
		maxRounds = 3
	}
	var total Overhead
	for round := 1; ; round++ {
		var d Decision
		err := c.decide(votes, &d, round)
		if err != nil && err != ErrNoConsensus {
			return d, err
		}
		total.Messages += d.Overhead.Messages
		total.Rounds = round
		d.Overhead = total
		done := d.Reached
		if c.Target > 0 {
			done = d.Agreement >= c.Target-quotaEps
		}
		if done || round == maxRounds {
			return d, err
		}
		if err := ctx.Err(); err != nil {
			return d, err
		}
		total.Messages += len(votes) // the tally, announced to each voter
		votes, err = reask(ctx, round+1, d)
		if err != nil {
			return d, err
		}
	}
}

// AccuracyWeight turns an agent's record (correct answers out of total, on
// questions with choices possible answers; choices < 2 means 2) into a
// vote weight: the log-odds weight ln(p(choices−1)/(1−p)) that is optimal
// for independent voters, with p the Laplace-smoothed accuracy
// (correct+1)/(total+2). Agents no better than chance get 0.
func AccuracyWeight(correct, total, choices int) float64 {
	if choices < 2 {
		choices = 2
	}
	correct = min(max(correct, 0), max(total, 0))
	p := (float64(correct) + 1) / (float64(max(total, 0)) + 2)
	return max(0, math.Log(p*float64(choices-1)/(1-p)))
}
