package team

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/mabeam/mabeam/lm/prompt"
)

// AgentSpec describes one agent concretely.
type AgentSpec struct {
	// ID names the agent uniquely within the team; it must not be empty.
	ID string
	// Role is a registered role (RoleNames); "" means RoleSolver.
	Role string
	// Kind is a registered agent kind (KindNames); "" means KindLM.
	Kind string
	// Model is the model name passed to lm.Request.Model; KindLM needs it.
	Model string
	// Temperature is the sampling temperature in [0, 2]; 0 is greedy.
	Temperature float64
	// MaxTokens caps each completion; 0 means the backend's default.
	MaxTokens int
	// Instruction is the agent's instruction; "" means the role's default.
	Instruction string
	// Demos are worked examples shown in the system message; a demo is
	// left out of the calls on its own question (matched exactly), so an
	// agent never sees the answer to the question it is asked.
	Demos []prompt.Demo
	// Rules are advice lines shown in the system message (SIMBA's rules).
	Rules []string
	// Weight is the agent's vote weight under AggWeighted: its vote counts
	// Weight × its stated confidence. It is the searched knob for an
	// agent's expertise (the team cannot see the model's skill). Nil
	// means 1; 0 gives the agent's vote no support (a searched weight of 0
	// silences the agent).
	Weight *float64
}

// Edge is a directed communication link: To reads From's messages.
type Edge struct {
	From, To string
}

// Aggregation protocols. Every one but AggJudge is a coordination.Consensus
// (or coordination.Hierarchy) over the voters' final answers, compared
// after datasets.Normalize; the team answer is the original text of the
// winning answer's first voter in agent order.
const (
	// AggMajority: plurality vote, one vote per agent; ties go to the
	// larger summed confidence, then the lexically smaller normalised
	// answer (coordination.Majority with FallbackLeader).
	AggMajority = "majority"
	// AggSupermajority: the plurality wins if its share of the voting
	// agents (abstentions count against it) is at least Threshold;
	// otherwise the answer of the single most confident agent is the team
	// answer, ties going to the lexically smaller answer, then the smaller
	// agent id (coordination.Supermajority with FallbackMostConfident).
	AggSupermajority = "supermajority"
	// AggWeighted: each answer scores the sum of Weight × confidence of its
	// voters; ties go to the larger count, then the larger summed
	// confidence, then the lexically smaller answer
	// (coordination.WeightGivenConfidence).
	AggWeighted = "weighted"
	// AggHierarchical: plurality voting under coordinators of FanOut agents
	// each, in agent order: a coordinator whose group has a strict
	// majority reports that answer with the whole group's votes, else it
	// passes its tally up (coordination.Hierarchy), like an electoral
	// college. With no more than FanOut voters it is AggMajority.
	AggHierarchical = "hierarchical"
	// AggJudge: the judge agent is called once after the last round with
	// every other agent's final answer as peers; its answer is the team
	// answer. If the judge abstains (gives no answer), majority decides.
	AggJudge = "judge"
)

// Budget allocation methods: how the turns of the debate rounds are
// allotted (see the package doc). The names match the team space's
// budget variable and coordination.BudgetMethod.
const (
	// BudgetEqual: every agent's turn costs the same claim on the round's
	// token budget (max-min fair shares); with no TokenBudget every agent
	// speaks in every round, as without a budget.
	BudgetEqual = "equal"
	// BudgetAuction: before each debate round every agent bids the value of
	// its turn, the share of the confidence-weighted voices it reads that
	// disagree with it; agents whose value does not exceed BidReserve sit
	// the round out, and the round's tokens go to the highest bids first
	// (a uniform-price auction, coordination.SplitAuction).
	BudgetAuction = "auction"
	// BudgetMarket: bids as under BudgetAuction, but the bidders are
	// endowed with equal shares of the round's tokens and trade them at one
	// price (coordination.SplitMarket); the tokens end where the auction
	// puts them, so the same agents speak.
	BudgetMarket = "market"
)

