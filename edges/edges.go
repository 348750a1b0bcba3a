package edges

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// The methods.
const (
	GPTSwarm   = "gptswarm"
	AgentPrune = "agentprune"
)

// Strategies of the trials.
const (
	StrategySample = "sample" // a sampled graph on a train mini-batch
	StrategyFinal  = "final"  // the result on the validation split
)

// Settings are the optimizers' settings; the zero value is the defaults.
type Settings struct {
	// Graphs is the number of graphs sampled each iteration; 0 means 4.
	Graphs int `json:"graphs,omitempty"`
	// Minibatch is the number of train examples each iteration's graphs
	// are scored on; 0 means 16 (all of a smaller train split).
	Minibatch int `json:"minibatch,omitempty"`
	// LearningRate is Adam's; 0 means 0.1.
	LearningRate float64 `json:"learning_rate,omitempty"`
	// Iterations bounds the iterations; 0 means until the budget for
	// gptswarm and 10 for agentprune.
	Iterations int `json:"iterations,omitempty"`
	// Prune is agentprune's share of candidate edges pruned; 0 means 0.25.
	Prune float64 `json:"prune,omitempty"`
	// SampleOthers draws the variables other than the topology and the
	// edges at random from the space for every sampled graph, instead of
	// keeping the baseline's; the result then takes the other variables of
	// the sampled graph that scored best on its mini-batch.
	SampleOthers bool `json:"sample_others,omitempty"`
}

// Optimizer is gptswarm or agentprune (Method).
type Optimizer struct {
	Method   string
	Settings Settings
}

var (
	_ optimizer.Optimizer = (*Optimizer)(nil)
	_ optimizer.Checker   = (*Optimizer)(nil)
)

func (o *Optimizer) resolved() (Settings, error) {
	s := o.Settings
	if o.Method != GPTSwarm && o.Method != AgentPrune {
		return s, fmt.Errorf("edges: method %q is not %s or %s", o.Method, GPTSwarm, AgentPrune)
	}
	if s.Graphs < 0 || s.Minibatch < 0 || s.Iterations < 0 || s.LearningRate < 0 || s.Prune < 0 || s.Prune >= 1 {
		return s, fmt.Errorf("%s: graphs, minibatch, iterations and learning_rate must not be negative, and prune must be in [0, 1)", o.Method)
	}
	if s.Graphs == 0 {
		s.Graphs = 4
	}
	if s.Minibatch == 0 {
		s.Minibatch = 16
	}
	if s.LearningRate == 0 {
		s.LearningRate = 0.1
	}
	if s.Iterations == 0 && o.Method == AgentPrune {
		s.Iterations = 10
	}
	if s.Prune == 0 {
		s.Prune = 0.25
	}
	return s, nil
}

// Check implements optimizer.Checker: a team evaluator of programs, a
// baseline, a train split, and candidate edges the search can switch.
func (o *Optimizer) Check(p *optimizer.Problem) error {
	if _, err := o.resolved(); err != nil {
		return err
	}
	_, err := candidates(o.Method, p, o.Settings.SampleOthers)
	return err
}

// candidates are the searched edges, as edge variable names: those between
// agents active in the baseline, or every one of the team when the other
// variables (and so the agents on the team) are sampled too.
func candidates(method string, p *optimizer.Problem, all bool) ([]string, error) {
	te, ok := p.Evaluator.(optimizer.TeamProgramEvaluator)
	if !ok {
		return nil, fmt.Errorf("%s: the evaluator is not a team's (optimizer.TeamProgramEvaluator); it learns a team's edges", method)
	}
	if p.Baseline == nil {
		return nil, fmt.Errorf("%s: the problem has no baseline team to learn the edges of", method)
	}
	if len(p.Train) == 0 {
		return nil, fmt.Errorf("%s: the train split is empty; the edges are learnt on train mini-batches", method)
	}
	tm := te.TeamSpace().Team()
	if !tm.SearchEdges || len(tm.Edges) == 0 {
		return nil, fmt.Errorf("%s: the team space has no searched edges; give the team candidate edges, explicit among its topologies and search_edges: true", method)
	}
	a := p.Baseline.Clone()
	a[space.TeamVar(space.TeamTopology)] = space.TopoExplicit
	var out []string
	for _, e := range tm.Edges {
		if v := space.EdgeVar(e); all || p.Space.Active(v, a) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no candidate edge joins two agents active in the baseline", method)
	}
	return out, nil
}

