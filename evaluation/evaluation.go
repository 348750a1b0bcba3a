package evaluation

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mabeam/mabeam/coordination"
	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/team"
)

// Program is what Evaluate runs: one example in, one result out. It must be
// safe for concurrent use. *team.Team implements it.
type Program interface {
	Run(ctx context.Context, ex datasets.Example) (team.Result, error)
}

// ResultReuser is an optional capability of a Program: RunInto stores the
// result in *res, reusing the memory of the trace it held (see
// team.Team.RunInto). Evaluate uses it when it drops the traces.
type ResultReuser interface {
	RunInto(ctx context.Context, ex datasets.Example, res *team.Result) error
}

var (
	_ Program      = (*team.Team)(nil)
	_ ResultReuser = (*team.Team)(nil)
)

// Options are the settings of Evaluate; the zero value (or nil) is the
// default.
type Options struct {
	// Workers bounds the examples run at once; 0 means runtime.GOMAXPROCS.
	// Raise it for models that wait on the network.
	Workers int
	// KeepTraces keeps every example's team.Result, traces included, in
	// Report.Results; by default they are dropped after scoring.
	KeepTraces bool
	// MaxCalls and MaxCost bound the batch's LM calls and nominal cost; 0
	// is no bound. A batch that would pass a bound is cut to its longest
	// prefix (in batch order) within both, and Report.Stopped says so: the
	// prefix, and so the report, does not depend on the number of workers.
	// Examples are started in order, and none after the ones started
	// already reach a bound, so the work is bounded too.
	MaxCalls int64
	MaxCost  float64
	// RecordCalls keeps one CallRecord per agent call in Report.Calls
	// (the per-call records a surrogate is calibrated from); it needs the
	// program's traces.
	RecordCalls bool
}

// CallRecord is one agent call of a batch: what was asked, what came back
// and how it scored, by the batch's metric against the example's gold
// answer.
type CallRecord struct {
	Example    int    // the example's position in the batch
	ExampleID  string // its datasets.Example.ID
	Family     string // its datasets.Example.Family and Difficulty
	Difficulty int
	Agent      string
	Role       string
	Model      string
	Round      int
	// Temperature and MaxTokens are the agent's request settings.
	Temperature float64
	MaxTokens   int
	Messages    []lm.Message // the request's messages
	Output      string       // the raw reply
	Answer      string       // the parsed answer; "" when the agent abstained
	Unparsed    bool         // the reply did not follow the answer format
	Score       float64      // the metric of Answer against the gold answer
	Confidence  float64
	Usage       lm.Usage
	Latency     time.Duration
	Retries     int
	Cached      bool
}

// ErrNoExamples reports an Evaluate call with an empty batch.
var ErrNoExamples = errors.New("evaluation: no examples")

// ExampleError is the failure of one example, which aborts the batch.
type ExampleError struct {
	Index int    // position in the batch
	ID    string // the example's ID
	Err   error  // the program's error, e.g. a *team.CallError
}

func (e *ExampleError) Error() string {
	return fmt.Sprintf("evaluation: example %d (id %q): %v", e.Index, e.ID, e.Err)
}

// Unwrap returns the program's error.
func (e *ExampleError) Unwrap() error { return e.Err }

// AgentStats are one agent's figures over the batch, read from the traces.
type AgentStats struct {
	Agent, Role, Model string
	// Examples counts the examples in which the agent was called.
	Examples int
	Calls    int
	Usage    lm.Usage
	Cost     float64
	// FirstScore is the mean metric of the agent's first answer of each
	// example (round 0; a judge's only answer), FinalScore of its last one.
	FirstScore, FinalScore float64
	// Agreement is the share of examples in which the agent's last answer
	// equals the team answer after datasets.Normalize.
	Agreement float64
	// Importance is the agent's mean DyLAN importance over the batch (0 in
	// an example it was not called in): its share of the credit for the
	// team answer, flowing back along the messages that supported it
	// (team.Team.Credit); the agents' importances sum to the share of
	// examples the team answered. NaN when the program does not credit its
	// agents (not a Crediter) or ran without traces. ImportanceCI is its
	// normal 95% interval over the examples.
	Importance   float64
	ImportanceCI [2]float64
	// Unparsed counts the agent's replies that did not follow the answer
	// format.
	Unparsed int
}