// Spec is a concrete, validated team description. The zero value of each
// optional field is its default.
type Spec struct {
	// Agents are the team members, in the order they are called.
	Agents []AgentSpec
	// Edges is the topology of the debate rounds. Under AggJudge, edges
	// that touch the judge are ignored: the judge does not debate and
	// always reads every other agent.
	Edges []Edge
	// Rounds is the number of debate rounds after round 0; 0 means none.
	Rounds int
	// Aggregation is one of the Agg* protocols; "" means AggMajority.
	Aggregation string
	// Threshold is the share of voters AggSupermajority needs, in (0.5, 1];
	// 0 means 2/3.
	Threshold float64
	// Judge is the id of the judge agent under AggJudge; "" means the first
	// agent whose role is RoleJudge. It is ignored by other aggregations,
	// under which every agent, judges included, votes.
	Judge string
	// FanOut is the most agents (or coordinators) a coordinator groups
	// under AggHierarchical, >= 2; 0 means 3.
	FanOut int
	// Budget is how the debate rounds' turns are allotted: BudgetEqual,
	// BudgetAuction or BudgetMarket; "" means BudgetEqual.
	Budget string
	// TokenBudget caps the tokens (prompt and completion) of the debate
	// rounds 1..Rounds of one example, split round by round among the
	// agents; round 0 and the judge's call are not counted. 0 means no cap.
	TokenBudget int
	// BidReserve is the value of a turn an agent's bid must exceed under
	// BudgetAuction and BudgetMarket for it to speak, in [0, 1]; 0 means
	// any disagreement at all is worth a turn, 1 that none is.
	BidReserve float64
}

// budget returns s.Budget with the default applied.
func (s *Spec) budget() string {
	if s.Budget == "" {
		return BudgetEqual
	}
	return s.Budget
}

// fanOut returns s.FanOut with the default applied.
func (s *Spec) fanOut() int {
	if s.FanOut == 0 {
		return 3
	}
	return s.FanOut
}

// aggregation returns s.Aggregation with the default applied.
func (s *Spec) aggregation() string {
	if s.Aggregation == "" {
		return AggMajority
	}
	return s.Aggregation
}

// judgeIndex returns the index of the judge agent under AggJudge, or -1.
func (s *Spec) judgeIndex() int {
	if s.aggregation() != AggJudge {
		return -1
	}
	for i := range s.Agents {
		if s.Judge != "" && s.Agents[i].ID == s.Judge || s.Judge == "" && s.Agents[i].Role == RoleJudge {
			return i
		}
	}
	return -1
}