// sampleData is what a trial keeps: θ before its iteration's update, and
// the edges of its graph (in the order of Edges); an edge between agents
// not on the team (sampled others) is off.
type sampleData struct {
	Edges []string  `json:"edges"`
	Theta []float64 `json:"theta"`
	On    []bool    `json:"on"`
}

// sample is a scored graph: its edges on, which of them join agents on
// the team, and its utility (the score, negated when minimising).
type sample struct {
	on, active []bool
	u          float64
}

type run struct {
	ctx    context.Context
	p      *optimizer.Problem
	b      optimizer.Budget
	s      Settings
	method string
	edges  []string
	l      *optimizer.Ledger // the trials, the spend and the replay

	theta, m, v []float64 // the logits and Adam's moments
	steps       int       // Adam's updates so far
	base        float64   // gptswarm's moving-average baseline

	others   space.Assignment // the result's other variables: the baseline's, or the best sample's
	bestU    float64          // the best sample's utility, with SampleOthers
	bestSeen bool
}

var errBudget = errors.New("edges: budget reached")

// Optimize implements optimizer.Optimizer.
func (o *Optimizer) Optimize(ctx context.Context, p *optimizer.Problem, b optimizer.Budget) (*optimizer.Result, error) {
	if err := optimizer.Ready(o, p, b); err != nil {
		return nil, err
	}
	s, _ := o.resolved()
	edges, _ := candidates(o.Method, p, s.SampleOthers)
	r := &run{ctx: ctx, p: p, b: b, s: s, method: o.Method, edges: edges, l: optimizer.NewLedger(p),
		theta: make([]float64, len(edges)), m: make([]float64, len(edges)), v: make([]float64, len(edges)),
		others: p.Baseline}
	return r.l.Finish(r.optimize())
}

func (r *run) optimize() error {
	for it := 1; r.s.Iterations == 0 || it <= r.s.Iterations; it++ {
		done, err := r.iteration(it)
		if errors.Is(err, errBudget) || err == nil && done {
			break
		}
		if err != nil {
			return err
		}
	}
	on := r.result()
	a, active, err := r.graph(r.others, on)
	if err != nil {
		return err
	}
	for i := range on {
		on[i] = on[i] && active[i]
	}
	d, _ := json.Marshal(sampleData{Edges: r.edges, Theta: r.theta, On: on})
	_, err = r.trial(optimizer.TrialSpec{Program: optimizer.Program{Params: a}, Examples: r.p.Val, Split: optimizer.SplitVal,
		Strategy: StrategyFinal, Note: r.method + ": the learnt graph on validation"}, d, true)
	if errors.Is(err, errBudget) {
		return nil
	}
	return err
}

// iteration samples and scores the iteration's graphs, then updates θ;
// done is true when a trial was cut short by the budget.
func (r *run) iteration(it int) (done bool, err error) {
	rng := rand.New(rand.NewPCG(r.p.Seed^0x5357524d, uint64(it)))
	exs := r.p.Train
	if len(exs) > r.s.Minibatch {
		exs = make([]datasets.Example, r.s.Minibatch)
		for i, j := range rng.Perm(len(r.p.Train))[:r.s.Minibatch] {
			exs[i] = r.p.Train[j]
		}
	}
	var ss []sample
	for k := range r.s.Graphs {
		others := r.p.Baseline
		if r.s.SampleOthers {
			var err error
			if others, err = r.p.Space.Sample(rng); err != nil {
				return false, fmt.Errorf("%s: sampling the other variables: %w", r.method, err)
			}
		}
		on := make([]bool, len(r.edges))
		for i, th := range r.theta {
			on[i] = rng.Float64() < sigmoid(th)
		}
		a, active, err := r.graph(others, on)
		if err != nil {
			return false, err
		}
		for i := range on {
			on[i] = on[i] && active[i]
		}
		d, _ := json.Marshal(sampleData{Edges: r.edges, Theta: r.theta, On: on})
		t, err := r.trial(optimizer.TrialSpec{Program: optimizer.Program{Params: a}, Examples: exs, Split: optimizer.SplitTrain,
			Strategy: StrategySample, Step: it, Note: fmt.Sprintf("%s iteration %d graph %d", r.method, it, k+1)}, d, false)
		if err != nil {
			return false, err
		}
		if t.State == optimizer.Stopped {
			return true, nil
		}
		if t.State != optimizer.Complete {
			continue // a failed graph teaches nothing
		}
		u := t.Value
		if r.p.Direction == optimizer.Minimize {
			u = -u
		}
		ss = append(ss, sample{on: on, active: active, u: u})
		if r.s.SampleOthers && (!r.bestSeen || u > r.bestU) {
			r.others, r.bestU, r.bestSeen = others, u, true
		}
	}
	r.update(ss)
	return false, nil
}