// RoundStats are one round's calls over a batch.
type RoundStats struct {
	Calls  int
	Tokens int
	// Agreement is the share of the round's calls whose answer equals the
	// team answer after datasets.Normalize.
	Agreement float64
}

// Crediter is a Program that credits its agents for a run's team answer,
// by index of its spec's agents; team.Team is one (DyLAN's importance).
type Crediter interface {
	Credit(res *team.Result, dst []float64) []float64
	Spec() team.Spec
}

// Report is the outcome of Evaluate. Every figure but Wall is independent
// of the number of workers.
type Report struct {
	N    int // examples evaluated
	Mean float64
	// CI95 is the 95% confidence interval of Mean: the Wilson score
	// interval when every score lies in [0, 1] (exact coverage for 0/1
	// scores, conservative for fractional ones, since a [0, 1] variable of
	// mean p has variance at most p(1−p)); otherwise the normal interval
	// Mean ± 1.96·s/√N.
	CI95 [2]float64
	// Agreement is the mean share of agents agreeing with the team answer.
	Agreement float64
	// Calls and Messages sum the teams' agent calls and peer messages;
	// Skipped their debate turns left out by the budget allocation.
	Calls, Messages, Skipped int
	// Retries sums the calls' failed attempts before their replies
	// (lm.Response.Retries); Unparsed counts the replies that did not
	// follow the answer format.
	Retries, Unparsed int
	// Coordination sums the coordination overhead (protocol rounds,
	// messages and bids) the teams report (team.Result.Coordination).
	Coordination coordination.Overhead
	Usage        lm.Usage
	Cost         float64 // US dollars, nominal (what the calls cost uncached)
	Billed       float64 // US dollars billed: Cost less cache hits
	// Latency sums the examples' critical-path latencies (the simulated
	// or measured model time a sequential run would wait).
	Latency time.Duration
	// Wall is the elapsed real time of Evaluate.
	Wall time.Duration
	// Rounds are the figures of each round of calls (0..Rounds, and
	// Rounds+1 for a judge's call), summed over the examples; nil without
	// traces.
	Rounds []RoundStats
	// Agents are the per-agent statistics, in order of first appearance
	// in the traces; empty if the program keeps no trace.
	Agents []AgentStats
	// Examples are the per-example outcomes in batch order (what the store
	// keeps of each example of a trial).
	Examples []ExampleResult
	// Results are the team results in batch order, with Options.KeepTraces.
	Results []team.Result
	// Stopped reports that Options.MaxCalls or MaxCost cut the batch: the
	// report covers its first N examples only.
	Stopped bool
	// CallRecords are the batch's agent calls, example by example, with
	// Options.RecordCalls; nil otherwise.
	CallRecords []CallRecord
}

// Scores returns the metric of each example's team answer, in batch order.
func (r *Report) Scores() []float64 {
	out := make([]float64, len(r.Examples))
	for i := range r.Examples {
		out[i] = r.Examples[i].Score
	}
	return out
}

// ExampleResult is the team's outcome on one example.
type ExampleResult struct {
	ID     string // the example's ID
	Answer string // the team answer
	Score  float64
	Calls  int
	Usage  lm.Usage
	Cost   float64
}

// record is what is kept of one example until the report is built.
type record struct {
	done       bool // the example ran
	id, answer string
	score      float64
	agreement  float64
	calls      int
	messages   int
	skipped    int
	retries    int
	unparsed   int
	records    []CallRecord
	overhead   coordination.Overhead
	usage      lm.Usage
	cost       float64
	billed     float64
	latency    time.Duration
	agents     []agentRecord
	rounds     []RoundStats // Agreement counts the agreeing calls
}

type agentRecord struct {
	agent, role, model string
	calls, unparsed    int
	usage              lm.Usage
	cost               float64
	first, final       float64 // metric of the first and last answer
	credit             float64 // DyLAN importance; NaN when not credited
	agree              bool
	firstAnswer        string // scratch while summarising
	finalAnswer        string
}

