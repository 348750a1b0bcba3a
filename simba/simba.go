package simba

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/optimizer"
)

// Strategy names, as trials record them.
const (
	AppendDemo = "append_demo"
	AppendRule = "append_rule"
	TeamMove   = "team_move"
)

// Strategies of the trials that are not candidates.
const (
	StrategyBaseline = "baseline" // trial 0: the baseline on the first batch
	StrategyRollout  = "rollout"  // a program's trajectories on part of a batch
	StrategyFinal    = "final"    // a winner scored on the validation split
)

// Settings are SIMBA's settings; the zero value is DSPy's defaults.
type Settings struct {
	// BatchSize is the mini-batch size (32). The train split must hold at
	// least one batch.
	BatchSize int `json:"batch_size,omitempty"`
	// NumCandidates is the number of rollout variants and (plus one) of
	// candidates per step (6).
	NumCandidates int `json:"num_candidates,omitempty"`
	// MaxSteps is the number of steps (8).
	MaxSteps int `json:"max_steps,omitempty"`
	// MaxDemos scales the demo drop before each strategy (4).
	MaxDemos int `json:"max_demos,omitempty"`
	// DemoInputFieldMaxLen truncates a demo's question (100,000 bytes).
	DemoInputFieldMaxLen int `json:"demo_input_field_maxlen,omitempty"`
	// TemperatureForSampling picks the program of each rollout (0.2);
	// TemperatureForCandidates the source of each candidate (0.2).
	TemperatureForSampling   float64 `json:"temperature_for_sampling,omitempty"`
	TemperatureForCandidates float64 `json:"temperature_for_candidates,omitempty"`
	// RolloutTemperature is the temperature floor of the rollouts: agents
	// whose temperature is below it sample at it (1.0, as DSPy's rollout
	// copies do); 0 turns the floor off (agents keep their temperatures,
	// and only the sample index differs between rollouts).
	RolloutTemperature *float64 `json:"rollout_temperature,omitempty"`
	// Strategies are the strategy kinds drawn from, with equal
	// probability (all three); a kind that the problem cannot serve is
	// left out (append_rule without Problem.Model; append_demo and
	// team_move without a team evaluator).
	Strategies []string `json:"strategies,omitempty"`
	// AdviceModel is the model name of the introspection call; "" means
	// the model of the baseline's first agent.
	AdviceModel string `json:"advice_model,omitempty"`
}

// DSPy's defaults.
const (
	DefaultBatchSize            = 32
	DefaultNumCandidates        = 6
	DefaultMaxSteps             = 8
	DefaultMaxDemos             = 4
	DefaultDemoInputFieldMaxLen = 100_000
	DefaultTemperature          = 0.2
	DefaultRolloutTemperature   = 1.0
)

// resolved returns s with its defaults filled in, or an error naming a bad
// setting.
func (s Settings) resolved() (Settings, error) {
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"batch_size", &s.BatchSize, DefaultBatchSize},
		{"num_candidates", &s.NumCandidates, DefaultNumCandidates},
		{"max_steps", &s.MaxSteps, DefaultMaxSteps},
		{"max_demos", &s.MaxDemos, DefaultMaxDemos},
		{"demo_input_field_maxlen", &s.DemoInputFieldMaxLen, DefaultDemoInputFieldMaxLen},
	}
	for _, f := range ints {
		if *f.v < 0 {
			return s, fmt.Errorf("simba: %s is %d; it must be positive (0 means %d)", f.name, *f.v, f.def)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"temperature_for_sampling", &s.TemperatureForSampling}, {"temperature_for_candidates", &s.TemperatureForCandidates}} {
		if *f.v < 0 || math.IsNaN(*f.v) || math.IsInf(*f.v, 0) {
			return s, fmt.Errorf("simba: %s is %g; it must be positive (0 means %g)", f.name, *f.v, DefaultTemperature)
		}
		if *f.v == 0 {
			*f.v = DefaultTemperature
		}
	}
	rt := DefaultRolloutTemperature
	if s.RolloutTemperature != nil {
		rt = *s.RolloutTemperature
	}
	if !(rt >= 0 && rt <= 2) {
		return s, fmt.Errorf("simba: rollout_temperature is %g; it must lie in [0, 2] (0 turns the floor off)", rt)
	}
	s.RolloutTemperature = &rt
	if s.Strategies == nil {
		s.Strategies = []string{AppendDemo, AppendRule, TeamMove}
	}
	if len(s.Strategies) == 0 {
		return s, errors.New("simba: strategies is empty; list at least one of append_demo, append_rule, team_move")
	}
	for i, n := range s.Strategies {
		if n != AppendDemo && n != AppendRule && n != TeamMove {
			return s, fmt.Errorf("simba: strategies[%d] is %q, not append_demo, append_rule or team_move", i, n)
		}
		if slices.Index(s.Strategies, n) != i {
			return s, fmt.Errorf("simba: strategies lists %q twice", n)
		}
	}
	return s, nil
}

