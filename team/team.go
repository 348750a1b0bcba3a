package team

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mabeam/mabeam/coordination"
	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
)

// Options are the run settings of a Team; the zero value (or nil) is the
// default.
type Options struct {
	// Sample is passed to every call as lm.Request.Sample, so repeated runs
	// of a team at temperature > 0 can draw different samples; 0 is the
	// first sample.
	Sample int
	// NoTrace drops the per-call trace from Result (Result.Trace is nil),
	// saving one allocation per run.
	NoTrace bool
}

// Call is one agent call in a trace.
type Call struct {
	Agent string
	Role  string
	Model string // the agent's model name; "" for agents that call none
	// Round is 0..Rounds, and Rounds+1 for the judge's call.
	Round int
	// Temperature and MaxTokens are the agent's settings (its spec's).
	Temperature float64
	MaxTokens   int
	// Messages are the chat messages sent to the model; nil for agents
	// that do not call one.
	Messages   []lm.Message
	Output     string // the raw reply
	Answer     string // the parsed answer; "" when the agent abstained
	Confidence float64
	Usage      lm.Usage
	Cost       float64
	Latency    time.Duration
	// Unparsed reports a reply without the answer format (Output.Unparsed),
	// Retries the model's failed attempts before it, Cached a reply served
	// from a cache.
	Unparsed bool
	Retries  int
	Cached   bool
}

// Result is the outcome of one team run on one example.
type Result struct {
	// Answer is the team answer: the original text of the winning answer
	// (its first voter's, in agent order); "" if every agent abstained.
	Answer string
	// Confidence is the mean confidence of the voters of the winning
	// answer (the judge's under AggJudge).
	Confidence float64
	// Agreement is the share of voting agents whose final answer equals
	// the team answer after datasets.Normalize.
	Agreement float64
	// Calls counts agent calls; Messages counts peer messages delivered
	// (one per in-neighbour answer shown, the judge's peers included).
	Calls, Messages int
	// Skipped counts the debate turns the budget allocation left out: the
	// agent kept its previous answer without a call.
	Skipped int
	// Coordination sums the Overhead the coordination protocols of the run
	// report: each debate round's budget split (none under BudgetEqual
	// without a TokenBudget) and the aggregation's consensus (none when a
	// judge decides).
	Coordination coordination.Overhead
	Usage        lm.Usage
	Cost         float64 // US dollars, nominal: what the calls cost uncached
	// Billed is what the calls were billed: Cost less the calls served
	// from a cache.
	Billed float64
	// Retries sums the calls' failed attempts (lm.Response.Retries);
	// Unparsed counts the replies without the answer format.
	Retries, Unparsed int
	// Latency is the critical path: the sum over rounds (and the judge's
	// call) of the slowest call of the round.
	Latency time.Duration
	// Trace lists every call in order; nil with Options.NoTrace.
	Trace []Call

	arena []lm.Message // the messages Trace points to, kept by RunInto
}

// Team is a validated, ready-to-run team. It is safe for concurrent use.
type Team struct {
	spec      Spec
	agents    []Agent
	isLM      []bool // agent i is the built-in lm agent
	ids       []string
	roles     []string
	weights   []float64
	voters    []int   // agent indices that answer in rounds 0..Rounds, in order
	in        [][]int // in[i]: agent indices whose answers agent i reads, in agent order
	judge     int     // agent index of the judge under AggJudge, else -1
	consensus coordination.Consensus
	hierarchy *coordination.Hierarchy // under AggHierarchical, else nil
	budget    coordination.Budget
	rationed  bool // debate turns go through the budget allocation
	sample    int
	noTrace   bool
	ncalls    int // most calls per run
	peerCap   int // most peers shown in one round (or to the judge)

	scratch sync.Pool      // *scratch, reused across runs
	credits sync.Pool      // *creditScratch, reused by Credit
	pos     map[string]int // agent index by id
}

// scratch is the per-run working memory that Result does not keep.
type scratch struct {
	prev, cur []answer
	peers     []prompt.Peer // the peers of every call of a round
	spans     []span        // by agent index, in this round
	own       prompt.Peer   // Input.Previous of the current call
	text      []byte        // the user messages of a round
	groups    []group
	votes     []coordination.Vote
	decision  coordination.Decision // its Tally is reused

	// For the budget allocation, by agent index unless said otherwise.
	last    []int    // tokens of the agent's last call
	norms   []string // normalised previous answers
	speak   []bool   // the agent speaks in this round
	reqs    []coordination.BudgetRequest
	bidders []int // agent index of each request
	order   []int // request indices in regrant order
}

type answer struct {
	text string
	conf float64
}