// Validate checks s and returns a *SpecError naming the first offending
// agent or field. It checks that roles and kinds are registered, but not
// what the kinds themselves require (New does, e.g. KindLM's model name).
func (s *Spec) Validate() error {
	if len(s.Agents) == 0 {
		return &SpecError{Field: "Agents", Msg: "no agents"}
	}
	seen := make(map[string]int, len(s.Agents))
	for i := range s.Agents {
		a := &s.Agents[i]
		f := "Agents[" + strconv.Itoa(i) + "]"
		if a.ID == "" {
			return &SpecError{Field: f + ".ID", Msg: "empty id"}
		}
		if j, dup := seen[a.ID]; dup {
			return &SpecError{Field: f + ".ID", Agent: a.ID, Msg: fmt.Sprintf("duplicate id (also Agents[%d])", j)}
		}
		seen[a.ID] = i
		if a.Role != "" {
			if _, err := LookupRole(a.Role); err != nil {
				return &SpecError{Field: f + ".Role", Agent: a.ID, Msg: fmt.Sprintf("unknown role %q (known: %v)", a.Role, RoleNames()), Err: err}
			}
		}
		if _, err := LookupKind(a.Kind); err != nil {
			return &SpecError{Field: f + ".Kind", Agent: a.ID, Msg: fmt.Sprintf("unknown kind %q (known: %v)", a.Kind, KindNames()), Err: err}
		}
		if !(a.Temperature >= 0 && a.Temperature <= 2) {
			return &SpecError{Field: f + ".Temperature", Agent: a.ID, Msg: fmt.Sprintf("%g outside [0, 2]", a.Temperature)}
		}
		if a.MaxTokens < 0 {
			return &SpecError{Field: f + ".MaxTokens", Agent: a.ID, Msg: fmt.Sprintf("%d is negative", a.MaxTokens)}
		}
		if w := a.Weight; w != nil && (!(*w >= 0) || math.IsInf(*w, 0)) {
			return &SpecError{Field: f + ".Weight", Agent: a.ID, Msg: fmt.Sprintf("%g is negative or not finite", *w)}
		}
	}
	type pair struct{ from, to string }
	edges := make(map[pair]int, len(s.Edges))
	for i, e := range s.Edges {
		f := "Edges[" + strconv.Itoa(i) + "]"
		if _, ok := seen[e.From]; !ok {
			return &SpecError{Field: f + ".From", Agent: e.From, Msg: "unknown agent"}
		}
		if _, ok := seen[e.To]; !ok {
			return &SpecError{Field: f + ".To", Agent: e.To, Msg: "unknown agent"}
		}
		if e.From == e.To {
			return &SpecError{Field: f, Agent: e.From, Msg: "self loop"}
		}
		if j, dup := edges[pair{e.From, e.To}]; dup {
			return &SpecError{Field: f, Agent: e.From, Msg: fmt.Sprintf("duplicate edge %s->%s (also Edges[%d])", e.From, e.To, j)}
		}
		edges[pair{e.From, e.To}] = i
	}
	if s.Rounds < 0 {
		return &SpecError{Field: "Rounds", Msg: fmt.Sprintf("%d is negative", s.Rounds)}
	}
	switch agg := s.aggregation(); agg {
	case AggMajority, AggWeighted, AggSupermajority, AggHierarchical:
	case AggJudge:
		if s.Judge != "" {
			if _, ok := seen[s.Judge]; !ok {
				return &SpecError{Field: "Judge", Agent: s.Judge, Msg: "unknown agent"}
			}
		}
		if s.judgeIndex() < 0 {
			return &SpecError{Field: "Judge", Msg: "aggregation judge needs a judge: set Judge or give an agent the role judge"}
		}
		if len(s.Agents) < 2 {
			return &SpecError{Field: "Agents", Msg: "aggregation judge needs at least one agent besides the judge"}
		}
	default:
		return &SpecError{Field: "Aggregation", Msg: fmt.Sprintf("unknown aggregation %q (known: %s, %s, %s, %s, %s)",
			agg, AggMajority, AggSupermajority, AggWeighted, AggHierarchical, AggJudge)}
	}
	if s.Threshold != 0 && !(s.Threshold > 0.5 && s.Threshold <= 1) {
		return &SpecError{Field: "Threshold", Msg: fmt.Sprintf("%g outside (0.5, 1]", s.Threshold)}
	}
	if s.FanOut != 0 && s.FanOut < 2 {
		return &SpecError{Field: "FanOut", Msg: fmt.Sprintf("%d is below 2", s.FanOut)}
	}
	switch b := s.budget(); b {
	case BudgetEqual, BudgetAuction, BudgetMarket:
	default:
		return &SpecError{Field: "Budget", Msg: fmt.Sprintf("unknown budget allocation %q (known: %s, %s, %s)",
			b, BudgetEqual, BudgetAuction, BudgetMarket)}
	}
	if s.TokenBudget < 0 {
		return &SpecError{Field: "TokenBudget", Msg: fmt.Sprintf("%d is negative", s.TokenBudget)}
	}
	if !(s.BidReserve >= 0 && s.BidReserve <= 1) {
		return &SpecError{Field: "BidReserve", Msg: fmt.Sprintf("%g outside [0, 1]", s.BidReserve)}
	}
	return nil
}

// Reaches reports whether agent id's answers can reach the team answer:
// the agent is in the team, and it decides (it votes with a weight above
// 0, or is the judge), or its answer travels along edges, one hop per
// debate round, to an agent that decides, or it is a voter under AggJudge
// (the judge reads every voter's final answer). An agent outside the team,
// or one muted by a weight of 0 under AggWeighted with no path to a
// deciding agent within the rounds, cannot reach it. It looks at the
// structure only, not at what the agents say.
func (s *Spec) Reaches(id string) bool {
	at := slices.IndexFunc(s.Agents, func(a AgentSpec) bool { return a.ID == id })
	if at < 0 {
		return false
	}
	judge := s.judgeIndex()
	decides := func(i int) bool {
		switch {
		case judge >= 0:
			return true // the judge, or a voter the judge reads
		case s.aggregation() == AggWeighted:
			return s.Agents[i].Weight == nil || *s.Agents[i].Weight > 0
		}
		return true
	}
	index := make(map[string]int, len(s.Agents))
	for i, a := range s.Agents {
		index[a.ID] = i
	}
	seen := map[int]bool{at: true}
	frontier := []int{at}
	for hop := 0; ; hop++ {
		for _, i := range frontier {
			if decides(i) {
				return true
			}
		}
		if hop == s.Rounds {
			return false
		}
		var next []int
		for _, e := range s.Edges {
			from, ok1 := index[e.From]
			to, ok2 := index[e.To]
			if ok1 && ok2 && slices.Contains(frontier, from) && !seen[to] && to != judge {
				seen[to] = true
				next = append(next, to)
			}
		}
		frontier = append(frontier, next...)
	}
}