// SIMBA is the optimizer. Its zero value runs at DSPy's defaults.
type SIMBA struct {
	Settings Settings
}

var _ optimizer.Optimizer = (*SIMBA)(nil)

func init() {
	optimizer.Register("simba", func(settings map[string]any) (optimizer.Optimizer, error) {
		var s Settings
		if err := optimizer.DecodeSettings(settings, &s); err != nil {
			return nil, err
		}
		if _, err := s.resolved(); err != nil {
			return nil, err
		}
		return &SIMBA{Settings: s}, nil
	})
}

// Optimize implements optimizer.Optimizer. It needs a ProgramEvaluator,
// a baseline and a train split of at least one batch; Problem.History, if
// given, must be a previous run of the same study, which it replays.
func (o *SIMBA) Optimize(ctx context.Context, p *optimizer.Problem, b optimizer.Budget) (*optimizer.Result, error) {
	if err := optimizer.Ready(o, p, b); err != nil {
		return nil, err
	}
	s, _ := o.Settings.resolved()
	r := &run{ctx: ctx, p: p, b: b, s: s, l: optimizer.NewLedger(p), strategies: o.usable(p)}
	r.l.Hint = "a SIMBA study whose steps were cut by its budget cannot be extended by a larger one"
	r.pe = p.Evaluator.(optimizer.ProgramEvaluator)
	r.team, _ = p.Evaluator.(optimizer.TeamProgramEvaluator)
	if p.Model != nil {
		r.meter = optimizer.NewMeter(p.Model)
	}
	return r.l.Finish(r.steps())
}

// Check reports whether SIMBA can run on p with its settings: an
// evaluator of programs, a baseline, a train split of at least one batch,
// and a strategy the problem can serve (optimizer.Checker; the runner
// calls it before any study starts).
func (o *SIMBA) Check(p *optimizer.Problem) error {
	s, err := o.Settings.resolved()
	if err != nil {
		return err
	}
	if _, ok := p.Evaluator.(optimizer.ProgramEvaluator); !ok {
		return errors.New("simba: the evaluator does not evaluate programs (optimizer.ProgramEvaluator); SIMBA grows per-agent demos and rules")
	}
	if p.Baseline == nil {
		return errors.New("simba: the problem has no baseline program to start from")
	}
	if len(p.Train) < s.BatchSize {
		return fmt.Errorf("simba: the train split has %d examples, fewer than one batch (batch_size %d); raise the train size or lower batch_size", len(p.Train), s.BatchSize)
	}
	if len(o.usable(p)) == 0 {
		return fmt.Errorf("simba: none of the strategies %v can run on this problem (append_rule needs Problem.Model; append_demo and team_move a team evaluator)", s.Strategies)
	}
	return optimizer.CheckModelName(p.Model, s.AdviceModel, "simba: advice_model")
}

// usable are the strategies of the settings that p can serve.
func (o *SIMBA) usable(p *optimizer.Problem) []string {
	s, _ := o.Settings.resolved()
	_, isTeam := p.Evaluator.(optimizer.TeamProgramEvaluator)
	var out []string
	for _, n := range s.Strategies {
		if n == AppendRule && p.Model == nil || n != AppendRule && !isTeam {
			continue
		}
		out = append(out, n)
	}
	return out
}

// errBudget ends the steps: the budget left is what the final selection
// needs.
var errBudget = errors.New("simba: budget reached")

// member is a program of the pool.
type member struct {
	trial int // the trial that scored it on its batch
	prog  optimizer.Program
	// perEx are its calls and cost per example on that batch.
	callsPerEx, costPerEx float64
}