// span locates one agent's peers in scratch.peers, and its user message in
// the text of the round, in a debate round.
type span struct {
	peer0, peer1 int
	user0, user1 int
}

// New validates spec, builds each agent through its kind, and prepares the
// run: system messages are rendered once here, in-neighbour lists
// precomputed. model is passed to every kind; it may be nil only if no agent
// is of kind KindLM. opts may be nil.
func New(spec Spec, model lm.Model, opts *Options) (*Team, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &Options{}
	}
	n := len(spec.Agents)
	t := &Team{
		spec:     spec,
		agents:   make([]Agent, n),
		isLM:     make([]bool, n),
		ids:      make([]string, n),
		roles:    make([]string, n),
		weights:  make([]float64, n),
		in:       make([][]int, n),
		judge:    spec.judgeIndex(),
		budget:   coordination.Budget{Method: coordination.BudgetMethod(spec.budget())},
		rationed: spec.Rounds > 0 && (spec.budget() != BudgetEqual || spec.TokenBudget > 0),
		sample:   opts.Sample,
		noTrace:  opts.NoTrace,
	}
	switch spec.aggregation() {
	case AggSupermajority:
		t.consensus = coordination.Consensus{Rule: coordination.Supermajority, Threshold: spec.Threshold, // 0: coordination's default, 2/3
			Fallback: coordination.FallbackMostConfident}
	case AggWeighted:
		t.consensus = coordination.Consensus{Weighting: coordination.WeightGivenConfidence}
	case AggHierarchical:
		t.hierarchy = &coordination.Hierarchy{FanOut: spec.fanOut()}
	}
	t.spec.Agents = slices.Clone(spec.Agents)
	t.spec.Edges = slices.Clone(spec.Edges)
	index := make(map[string]int, n)
	for i, as := range spec.Agents {
		if as.Role == "" {
			as.Role = RoleSolver
		}
		k, err := LookupKind(as.Kind)
		if err != nil {
			return nil, &SpecError{Field: fmt.Sprintf("Agents[%d].Kind", i), Agent: as.ID, Msg: err.Error(), Err: err}
		}
		a, err := k.New(as, model)
		if err != nil {
			return nil, &SpecError{Field: fmt.Sprintf("Agents[%d]", i), Agent: as.ID, Msg: err.Error(), Err: err}
		}
		if a == nil {
			return nil, &SpecError{Field: fmt.Sprintf("Agents[%d].Kind", i), Agent: as.ID, Msg: fmt.Sprintf("kind %q built a nil agent", as.Kind)}
		}
		t.agents[i], t.ids[i], t.roles[i] = a, as.ID, as.Role
		_, t.isLM[i] = a.(*lmAgent)
		t.weights[i] = 1
		if as.Weight != nil {
			t.weights[i] = *as.Weight
		}
		index[as.ID] = i
		if i != t.judge {
			t.voters = append(t.voters, i)
		}
	}
	for _, e := range spec.Edges {
		from, to := index[e.From], index[e.To]
		if from == t.judge || to == t.judge {
			continue
		}
		t.in[to] = append(t.in[to], from)
	}
	for i := range t.in {
		slices.Sort(t.in[i])
		t.peerCap += len(t.in[i])
	}
	t.ncalls = len(t.voters) * (spec.Rounds + 1)
	if t.judge >= 0 {
		t.ncalls++
		t.peerCap = max(t.peerCap, len(t.voters))
	}
	t.pos = index
	t.credits.New = func() any { return &creditScratch{} }
	t.scratch.New = func() any {
		s := &scratch{
			prev:   make([]answer, n),
			cur:    make([]answer, n),
			peers:  make([]prompt.Peer, 0, t.peerCap),
			spans:  make([]span, n),
			groups: make([]group, 0, len(t.voters)),
			votes:  make([]coordination.Vote, 0, len(t.voters)),
		}
		if t.rationed {
			s.last, s.norms, s.speak = make([]int, n), make([]string, n), make([]bool, n)
			s.reqs, s.bidders, s.order = make([]coordination.BudgetRequest, 0, n), make([]int, 0, n), make([]int, 0, n)
		}
		return s
	}
	return t, nil
}

// Spec returns the team's spec as given to New.
func (t *Team) Spec() Spec {
	s := t.spec
	s.Agents = slices.Clone(s.Agents)
	s.Edges = slices.Clone(s.Edges)
	return s
}

// CallsPerRun is the number of agent calls one Run makes; under a budget
// allocation that leaves turns out, the most it makes.
func (t *Team) CallsPerRun() int { return t.ncalls }