// update moves θ by REINFORCE on the scored graphs, with Adam. An edge
// between agents not on a graph's team had no effect on its score and
// takes no part in its term.
func (r *run) update(ss []sample) {
	if len(ss) == 0 {
		return
	}
	mean := 0.0
	for _, s := range ss {
		mean += s.u
	}
	mean /= float64(len(ss))
	b := 0.0
	if r.method == GPTSwarm {
		if r.steps == 0 {
			r.base = mean // the first iteration's mean
		}
		b = r.base
	}
	// The loss is −mean_k (u_k − b)·log p(x_k); d log p / dθ_e = x_ke − σ(θ_e).
	g := make([]float64, len(r.theta))
	for _, s := range ss {
		for i, th := range r.theta {
			if !s.active[i] {
				continue
			}
			xi := 0.0
			if s.on[i] {
				xi = 1
			}
			g[i] -= (s.u - b) * (xi - sigmoid(th)) / float64(len(ss))
		}
	}
	const b1, b2, eps = 0.9, 0.999, 1e-8
	r.steps++
	c1, c2 := 1-math.Pow(b1, float64(r.steps)), 1-math.Pow(b2, float64(r.steps))
	for i := range r.theta {
		r.m[i] = b1*r.m[i] + (1-b1)*g[i]
		r.v[i] = b2*r.v[i] + (1-b2)*g[i]*g[i]
		r.theta[i] -= r.s.LearningRate * (r.m[i] / c1) / (math.Sqrt(r.v[i]/c2) + eps)
	}
	if r.method == GPTSwarm {
		r.base = 0.9*r.base + 0.1*mean
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// result is the learnt graph: the edges with θ > 0 (gptswarm), or all but
// the pruned ones (agentprune).
func (r *run) result() []bool {
	on := make([]bool, len(r.edges))
	if r.method == GPTSwarm {
		for i, th := range r.theta {
			on[i] = th > 0
		}
		return on
	}
	for i := range on {
		on[i] = true
	}
	order := make([]int, len(r.edges))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return r.theta[order[a]] < r.theta[order[b]] })
	want := int(math.Round(r.s.Prune * float64(len(r.edges))))
	pieces := r.pieces(on)
	for _, i := range order {
		if want == 0 {
			break
		}
		on[i] = false
		if r.pieces(on) > pieces {
			on[i] = true // it holds the team together
			continue
		}
		want--
	}
	return on
}

// pieces is the number of connected pieces of the undirected graph the
// edges that are on make among the agents they name.
func (r *run) pieces(on []bool) int {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if parent[x] != x {
			parent[x] = find(parent[x])
		}
		return parent[x]
	}
	for _, v := range r.edges {
		e, _ := space.EdgeOf(v)
		for _, n := range []string{e.From, e.To} {
			if _, ok := parent[n]; !ok {
				parent[n] = n
			}
		}
	}
	for i, v := range r.edges {
		if on[i] {
			e, _ := space.EdgeOf(v)
			parent[find(e.From)] = find(e.To)
		}
	}
	n := 0
	for x := range parent {
		if find(x) == x {
			n++
		}
	}
	return n
}

// graph is the other variables with the explicit topology and the edges
// on; active says which edges join agents on its team (the others are
// absent from it).
func (r *run) graph(others space.Assignment, on []bool) (space.Assignment, []bool, error) {
	a := others.Clone()
	a[space.TeamVar(space.TeamTopology)] = space.TopoExplicit
	for i, v := range r.edges {
		a[v] = on[i]
	}
	a = r.p.Space.Complete(a)
	if err := r.p.Space.Validate(a); err != nil {
		return nil, nil, fmt.Errorf("%s: the graph is not a point of the space: %w", r.method, err)
	}
	active := make([]bool, len(r.edges))
	for i, v := range r.edges {
		active[i] = a.Has(v)
	}
	return a, active, nil
}

// trial runs the next trial within the budget (less the final
// evaluation's reserve unless final), or replays it from the history.
func (r *run) trial(s optimizer.TrialSpec, data json.RawMessage, final bool) (optimizer.Trial, error) {
	var keep optimizer.Reserve
	if !final {
		keep = r.l.Reserve(len(r.p.Val), 1)
	}
	left, ok := r.b.Room(r.l.Res.Spent, keep, optimizer.Usage{})
	if !ok {
		return optimizer.Trial{}, errBudget
	}
	return r.l.Run(r.ctx, s, left, func(t *optimizer.Trial, _ *evaluation.Report) error { t.Data = data; return nil })
}