// Evaluate runs p on every example with a bounded pool of workers and
// scores each team answer against the gold answer with metric (nil means
// datasets.ExactMatch). Results are stored by example index, so the report
// does not depend on Options.Workers.
//
// The first failed example aborts the batch: the remaining examples are
// not started, running ones are cancelled, and the error is an
// *ExampleError naming the example (the lowest-indexed one if several
// failed). If ctx ends, Evaluate stops promptly and returns an error
// wrapping ctx.Err(). opts may be nil.
func Evaluate(ctx context.Context, p Program, exs []datasets.Example, metric datasets.Metric, opts *Options) (*Report, error) {
	start := time.Now()
	if len(exs) == 0 {
		return nil, ErrNoExamples
	}
	if opts == nil {
		opts = &Options{}
	}
	if metric == nil {
		metric = datasets.ExactMatch
	}
	n := len(exs)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)

	recs := make([]record, n)
	var results []team.Result
	if opts.KeepTraces {
		results = make([]team.Result, n)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next   atomic.Int64
		done   atomic.Int64
		mu     sync.Mutex // protects failed, calls and cost
		failed []*ExampleError
		calls  int64   // of the finished examples, under a bound
		cost   float64 // likewise
		full   atomic.Bool
		wg     sync.WaitGroup
	)
	bounded := opts.MaxCalls > 0 || opts.MaxCost > 0
	reuser, _ := p.(ResultReuser)
	if opts.KeepTraces {
		reuser = nil
	}
	var cr *crediting
	if c, ok := p.(Crediter); ok {
		cr = &crediting{c: c}
		for _, a := range c.Spec().Agents {
			cr.ids = append(cr.ids, a.ID)
		}
	}
	for range workers {
		wg.Go(func() {
			var memo []scored
			var credit []float64
			var res team.Result // reused through reuser
			for {
				if full.Load() {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= n || runCtx.Err() != nil {
					return
				}
				var err error
				if reuser != nil {
					err = reuser.RunInto(runCtx, exs[i], &res)
				} else {
					res, err = p.Run(runCtx, exs[i])
				}
				if err != nil {
					mu.Lock()
					failed = append(failed, &ExampleError{Index: i, ID: exs[i].ID, Err: err})
					mu.Unlock()
					cancel()
					return
				}
				recs[i].id = exs[i].ID
				memo = summarize(&recs[i], &res, exs[i].Answer, metric, memo[:0])
				if opts.RecordCalls {
					recs[i].records = callRecords(i, &exs[i], &res, metric)
				}
				credit = cr.credit(&recs[i], &res, credit)
				if bounded {
					mu.Lock()
					calls += int64(res.Calls)
					cost += res.Cost
					if over(calls, cost, opts) {
						full.Store(true)
					}
					mu.Unlock()
				}
				if results != nil {
					results[i] = res
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evaluation: stopped after %d of %d examples: %w", done.Load(), n, err)
	}
	if len(failed) > 0 {
		return nil, firstFailure(failed)
	}
	stopped := false
	if bounded {
		k := withinBounds(recs, opts)
		stopped = k < n
		recs = recs[:k]
		if results != nil {
			results = results[:k]
		}
	}
	if len(recs) == 0 {
		// Not even the first example fits: nothing was scored.
		return &Report{Stopped: true, Mean: math.NaN(), CI95: [2]float64{math.NaN(), math.NaN()}, Wall: time.Since(start)}, nil
	}
	r := build(recs)
	r.Stopped = stopped
	r.Results = results
	r.Wall = time.Since(start)
	return r, nil
}

// over reports whether calls or cost passes a bound of opts.
func over(calls int64, cost float64, opts *Options) bool {
	return (opts.MaxCalls > 0 && calls > opts.MaxCalls) || (opts.MaxCost > 0 && cost > opts.MaxCost)
}

// withinBounds is the length of the longest prefix of recs whose calls and
// cost stay within opts' bounds. Every record of that prefix has run:
// examples start in order, and none starts once the finished ones pass a
// bound, so the ones before any finished one have started too.
func withinBounds(recs []record, opts *Options) int {
	var calls int64
	var cost float64
	for i := range recs {
		if !recs[i].done {
			return i
		}
		calls += int64(recs[i].calls)
		cost += recs[i].cost
		if over(calls, cost, opts) {
			return i
		}
	}
	return len(recs)
}

// firstFailure picks the lowest-indexed failure that is not merely the
// cancellation Evaluate itself caused after an earlier failure.
func firstFailure(failed []*ExampleError) error {
	var best *ExampleError
	for _, f := range failed {
		if errors.Is(f.Err, context.Canceled) {
			continue
		}
		if best == nil || f.Index < best.Index {
			best = f
		}
	}
	if best == nil {
		best = failed[0]
	}
	return best
}

// scored memoises the metric and the agreement of one answer string.
// crediting fills the agents' DyLAN importance of a run in its record.
type crediting struct {
	c   Crediter
	ids []string // by spec index
}

func (cr *crediting) credit(rec *record, res *team.Result, buf []float64) []float64 {
	for j := range rec.agents {
		rec.agents[j].credit = math.NaN()
	}
	if cr == nil || len(res.Trace) == 0 {
		return buf
	}
	buf = cr.c.Credit(res, buf)
	for j := range rec.agents {
		a := &rec.agents[j]
		for i, id := range cr.ids {
			if id == a.agent {
				a.credit = buf[i]
				break
			}
		}
	}
	return buf
}

type scored struct {
	answer string
	score  float64
	agree  bool
}

// summarize scores res into rec. memo is scratch, returned for reuse.
func summarize(rec *record, res *team.Result, gold string, metric datasets.Metric, memo []scored) []scored {
	rec.done = true
	teamNorm := datasets.Normalize(res.Answer)
	look := func(a string) scored {
		for _, m := range memo {
			if m.answer == a {
				return m
			}
		}
		m := scored{answer: a, score: metric(a, gold), agree: datasets.Normalize(a) == teamNorm}
		memo = append(memo, m)
		return m
	}
	rec.score = look(res.Answer).score
	rec.answer = res.Answer
	rec.agreement = res.Agreement
	rec.calls, rec.messages = res.Calls, res.Messages
	rec.skipped, rec.overhead = res.Skipped, res.Coordination
	rec.retries, rec.unparsed = res.Retries, res.Unparsed
	rec.usage, rec.cost, rec.billed, rec.latency = res.Usage, res.Cost, res.Billed, res.Latency
	if len(res.Trace) == 0 {
		return memo
	}
	ags := make([]agentRecord, 0, 8)
	rec.rounds = make([]RoundStats, res.Trace[len(res.Trace)-1].Round+1) // calls come round by round
	for k := range res.Trace {
		c := &res.Trace[k]
		for len(rec.rounds) <= c.Round {
			rec.rounds = append(rec.rounds, RoundStats{})
		}
		rs := &rec.rounds[c.Round]
		rs.Calls++
		rs.Tokens += c.Usage.Total()
		if c.Answer != "" && look(c.Answer).agree {
			rs.Agreement++
		}
		j := len(ags) - 1
		for ; j >= 0 && ags[j].agent != c.Agent; j-- {
		}
		if j < 0 {
			ags = append(ags, agentRecord{agent: c.Agent, role: c.Role, model: c.Model, firstAnswer: c.Answer})
			j = len(ags) - 1
		}
		a := &ags[j]
		a.calls++
		if c.Unparsed {
			a.unparsed++
		}
		a.usage = a.usage.Add(c.Usage)
		a.cost += c.Cost
		a.finalAnswer = c.Answer
	}
	for j := range ags {
		a := &ags[j]
		a.first = look(a.firstAnswer).score
		f := look(a.finalAnswer)
		a.final, a.agree = f.score, f.agree && a.finalAnswer != ""
		a.firstAnswer, a.finalAnswer = "", "" // keep no reference to the replies
	}
	rec.agents = ags
	return memo
}

// callRecords are the per-call records of example i's run.
func callRecords(i int, ex *datasets.Example, res *team.Result, metric datasets.Metric) []CallRecord {
	out := make([]CallRecord, len(res.Trace))
	for k := range res.Trace {
		c := &res.Trace[k]
		out[k] = CallRecord{
			Example: i, ExampleID: ex.ID, Family: ex.Family, Difficulty: ex.Difficulty,
			Agent: c.Agent, Role: c.Role, Model: c.Model, Round: c.Round,
			Temperature: c.Temperature, MaxTokens: c.MaxTokens,
			Messages: slices.Clone(c.Messages), // the trace's arena is reused
			Output:   c.Output, Answer: c.Answer, Unparsed: c.Unparsed,
			Score: metric(c.Answer, ex.Answer), Confidence: c.Confidence,
			Usage: c.Usage, Latency: c.Latency, Retries: c.Retries, Cached: c.Cached,
		}
	}
	return out
}

// build sums the records in batch order.
func build(recs []record) *Report {
	n := len(recs)
	r := &Report{N: n, Examples: make([]ExampleResult, n)}
	index := map[string]int{}
	var credit [][2]float64 // by agent: the sum and sum of squares of its importance
	for i := range recs {
		rc := &recs[i]
		r.Examples[i] = ExampleResult{ID: rc.id, Answer: rc.answer, Score: rc.score, Calls: rc.calls, Usage: rc.usage, Cost: rc.cost}
		r.Mean += rc.score
		r.Agreement += rc.agreement
		r.Calls += rc.calls
		r.Messages += rc.messages
		r.Skipped += rc.skipped
		r.Retries += rc.retries
		r.Unparsed += rc.unparsed
		r.CallRecords = append(r.CallRecords, rc.records...)
		r.Coordination = r.Coordination.Add(rc.overhead)
		r.Usage = r.Usage.Add(rc.usage)
		r.Cost += rc.cost
		r.Billed += rc.billed
		r.Latency += rc.latency
		for k, rs := range rc.rounds {
			if k == len(r.Rounds) {
				r.Rounds = append(r.Rounds, RoundStats{})
			}
			r.Rounds[k].Calls += rs.Calls
			r.Rounds[k].Tokens += rs.Tokens
			r.Rounds[k].Agreement += rs.Agreement
		}
		for _, a := range rc.agents {
			j, ok := index[a.agent]
			if !ok {
				j = len(r.Agents)
				index[a.agent] = j
				r.Agents = append(r.Agents, AgentStats{Agent: a.agent, Role: a.role, Model: a.model})
				credit = append(credit, [2]float64{})
			}
			s := &r.Agents[j]
			credit[j][0] += a.credit
			credit[j][1] += a.credit * a.credit
			s.Examples++
			s.Calls += a.calls
			s.Unparsed += a.unparsed
			s.Usage = s.Usage.Add(a.usage)
			s.Cost += a.cost
			s.FirstScore += a.first
			s.FinalScore += a.final
			if a.agree {
				s.Agreement++
			}
		}
	}
	r.Mean /= float64(n)
	r.Agreement /= float64(n)
	for k := range r.Rounds {
		if r.Rounds[k].Calls > 0 {
			r.Rounds[k].Agreement /= float64(r.Rounds[k].Calls)
		}
	}
	for j := range r.Agents {
		s := &r.Agents[j]
		e := float64(s.Examples)
		s.FirstScore /= e
		s.FinalScore /= e
		s.Agreement /= e
		m := credit[j][0] / float64(n)
		s.Importance, s.ImportanceCI = m, [2]float64{math.NaN(), math.NaN()}
		if n > 1 && !math.IsNaN(m) {
			sd := math.Sqrt(max(0, credit[j][1]-float64(n)*m*m) / float64(n-1))
			s.ImportanceCI = [2]float64{m - z975*sd/math.Sqrt(float64(n)), m + z975*sd/math.Sqrt(float64(n))}
		}
	}
	r.CI95 = ci95(r.Scores(), r.Mean)
	return r
}

// z975 is the 97.5% quantile of the standard normal distribution.
const z975 = 1.959963984540054

// ci95 is the interval documented at Report.CI95.
func ci95(scores []float64, mean float64) [2]float64 {
	n := float64(len(scores))
	unit := true
	for _, s := range scores {
		unit = unit && s >= 0 && s <= 1
	}
	if unit {
		z2 := z975 * z975
		den := 1 + z2/n
		center := (mean + z2/(2*n)) / den
		half := z975 / den * math.Sqrt(mean*(1-mean)/n+z2/(4*n*n))
		return [2]float64{max(0, center-half), min(1, center+half)}
	}
	if len(scores) < 2 {
		return [2]float64{math.Inf(-1), math.Inf(1)}
	}
	var ss float64
	for _, s := range scores {
		ss += (s - mean) * (s - mean)
	}
	half := z975 * math.Sqrt(ss/(n-1)/n)
	return [2]float64{mean - half, mean + half}
}