// Run executes the team on ex. Agents see ex.ID and ex.Question only
// (Input.ExampleID, Input.Question), never ex.Answer. A failed call stops
// the run with a *CallError naming the agent and round (it wraps the
// agent's error); ctx is checked before every round. On error the Result
// holds the calls made so far.
func (t *Team) Run(ctx context.Context, ex datasets.Example) (Result, error) {
	var res Result
	err := t.run(ctx, ex, &res, false)
	return res, err
}

// RunInto is Run writing into *res, whose previous contents it replaces.
// It reuses the memory of res's trace and of the chat messages the trace
// points to, so a caller that runs many examples and drops each trace after
// reading it allocates less. The previous trace must no longer be in use,
// and the model must not keep lm.Request.Messages after Generate returns.
func (t *Team) RunInto(ctx context.Context, ex datasets.Example, res *Result) error {
	return t.run(ctx, ex, res, true)
}

func (t *Team) run(ctx context.Context, ex datasets.Example, res *Result, reuse bool) error {
	var trace []Call
	var arena []lm.Message // every call's two messages, kept by the trace
	if reuse {
		trace, arena = res.Trace[:0], res.arena
	}
	if !t.noTrace && cap(trace) < t.ncalls {
		trace = make([]Call, 0, t.ncalls)
	}
	if len(arena) < 2*t.ncalls {
		arena = make([]lm.Message, 2*t.ncalls)
	}
	*res = Result{Trace: trace}
	if reuse {
		res.arena = arena
	}
	s := t.scratch.Get().(*scratch)
	defer t.putScratch(s)
	prev, cur := s.prev, s.cur
	var user0 string // the user message of round 0, rendered once
	k := 0
	spent := 0 // tokens of the debate rounds so far
	for r := 0; r <= t.spec.Rounds; r++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("team: example %q before round %d: %w", ex.ID, r, err)
		}
		rationed := r > 0 && t.rationed
		if rationed {
			if err := t.allot(s, prev, r, spent, res); err != nil {
				return fmt.Errorf("team: example %q budget of round %d: %w", ex.ID, r, err)
			}
		}
		var text string // the user messages of the round's lm agents
		if r > 0 {
			text = t.prepare(s, prev, ex.Question, rationed)
		}
		var slowest time.Duration
		for _, i := range t.voters {
			if rationed && !s.speak[i] {
				cur[i] = prev[i] // sits the round out and keeps its answer
				res.Skipped++
				continue
			}
			in := Input{ExampleID: ex.ID, Question: ex.Question, Round: r, Sample: t.sample, msgs: arena[2*k : 2*k+2 : 2*k+2]}
			k++
			if r > 0 {
				sp := &s.spans[i]
				if sp.peer1 > sp.peer0 {
					in.Peers = s.peers[sp.peer0:sp.peer1:sp.peer1]
				}
				res.Messages += len(in.Peers)
				if prev[i].text != "" {
					s.own = prompt.Peer{Agent: t.ids[i], Answer: prev[i].text, Confidence: prev[i].conf}
					in.Previous = &s.own
				}
				if t.isLM[i] {
					in.user = text[sp.user0:sp.user1]
				}
			} else if t.isLM[i] {
				if user0 == "" {
					user0 = prompt.RenderUser(&prompt.Prompt{Question: ex.Question})
				}
				in.user = user0
			}
			out, err := t.call(ctx, i, &in, res)
			if err != nil {
				return err
			}
			cur[i] = answer{out.Answer, out.Confidence}
			slowest = max(slowest, out.Latency)
			if t.rationed {
				s.last[i] = out.Usage.Total()
				if r > 0 {
					spent += s.last[i]
				}
			}
		}
		res.Latency += slowest
		prev, cur = cur, prev
	}
	// prev now holds every voter's final answer.
	s.groups, s.votes = t.group(s.groups[:0], s.votes[:0], prev)
	if t.judge >= 0 {
		ps := s.peers[:0]
		for _, j := range t.voters {
			if prev[j].text != "" {
				ps = append(ps, prompt.Peer{Agent: t.ids[j], Answer: prev[j].text, Confidence: prev[j].conf})
			}
		}
		res.Messages += len(ps)
		in := Input{ExampleID: ex.ID, Question: ex.Question, Round: t.spec.Rounds + 1, Peers: ps, Sample: t.sample, msgs: arena[2*k : 2*k+2 : 2*k+2]}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("team: example %q before the judge: %w", ex.ID, err)
		}
		out, err := t.call(ctx, t.judge, &in, res)
		if err != nil {
			return err
		}
		res.Latency += out.Latency
		if out.Answer != "" {
			res.Answer, res.Confidence = out.Answer, out.Confidence
			if g := findGroup(s.groups, datasets.Normalize(out.Answer)); g >= 0 {
				res.Agreement = float64(s.groups[g].count) / float64(len(t.voters))
			}
			return nil
		}
	}
	if err := t.decide(res, s, prev); err != nil {
		return fmt.Errorf("team: example %q aggregation: %w", ex.ID, err)
	}
	return nil
}