// run is one Optimize call.
type run struct {
	ctx        context.Context
	p          *optimizer.Problem
	b          optimizer.Budget
	s          Settings
	pe         optimizer.ProgramEvaluator
	team       optimizer.TeamProgramEvaluator // nil if the evaluator is not a team's
	meter      *optimizer.Meter
	strategies []string
	l          *optimizer.Ledger // the trials, the spend and the replay

	pool    pool
	members []member
	winners []int // member indices: the baseline, then one per step
}

// rng returns the generator of one purpose of one step, so that a replayed
// step draws the same numbers whatever was replayed before it.
func (r *run) rng(step, purpose, k int) *rand.Rand {
	return rand.New(rand.NewPCG(r.p.Seed^0x53494d4241, uint64(step)<<40^uint64(purpose)<<32^uint64(k)))
}

// Purposes of the random streams.
const (
	streamOrder = iota + 1
	streamPairs
	streamCandidate
)

// batches returns the mini-batches of steps 1..MaxSteps: DSPy's shuffled
// order, reshuffled when a batch would run past its end.
func (r *run) batches() [][]datasets.Example {
	train, bs := r.p.Train, r.s.BatchSize
	rng := r.rng(0, streamOrder, 0)
	order := make([]int, len(train))
	for i := range order {
		order[i] = i
	}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	at := 0
	out := make([][]datasets.Example, r.s.MaxSteps)
	for st := range out {
		if at+bs > len(train) {
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			at = 0
		}
		batch := make([]datasets.Example, bs)
		for k := range batch {
			batch[k] = train[order[at+k]]
		}
		at += bs
		out[st] = batch
	}
	return out
}

func (r *run) steps() error {
	batches := r.batches()
	base, err := r.pe.Program(r.p.Baseline)
	if err != nil {
		return fmt.Errorf("simba: the baseline: %w", err)
	}
	t, err := r.trial(optimizer.TrialSpec{Program: base, Examples: batches[0], Split: optimizer.SplitTrain,
		Strategy: StrategyBaseline, Note: "simba baseline"}, nil, false, optimizer.Usage{})
	if err != nil {
		if errors.Is(err, errBudget) {
			return nil // not even the baseline fits: nothing to select
		}
		return err
	}
	if t.State != optimizer.Complete {
		return fmt.Errorf("simba: the baseline failed on the first batch: %s", t.Err)
	}
	r.addMember(t, base)
	r.winners = []int{0}
	for step := 1; step <= r.s.MaxSteps; step++ {
		if err := r.step(step, batches[step-1]); err != nil {
			if errors.Is(err, errBudget) {
				break
			}
			return err
		}
	}
	return r.final(r.s.MaxSteps + 1)
}

// addMember adds trial t's program to the pool.
func (r *run) addMember(t optimizer.Trial, prog optimizer.Program) {
	m := member{trial: t.Number, prog: prog}
	if t.Batch > 0 {
		m.callsPerEx, m.costPerEx = float64(t.Calls)/float64(t.Batch), t.Cost/float64(t.Batch)
	}
	r.members = append(r.members, m)
	r.pool.means = append(r.pool.means, t.Value)
}

