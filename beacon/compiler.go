package beacon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/team"
)

// Settings are the team compiler's: the GP's (Sampler) and MIPROv2's.
type Settings struct {
	Sampler
	// Preset is "light" (default), "medium" or "heavy": MIPROv2's
	// candidate counts n = 6, 12, 18.
	Preset string `json:"preset,omitempty"`
	// NumCandidates overrides the preset's n: instruction candidates and
	// demo sets per agent.
	NumCandidates int `json:"num_candidates,omitempty"`
	// NumTrials is the number of search trials; 0 means MIPROv2's formula
	// max(2·M·log2 n, 1.5·n), M = 2 × the agents, under a trials budget,
	// and as many as the budget allows under a calls or cost budget (so
	// that every optimizer of an experiment gets the same calls).
	NumTrials int `json:"num_trials,omitempty"`
	// MaxBootstrappedDemos and MaxLabeledDemos bound the demo sets (4
	// each, DSPy's).
	MaxBootstrappedDemos int `json:"max_bootstrapped_demos,omitempty"`
	MaxLabeledDemos      int `json:"max_labeled_demos,omitempty"`
	// MinibatchSize is the mini-batch of the validation split a trial is
	// scored on when the split has more than 50 examples (35); every
	// FullEvalSteps trials (5) the best configuration not yet scored on
	// the full split is.
	MinibatchSize int `json:"minibatch_size,omitempty"`
	FullEvalSteps int `json:"minibatch_full_eval_steps,omitempty"`
	// ProposalModel is the model name of the instruction proposals; ""
	// means the baseline's first agent's.
	ProposalModel string `json:"proposal_model,omitempty"`
}