// prepare collects, before a debate round, the peers every speaking voter
// reads (into s.peers, located by s.spans) and renders the user messages of
// the lm agents among them, with their own previous answers, into one text
// (through the reused buffer s.text), which it returns: one allocation per
// round.
func (t *Team) prepare(s *scratch, prev []answer, question string, rationed bool) string {
	ps, buf := s.peers[:0], s.text[:0]
	for _, i := range t.voters {
		if rationed && !s.speak[i] {
			continue
		}
		sp := &s.spans[i]
		sp.peer0 = len(ps)
		for _, j := range t.in[i] {
			if prev[j].text != "" {
				ps = append(ps, prompt.Peer{Agent: t.ids[j], Answer: prev[j].text, Confidence: prev[j].conf})
			}
		}
		sp.peer1 = len(ps)
		if t.isLM[i] {
			p := prompt.Prompt{Question: question, Peers: ps[sp.peer0:sp.peer1]}
			own := prompt.Peer{Answer: prev[i].text, Confidence: prev[i].conf}
			if own.Answer != "" {
				p.Previous = &own
			}
			sp.user0 = len(buf)
			buf = prompt.AppendUser(buf, &p)
			sp.user1 = len(buf)
		}
	}
	s.peers, s.text = ps, buf
	return string(buf)
}

func (t *Team) putScratch(s *scratch) {
	clear(s.prev) // drop references to this run's replies
	clear(s.cur)
	clear(s.peers[:cap(s.peers)])
	s.own = prompt.Peer{}
	clear(s.norms)
	clear(s.votes[:cap(s.votes)])
	clear(s.decision.Tally[:cap(s.decision.Tally)])
	t.scratch.Put(s)
}

// call runs agent i and records the call in res.
func (t *Team) call(ctx context.Context, i int, in *Input, res *Result) (Output, error) {
	out, err := t.agents[i].Act(ctx, *in)
	if err != nil {
		return out, &CallError{Agent: t.ids[i], Round: in.Round, Err: err}
	}
	if out.Answer == "" && out.Text != "" {
		var formatted bool
		if out.Answer, out.Confidence, formatted = prompt.ReadAnswer(out.Text); out.Answer == "" {
			out.Confidence = 0
		}
		out.Unparsed = !formatted
	}
	if !(out.Confidence >= 0) { // also NaN
		out.Confidence = 0
	}
	out.Confidence = min(out.Confidence, 1)
	res.Calls++
	res.Usage = res.Usage.Add(out.Usage)
	res.Cost += out.Cost
	if !out.Cached {
		res.Billed += out.Cost
	}
	res.Retries += out.Retries
	if out.Unparsed {
		res.Unparsed++
	}
	if res.Trace != nil {
		res.Trace = append(res.Trace, Call{
			Agent: t.ids[i], Role: t.roles[i], Model: t.spec.Agents[i].Model, Round: in.Round, Messages: out.Messages,
			Temperature: t.spec.Agents[i].Temperature, MaxTokens: t.spec.Agents[i].MaxTokens,
			Output: out.Text, Answer: out.Answer, Confidence: out.Confidence,
			Usage: out.Usage, Cost: out.Cost, Latency: out.Latency,
			Unparsed: out.Unparsed, Retries: out.Retries, Cached: out.Cached,
		})
	}
	return out, nil
}

// group is one distinct normalised answer among the voters.
type group struct {
	norm  string
	first int // agent index of the first voter
	count int // voters
}

// group collects the voters' final answers into groups of equal normalised
// answers, in order of first appearance, and appends each voter's vote,
// its answer normalised, to votes. Abstentions, and answers that normalise
// to "" (no content, e.g. "the"), form no group and abstain.
func (t *Team) group(gs []group, votes []coordination.Vote, final []answer) ([]group, []coordination.Vote) {
	for _, i := range t.voters {
		a := final[i]
		v := coordination.Vote{Agent: t.ids[i], Confidence: a.conf, Weight: t.weights[i]}
		if a.text != "" {
			g := -1
			for k := range gs { // same text, same group: skips Normalize
				if final[gs[k].first].text == a.text {
					g = k
					break
				}
			}
			if g < 0 {
				norm := datasets.Normalize(a.text)
				if norm == "" { // no content, e.g. "the": abstains
					votes = append(votes, v)
					continue
				}
				if g = findGroup(gs, norm); g < 0 {
					gs = append(gs, group{norm: norm, first: i})
					g = len(gs) - 1
				}
			}
			gs[g].count++
			v.Answer = gs[g].norm
		}
		votes = append(votes, v)
	}
	return gs, votes
}