// final scores the evenly spaced winners on the validation split.
func (r *run) final(step int) error {
	idx := finalIndices(len(r.winners)-1, r.s.NumCandidates+1)
	for _, i := range idx {
		m := r.members[r.winners[i]]
		parent := m.trial
		t, err := r.trial(optimizer.TrialSpec{Program: m.prog, Examples: r.p.Val, Split: optimizer.SplitVal,
			Strategy: StrategyFinal, Parent: &parent, Step: step,
			Note: fmt.Sprintf("simba final: winner %d (trial %d) on validation", i, parent)}, nil, true, optimizer.Usage{})
		if errors.Is(err, errBudget) || err == nil && t.State == optimizer.Stopped {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// reserve is what the final selection may need, given the winners so far
// and one more: each program scored on the validation split at the
// highest calls and cost per example of any program in the pool; none
// for the final selection itself or before the pool has a program.
func (r *run) reserve(final bool) optimizer.Reserve {
	if final || len(r.members) == 0 {
		return optimizer.Reserve{}
	}
	n := min(r.s.NumCandidates+1, len(r.winners)+1)
	var cpe, kpe float64
	for _, m := range r.members {
		cpe, kpe = max(cpe, m.callsPerEx), max(kpe, m.costPerEx)
	}
	v := float64(len(r.p.Val) * n)
	return optimizer.Reserve{Calls: int64(math.Ceil(cpe * v)), Cost: kpe * v, Trials: n}
}

// limit is what the next evaluation may spend (optimizer.Budget.Room),
// pre being what making its program spent; errBudget when the budget,
// less the final selection's reserve unless final, has no room for it.
func (r *run) limit(final bool, pre optimizer.Usage) (optimizer.Limit, error) {
	l, ok := r.b.Room(r.l.Res.Spent, r.reserve(final), pre)
	if !ok {
		return l, errBudget
	}
	return l, nil
}

// trial runs the next trial, or replays it from the history: a stored trial
// of that number must be the one the spec describes. data, if set, gives
// the trial's Data from its report; u is charged to it (the calls that made
// its program). It returns errBudget, before running anything, when the
// budget has no room.
func (r *run) trial(s optimizer.TrialSpec, data func(*optimizer.Trial, *evaluation.Report) (json.RawMessage, error), final bool, pre optimizer.Usage) (optimizer.Trial, error) {
	s.Number = r.l.Next
	l, err := r.limit(final, pre)
	if err != nil {
		return optimizer.Trial{}, err
	}
	if t, ok, err := r.l.Stored(s); ok {
		if err == nil && t.State == optimizer.Stopped {
			if was, ok := stoppedLimit(t.Data); !ok || was != l {
				err = r.l.Mismatch(t, fmt.Sprintf("a trial cut by the budget that now leaves it %+v (it was cut at %+v)", l, was))
			}
		}
		if err == nil {
			r.l.Replay(t)
		}
		return t, err
	}
	if err := r.ctx.Err(); err != nil {
		return optimizer.Trial{}, err
	}
	s.Options.Limit = l
	t, rep, err := optimizer.Run(r.ctx, r.p, s)
	if err != nil {
		return t, err
	}
	t.Charge(pre)
	if data != nil {
		if t.Data, err = data(&t, rep); err != nil {
			return t, fmt.Errorf("simba: trial %d: %w", t.Number, err)
		}
	}
	if t.State == optimizer.Stopped {
		if t.Data, err = withStoppedLimit(t.Data, l); err != nil {
			return t, fmt.Errorf("simba: trial %d: %w", t.Number, err)
		}
	}
	return t, r.l.Commit(r.ctx, t, rep)
}

// A trial the budget cut records the limit it ran under in its Data
// ("stopped_limit"), so a resume under another budget, which would not
// have cut it there, is told from a replay.
const stoppedKey = "stopped_limit"

func withStoppedLimit(data json.RawMessage, l optimizer.Limit) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	m[stoppedKey] = b
	return json.Marshal(m)
}

func stoppedLimit(data json.RawMessage) (optimizer.Limit, bool) {
	var m map[string]json.RawMessage
	var l optimizer.Limit
	if json.Unmarshal(data, &m) != nil || json.Unmarshal(m[stoppedKey], &l) != nil {
		return l, false
	}
	return l, true
}

// dropped records a candidate a strategy error dropped: a failed trial,
// not scored, charged with what the strategy's calls used. A stored one
// is replayed.
func (r *run) dropped(s optimizer.TrialSpec, c cand) (optimizer.Trial, error) {
	s.Number = r.l.Next
	if t, ok, err := r.l.Stored(s); ok {
		if err == nil && t.State != optimizer.Failed {
			err = r.l.Mismatch(t, fmt.Sprintf("the dropped %s candidate of step %d", s.Strategy, s.Step))
		}
		if err == nil {
			r.l.Replay(t)
		}
		return t, err
	}
	t := optimizer.Trial{Number: s.Number, Params: s.Program.Params, Agents: s.Program.Agents, State: optimizer.Failed,
		Value: math.NaN(), Start: time.Now(), Note: s.Note, Split: s.Split, Parent: s.Parent, Strategy: s.Strategy,
		Step: s.Step, Err: c.failed, Data: c.data}
	t.Charge(c.usage)
	return t, r.l.Commit(r.ctx, t, nil)
}