func (s Settings) resolved(agents int) (Settings, error) {
	switch s.Preset {
	case "", "light":
		s.Preset = "light"
		if s.NumCandidates == 0 {
			s.NumCandidates = 6
		}
	case "medium":
		if s.NumCandidates == 0 {
			s.NumCandidates = 12
		}
	case "heavy":
		if s.NumCandidates == 0 {
			s.NumCandidates = 18
		}
	default:
		return s, fmt.Errorf("beacon: preset %q is not light, medium or heavy", s.Preset)
	}
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"max_bootstrapped_demos", &s.MaxBootstrappedDemos, 4}, {"max_labeled_demos", &s.MaxLabeledDemos, 4},
		{"minibatch_size", &s.MinibatchSize, 35}, {"minibatch_full_eval_steps", &s.FullEvalSteps, 5},
	} {
		if *f.v < 0 {
			return s, fmt.Errorf("beacon: %s is %d; it must be positive", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if s.NumCandidates < 2 || s.NumTrials < 0 {
		return s, fmt.Errorf("beacon: num_candidates must be at least 2 and num_trials not negative (got %d, %d)", s.NumCandidates, s.NumTrials)
	}
	if s.NumTrials == 0 && agents > 0 {
		m := float64(2 * agents)
		s.NumTrials = int(max(2*m*math.Log2(float64(s.NumCandidates)), 1.5*float64(s.NumCandidates)))
	}
	return s, nil
}

// Compiler is BEACON for teams, shaped like DSPy's MIPROv2 for every agent:
// demo sets bootstrapped from the baseline's successful runs on train,
// instruction candidates proposed by a model, and the GP search over each
// agent's (instruction, demo set) together with the team space.
type Compiler struct {
	Settings Settings
}

var (
	_ optimizer.Optimizer = (*Compiler)(nil)
	_ optimizer.Checker   = (*Compiler)(nil)
)

// Check implements optimizer.Checker.
func (c *Compiler) Check(p *optimizer.Problem) error {
	if _, err := c.Settings.resolved(0); err != nil {
		return err
	}
	if _, err := c.Settings.Sampler.settings(0); err != nil {
		return err
	}
	if _, ok := p.Evaluator.(optimizer.TeamProgramEvaluator); !ok {
		return errors.New("beacon: the evaluator is not a team's (optimizer.TeamProgramEvaluator)")
	}
	if p.Baseline == nil {
		return errors.New("beacon: the problem has no baseline team to start from")
	}
	if len(p.Train) == 0 {
		return errors.New("beacon: the train split is empty; demo sets are bootstrapped from it (set train > 0)")
	}
	return optimizer.CheckModelName(p.Model, c.Settings.ProposalModel, "beacon: proposal_model")
}

// compileData is the bootstrap trial's Data: what the search is built on.
type compileData struct {
	// Outputs are, per agent, its last reply on each train example it got
	// right, in train order.
	Outputs map[string][]output `json:"outputs"`
	// Instructions are each agent's instruction candidates (0 is its
	// own).
	Instructions map[string][]string `json:"instructions"`
}

type output struct {
	Example string `json:"example"`
	Output  string `json:"output"`
}

// trialData is a search trial's Data: its point of the extended space and
// the sampler's own data.
type trialData struct {
	Point   json.RawMessage `json:"point"`
	Sampler json.RawMessage `json:"sampler,omitempty"`
}

// Strategies of the compiler's trials.
const (
	StrategyBootstrap = "bootstrap" // the baseline on train, and the proposals
	StrategySearch    = "search"    // a configuration on a mini-batch or the validation split
	StrategyFull      = "full"      // a configuration on the full validation split
)

type compiler struct {
	ctx    context.Context
	p      *optimizer.Problem
	b      optimizer.Budget
	s      Settings
	te     optimizer.TeamProgramEvaluator
	l      *optimizer.Ledger // the trials, the spend and the replay
	agents []string          // lm agents, team order
	base   optimizer.Program
	cd     compileData
	sets   map[string][][]optimizer.Demo
	ext    *space.Space
	// unbounded: no num_trials setting and a calls or cost budget, which
	// alone ends the search.
	unbounded bool
}

// Optimize implements optimizer.Optimizer.
func (c *Compiler) Optimize(ctx context.Context, p *optimizer.Problem, b optimizer.Budget) (*optimizer.Result, error) {
	if err := optimizer.Ready(c, p, b); err != nil {
		return nil, err
	}
	r := &compiler{ctx: ctx, p: p, b: b, te: p.Evaluator.(optimizer.TeamProgramEvaluator), l: optimizer.NewLedger(p)}
	err := r.run(c.Settings)
	if errors.Is(err, errBudget) {
		err = nil
	}
	return r.l.Finish(err)
}

var errBudget = errors.New("beacon: budget reached")

func (r *compiler) rng(purpose, k int) *rand.Rand {
	return rand.New(rand.NewPCG(r.p.Seed^0x424541434f4e, uint64(purpose)<<40^uint64(k)))
}

// fullReserve is what one full validation evaluation is expected to
// spend, kept back from every search trial.
func (r *compiler) fullReserve() optimizer.Reserve { return r.l.Reserve(len(r.p.Val), 1) }

// trial runs the next trial within the budget less keep, or replays it
// from the history.
func (r *compiler) trial(s optimizer.TrialSpec, done func(*optimizer.Trial, *evaluation.Report) error, keep optimizer.Reserve) (optimizer.Trial, error) {
	left, ok := r.b.Room(r.l.Res.Spent, keep, optimizer.Usage{})
	if !ok {
		return optimizer.Trial{}, errBudget
	}
	return r.l.Run(r.ctx, s, left, done)
}

// withData is a trial's finish that sets its Data.
func withData(d json.RawMessage) func(*optimizer.Trial, *evaluation.Report) error {
	return func(t *optimizer.Trial, _ *evaluation.Report) error { t.Data = d; return nil }
}

func (r *compiler) run(settings Settings) error {
	base, err := r.te.Program(r.p.Baseline)
	if err != nil {
		return fmt.Errorf("beacon: the baseline: %w", err)
	}
	r.base = base
	// Every agent of the team space gets prompt variables: active ones now,
	// optional ones for when the search switches them on.
	for _, a := range r.te.TeamSpace().Team().Agents {
		r.agents = append(r.agents, a.ID)
	}
	if r.s, err = settings.resolved(len(r.agents)); err != nil {
		return err
	}
	r.unbounded = settings.NumTrials == 0 && r.b.Trials == 0
	if err := r.bootstrap(); err != nil {
		return err
	}
	if r.ext, err = r.extend(); err != nil {
		return err
	}
	return r.search()
}

// bootstrap is trial 0: the baseline on the train split with traces (its
// agents' right answers become demo candidates), then the instruction
// proposals, charged to it.
func (r *compiler) bootstrap() error {
	train := r.p.Train
	spec := optimizer.TrialSpec{Program: r.base, Examples: train, Split: optimizer.SplitTrain, Strategy: StrategyBootstrap,
		Note: "beacon bootstrap: the baseline on train, and the instruction proposals", Options: optimizer.EvalOptions{KeepTraces: true}}
	if r.l.Next < len(r.p.History) { // replayed: the proposals are in its data
		t, err := r.trial(spec, nil, optimizer.Reserve{})
		if err != nil {
			return err
		}
		if err := json.Unmarshal(t.Data, &r.cd); err != nil {
			return fmt.Errorf("beacon: stored trial %d: its bootstrap data: %w", t.Number, err)
		}
		r.demoSets()
		return nil
	}
	// The proposals need the evaluation's demos: they are made before the
	// trial is committed, and charged to it; they stop where the budget
	// does.
	_, err := r.trial(spec, func(t *optimizer.Trial, rep *evaluation.Report) error {
		r.cd = compileData{Outputs: map[string][]output{}, Instructions: map[string][]string{}}
		if rep != nil {
			for i, res := range rep.Results {
				last := map[string]team.Call{}
				for _, c := range res.Trace {
					last[c.Agent] = c
				}
				for _, id := range r.agents {
					if c, ok := last[id]; ok && c.Answer != "" && r.te.Score(c.Answer, train[i].Answer) >= 1 {
						r.cd.Outputs[id] = append(r.cd.Outputs[id], output{Example: train[i].ID, Output: c.Output})
					}
				}
			}
		}
		r.demoSets()
		spent := r.l.Res.Spent // and the evaluation
		spent.Add(t)
		left, ok := r.b.Remaining(spent)
		more := func(u optimizer.Usage) bool {
			return ok && (left.Calls == 0 || u.Calls < left.Calls) && (left.Cost == 0 || u.Cost < left.Cost)
		}
		u, err := r.propose(more)
		t.Charge(u)
		if err != nil {
			return err
		}
		t.Data, err = json.Marshal(r.cd)
		return err
	}, optimizer.Reserve{})
	return err
}

// demoSets builds each agent's n demo sets, DSPy's scheme: zero-shot,
// labelled only, the bootstrap in train order, then shuffled bootstraps
// of random sizes up to the maximum.
func (r *compiler) demoSets() {
	train := r.p.Train
	byID := map[string]datasets.Example{}
	for _, ex := range train {
		byID[ex.ID] = ex
	}
	r.sets = map[string][][]optimizer.Demo{}
	for ai, id := range r.agents {
		rng := r.rng(1, ai)
		sets := [][]optimizer.Demo{nil}
		labelled := make([]optimizer.Demo, 0, r.s.MaxLabeledDemos)
		for _, k := range rng.Perm(len(train))[:min(r.s.MaxLabeledDemos, len(train))] {
			ex := train[k]
			labelled = append(labelled, optimizer.Demo{Example: ex.ID, Question: ex.Question, Answer: ex.Answer})
		}
		sets = append(sets, labelled)
		outs := r.cd.Outputs[id]
		boot := func(order []output, k int) []optimizer.Demo {
			var d []optimizer.Demo
			for _, o := range order[:min(k, len(order))] {
				ex := byID[o.Example]
				d = append(d, optimizer.Demo{Example: ex.ID, Question: ex.Question, Answer: ex.Answer, Output: o.Output})
			}
			return d
		}
		sets = append(sets, boot(outs, r.s.MaxBootstrappedDemos))
		for len(sets) < r.s.NumCandidates {
			order := slices.Clone(outs)
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			sets = append(sets, boot(order, 1+rng.IntN(r.s.MaxBootstrappedDemos)))
		}
		r.sets[id] = sets
	}
}

// tips are MIPROv2's proposal tips.
var tips = []string{"", "Be creative.", "Keep it simple.", "Describe the task precisely.",
	"The stakes are high: be careful.", "Write as the expert the task needs."}

// propose asks the model for each agent's instruction candidates,
// grounded in a summary of the data, the team, a few of the agent's demos
// and a random tip; candidate 0 is the agent's own instruction. It makes
// another proposal only while more allows what the proposals have used.
func (r *compiler) propose(more func(optimizer.Usage) bool) (optimizer.Usage, error) {
	var meter *optimizer.Meter
	if r.p.Model != nil {
		meter = optimizer.NewMeter(r.p.Model)
	}
	ta, _ := r.te.TeamSpace().Decode(r.p.Baseline)
	spec, err := team.FromAssignment(ta, nil)
	if err != nil {
		return optimizer.Usage{}, err
	}
	model := r.s.ProposalModel
	own := map[string]string{}
	roles := map[string]string{}
	for _, a := range r.te.TeamSpace().Team().Agents {
		roles[a.ID] = a.Role
	}
	for _, a := range spec.Agents {
		if model == "" {
			model = a.Model
		}
		own[a.ID] = a.Instruction
	}
	for _, id := range r.agents {
		role := roles[id]
		if role == "" {
			role = team.RoleSolver
		}
		cur := own[id]
		if cur == "" {
			if rl, err := team.LookupRole(role); err == nil {
				cur = rl.DefaultInstruction
			}
		}
		cands := []string{cur}
		rng := r.rng(2, slices.Index(r.agents, id))
		for k := 1; meter != nil && k < r.s.NumCandidates && more(meter.Used()); k++ {
			var demos []prompt.Demo
			for _, d := range r.sets[id][2][:min(3, len(r.sets[id][2]))] {
				demos = append(demos, prompt.Demo{Question: d.Question, Answer: d.Output})
			}
			pr := prompt.Prompt{Task: prompt.TaskProposeInstruction, Agent: id, Role: role, Instruction: cur, Demos: demos,
				Question: fmt.Sprintf("Data: %d train examples, e.g. %q\nTeam: %s\nTip: %s\nCandidate: %d",
					len(r.p.Train), clip(r.p.Train[0].Question, 200), ta.String(), tips[rng.IntN(len(tips))], k)}
			resp, err := meter.Generate(r.ctx, lm.Request{Model: model, Messages: prompt.Render(&pr), Sample: k})
			if err != nil {
				if r.ctx.Err() != nil {
					return meter.Take(), r.ctx.Err()
				}
				continue // a failed proposal leaves one candidate fewer
			}
			if ins, ok := prompt.ParseField(resp.Text, "Instruction"); ok && !slices.Contains(cands, ins) {
				cands = append(cands, ins)
			}
		}
		r.cd.Instructions[id] = cands
	}
	if meter == nil {
		return optimizer.Usage{}, nil
	}
	return meter.Take(), nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// promptVar names an agent's prompt variables of the extended space.
func promptVar(id, what string) string { return "prompt/" + id + "/" + what }

// extend is the search space: the team space, its instruction and demo
// count variables fixed at the baseline's (the programs' materials replace
// them), plus each agent's instruction candidate and demo set as choices,
// active with the agent.
func (r *compiler) extend() (*space.Space, error) {
	ts := r.te.TeamSpace()
	var vars []space.Var
	for _, v := range ts.Space().Vars() {
		if strings.HasPrefix(v.Name, "agent/") && (strings.HasSuffix(v.Name, "/"+space.LocalInstruction) || strings.HasSuffix(v.Name, "/"+space.LocalDemos)) && v.Searched() {
			if x, ok := r.p.Baseline[v.Name]; ok && len(v.Conds) == 0 {
				v = v.Fix(x)
			}
		}
		vars = append(vars, v)
	}
	optional := map[string]bool{}
	for _, a := range ts.Team().Agents {
		optional[a.ID] = a.Optional
	}
	idx := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strconv.Itoa(i)
		}
		return out
	}
	for _, id := range r.agents {
		ins := space.Choice(promptVar(id, "instruction"), idx(max(len(r.cd.Instructions[id]), 1))...)
		dem := space.Choice(promptVar(id, "demos"), idx(len(r.sets[id]))...)
		if optional[id] {
			ins, dem = ins.When(space.ActiveVar(id), true), dem.When(space.ActiveVar(id), true)
		}
		vars = append(vars, ins, dem)
	}
	sp, err := space.New(vars...)
	if err != nil {
		return nil, err
	}
	if err := sp.Constrain(ts.Space().Constraints()...); err != nil {
		return nil, err
	}
	return sp, nil
}

// program is the team program a point of the extended space stands for.
func (r *compiler) program(pt space.Assignment) (optimizer.Program, error) {
	params := space.Assignment{}
	for k, v := range pt {
		if !strings.HasPrefix(k, "prompt/") {
			params[k] = v
		}
	}
	params = r.te.TeamSpace().Space().Complete(params)
	prog, err := r.te.Program(params)
	if err != nil {
		return prog, err
	}
	for id, a := range prog.Agents {
		if i, err := strconv.Atoi(pt.String(promptVar(id, "instruction"))); err == nil && i < len(r.cd.Instructions[id]) {
			a.Instruction = r.cd.Instructions[id][i]
		}
		if i, err := strconv.Atoi(pt.String(promptVar(id, "demos"))); err == nil && i < len(r.sets[id]) {
			a.Demos = slices.Clone(r.sets[id][i])
		}
		prog.Agents[id] = a
	}
	return prog, nil
}

// basePoint is the baseline as a point of the extended space: its own
// instructions and its pool's demos (the labelled set).
func (r *compiler) basePoint() space.Assignment {
	pt := r.ext.Complete(r.p.Baseline.Clone())
	for _, id := range r.agents {
		if r.ext.Active(promptVar(id, "instruction"), pt) {
			pt[promptVar(id, "instruction")] = "0"
			pt[promptVar(id, "demos")] = "1"
		}
	}
	return r.ext.Complete(pt)
}

// search is MIPROv2's loop: each trial a configuration the GP proposes,
// on a mini-batch of the validation split when it has more than 50
// examples; every FullEvalSteps trials, and at the end, the best
// configuration by mean mini-batch score not yet fully scored goes on
// the full split.
func (r *compiler) search() error {
	val := r.p.Val
	mini := len(val) > 50
	smp := r.s.Sampler
	type stat struct {
		sum  float64
		n    int
		full bool
		pt   space.Assignment
	}
	stats := map[string]*stat{}
	var order []string
	var hist []optimizer.Trial // the sampler's view: points of the extended space
	fullEval := func() error {
		best := ""
		for _, k := range order {
			st := stats[k]
			if !st.full && (best == "" || st.sum/float64(st.n) > stats[best].sum/float64(stats[best].n)) {
				best = k
			}
		}
		if best == "" {
			return nil
		}
		prog, err := r.program(stats[best].pt)
		if err != nil {
			return err
		}
		pd, _ := json.Marshal(trialData{Point: mustJSON(stats[best].pt)})
		if _, err := r.trial(optimizer.TrialSpec{Program: prog, Examples: val, Split: optimizer.SplitVal, Strategy: StrategyFull,
			Note: "beacon: the best configuration so far on the full validation split"}, withData(pd), optimizer.Reserve{}); err != nil {
			return err
		}
		stats[best].full = true
		return nil
	}
	trials := r.s.NumTrials
	if r.unbounded {
		trials = math.MaxInt
	}
	for i := range trials {
		n := r.l.Next
		var pt space.Assignment
		var sdata json.RawMessage
		if n < len(r.p.History) {
			var td trialData
			if err := json.Unmarshal(r.p.History[n].Data, &td); err != nil {
				return fmt.Errorf("%w: stored trial %d has no search point", optimizer.ErrHistoryMismatch, n)
			}
			var err error
			if pt, err = r.ext.ParseAssignment(td.Point); err != nil {
				return fmt.Errorf("%w: stored trial %d: %v", optimizer.ErrHistoryMismatch, n, err)
			}
			sdata = td.Sampler
		} else if i == 0 {
			pt = r.basePoint() // MIPROv2 starts from the program as it is
		} else {
			var err error
			if pt, sdata, err = smp.SampleData(r.ext, r.p.Direction, hist, optimizer.TrialRand(r.p.Seed, n)); err != nil {
				return err
			}
		}
		prog, err := r.program(pt)
		if err != nil {
			return err
		}
		exs, split := val, optimizer.SplitVal
		if mini {
			mb := optimizer.TrialRand(r.p.Seed^0x6d696e69, n).Perm(len(val))[:min(r.s.MinibatchSize, len(val))]
			exs, split = make([]datasets.Example, len(mb)), optimizer.SplitValBatch
			for k, j := range mb {
				exs[k] = val[j]
			}
		}
		td, _ := json.Marshal(trialData{Point: mustJSON(pt), Sampler: sdata})
		t, err := r.trial(optimizer.TrialSpec{Program: prog, Examples: exs, Split: split, Strategy: StrategySearch, Step: i + 1,
			Note: fmt.Sprintf("beacon search trial %d", i+1)}, withData(td), r.fullReserve())
		if err != nil {
			return err
		}
		ht := optimizer.Trial{Number: len(hist), Params: pt, State: t.State, Value: t.Value, Cost: t.Cost, Data: sdata}
		hist = append(hist, ht)
		if t.State == optimizer.Stopped {
			break
		}
		if t.State == optimizer.Complete {
			k := pt.Key()
			st := stats[k]
			if st == nil {
				st = &stat{pt: pt}
				stats[k] = st
				order = append(order, k)
			}
			st.sum += t.Value
			st.n++
			st.full = st.full || !mini
		}
		if mini && (i+1)%r.s.FullEvalSteps == 0 {
			if err := fullEval(); err != nil {
				return err
			}
		}
	}
	if mini {
		return fullEval()
	}
	return nil
}

func mustJSON(a space.Assignment) json.RawMessage {
	b, _ := json.Marshal(a)
	return b
}