func findGroup(gs []group, norm string) int {
	for k := range gs {
		if gs[k].norm == norm {
			return k
		}
	}
	return -1
}

// decide sets the team answer from the voters' votes (s.votes, s.groups)
// by the team's consensus protocol, mapping the decided normalised answer
// back to its first voter's text.
func (t *Team) decide(res *Result, s *scratch, final []answer) error {
	d := &s.decision
	var err error
	if t.hierarchy != nil {
		var hd coordination.HierarchyDecision
		hd, err = t.hierarchy.Decide(s.votes)
		*d = hd.Decision
	} else {
		err = t.consensus.DecideInto(s.votes, d)
	}
	if err != nil {
		return err
	}
	res.Coordination = res.Coordination.Add(d.Overhead)
	if d.Answer == "" {
		return nil // everyone abstained
	}
	g := &s.groups[findGroup(s.groups, d.Answer)]
	res.Answer = final[g.first].text
	res.Confidence = d.Confidence
	res.Agreement = float64(g.count) / float64(len(t.voters))
	return nil
}

// allot runs the budget allocation of debate round r, given the tokens
// spent in the debate so far, and sets s.speak for every voter.
func (t *Team) allot(s *scratch, prev []answer, r, spent int, res *Result) error {
	bidding := t.budget.Method != coordination.SplitEqual
	if bidding {
		for _, i := range t.voters {
			s.norms[i] = datasets.Normalize(prev[i].text)
		}
	}
	reqs, bidders := s.reqs[:0], s.bidders[:0]
	for _, i := range t.voters {
		s.speak[i] = false
		v := 1.0
		if bidding {
			if v = t.value(s, prev, i); v <= t.spec.BidReserve {
				continue
			}
		}
		reqs = append(reqs, coordination.BudgetRequest{Agent: t.ids[i], Value: v, Demand: max(s.last[i], 1)})
		bidders = append(bidders, i)
	}
	s.reqs, s.bidders = reqs, bidders
	if len(reqs) == 0 {
		return nil
	}
	total := 0
	if t.spec.TokenBudget > 0 {
		total = max(0, (t.spec.TokenBudget-spent)/(t.spec.Rounds-r+1))
	} else {
		for k := range reqs {
			total += reqs[k].Demand
		}
	}
	alloc, err := t.budget.Split(total, reqs)
	if err != nil {
		return err
	}
	res.Coordination = res.Coordination.Add(alloc.Overhead)
	// A turn is indivisible: agents granted their whole call speak; the
	// others give their share back, and what is left goes, a whole call at
	// a time, to them in order: by bid, then agent order, under an auction
	// or market; round-robin from agent r-1 under an equal split.
	left := total
	for k, i := range bidders {
		if alloc.Tokens[k] >= reqs[k].Demand {
			s.speak[i] = true
			left -= reqs[k].Demand
		}
	}
	if left <= 0 || len(bidders) == 0 {
		return nil
	}
	n := len(bidders)
	order := s.order[:0]
	for k := range n {
		if bidding {
			order = append(order, k)
		} else {
			order = append(order, (k+r-1)%n)
		}
	}
	if bidding {
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(reqs[b].Value, reqs[a].Value) })
	}
	for _, k := range order {
		if i := bidders[k]; !s.speak[i] && reqs[k].Demand <= left {
			s.speak[i] = true
			left -= reqs[k].Demand
		}
	}
	s.order = order
	return nil
}

// value is agent i's bid for a debate turn: the share of the
// confidence-weighted voices it reads, its own included, that disagree
// with its previous answer (by count if every confidence is 0); 1 if it
// abstained; 0 if no in-neighbour answered, since its prompt would be the
// one it already answered. s.norms holds the normalised answers.
func (t *Team) value(s *scratch, prev []answer, i int) float64 {
	against, total := 0.0, prev[i].conf
	peers, dissent := 0, 0
	for _, j := range t.in[i] {
		if prev[j].text == "" {
			continue
		}
		peers++
		total += prev[j].conf
		if s.norms[j] != s.norms[i] {
			against += prev[j].conf
			dissent++
		}
	}
	switch {
	case peers == 0:
		return 0
	case prev[i].text == "":
		return 1
	case total <= 0:
		return float64(dissent) / float64(peers+1)
	}
	return against / total
}
