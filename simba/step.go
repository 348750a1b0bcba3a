package simba

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/team"
)

// rolloutData is a rollout trial's Data: how it sampled and what every
// example's trajectory was, which the step's strategies read (and a
// resumed study reads back).
type rolloutData struct {
	Variant          int          `json:"variant"`
	Sample           int          `json:"sample"`
	TemperatureFloor float64      `json:"temperature_floor"`
	Trajectories     []trajectory `json:"trajectories"`
}

// trajectory is one team run: the team answer, its score, and every call.
type trajectory struct {
	Example string  `json:"example"`
	Score   float64 `json:"score"`
	Answer  string  `json:"answer"`
	Calls   []call  `json:"calls,omitempty"`
}

// call is one agent call of a trajectory.
type call struct {
	Agent      string  `json:"agent"`
	Round      int     `json:"round"`
	Answer     string  `json:"answer,omitempty"`
	Confidence float64 `json:"confidence"`
	// Right reports that the agent's answer scores full marks.
	Right bool `json:"right,omitempty"`
	// Output is the raw reply, kept on each agent's last call only (the
	// call a demo is made of).
	Output string `json:"output,omitempty"`
}

// candidateData is a candidate trial's Data.
type candidateData struct {
	Bucket  int    `json:"bucket"`  // the bucket's place in the step's order
	Example string `json:"example"` // the bucket's example
	Source  int    `json:"source"`  // the source program's trial
	Dropped []int  `json:"dropped,omitempty"`
	// Skipped says why the strategy changed nothing (DSPy keeps such a
	// candidate: the source with its demos dropped).
	Skipped string `json:"skipped,omitempty"`
	// Change says what the strategy did.
	Change string `json:"change,omitempty"`
	// Charged is what the strategy's own calls used (the introspection),
	// charged to the trial: calls, tokens and nominal cost (Billed and
	// Retries are left out: they depend on the cache and the server).
	Charged *optimizer.Usage `json:"charged,omitempty"`
	// Error is the strategy's error: the candidate was dropped (a failed
	// trial that was not scored).
	Error string `json:"error,omitempty"`
}

// outcome is one rollout of a bucket.
type outcome struct {
	member int // the program that ran
	t      trajectory
}

// cand is a candidate program of a step, built or replayed.
type cand struct {
	prog     optimizer.Program
	parent   int
	strategy string
	data     json.RawMessage
	usage    optimizer.Usage
	failed   string // the strategy's error: the candidate is dropped
}

// trajectories turns a rollout report into its Data.
func (r *run) trajectories(v, sample int, floor float64, exs []datasets.Example) func(*optimizer.Trial, *evaluation.Report) (json.RawMessage, error) {
	return func(_ *optimizer.Trial, rep *evaluation.Report) (json.RawMessage, error) {
		d := rolloutData{Variant: v, Sample: sample, TemperatureFloor: floor}
		if rep != nil {
			for i, ex := range rep.Examples {
				tr := trajectory{Example: ex.ID, Score: ex.Score, Answer: ex.Answer}
				if i < len(rep.Results) {
					gold := exs[i].Answer
					trace := rep.Results[i].Trace
					for k, c := range trace {
						cl := call{Agent: c.Agent, Round: c.Round, Answer: c.Answer, Confidence: c.Confidence}
						if r.team != nil && c.Answer != "" {
							cl.Right = r.team.Score(c.Answer, gold) >= 1
						}
						if !slices.ContainsFunc(trace[k+1:], func(x team.Call) bool { return x.Agent == c.Agent }) {
							cl.Output = c.Output
						}
						tr.Calls = append(tr.Calls, cl)
					}
				}
				d.Trajectories = append(d.Trajectories, tr)
			}
		}
		return json.Marshal(d)
	}
}

// step runs one SIMBA step on batch.
func (r *run) step(step int, batch []datasets.Example) error {
	n := r.s.NumCandidates
	top := r.pool.topKPlusBaseline(n)
	rng := r.rng(step, streamPairs, 0)
	pick := make([][]int, n) // [variant][example]: the member that runs it
	for v := range pick {
		pick[v] = make([]int, len(batch))
		for e := range batch {
			pick[v][e] = r.pool.softmaxPick(rng, top, r.s.TemperatureForSampling)
		}
	}
	floor := *r.s.RolloutTemperature
	outcomes := make([][]outcome, len(batch)) // [example][variant]
	for v := range n {
		var progs []int
		for _, m := range pick[v] {
			if !slices.Contains(progs, m) {
				progs = append(progs, m)
			}
		}
		for _, m := range progs {
			var exs []datasets.Example
			var at []int
			for e, pm := range pick[v] {
				if pm == m {
					exs, at = append(exs, batch[e]), append(at, e)
				}
			}
			parent := r.members[m].trial
			t, err := r.trial(optimizer.TrialSpec{Program: r.members[m].prog, Examples: exs, Split: optimizer.SplitTrain,
				Strategy: StrategyRollout, Parent: &parent, Step: step,
				Note:    fmt.Sprintf("simba step %d rollout %d of trial %d", step, v+1, parent),
				Options: optimizer.EvalOptions{Sample: v + 1, TemperatureFloor: floor, KeepTraces: true},
			}, r.trajectories(v, v+1, floor, exs), false, optimizer.Usage{})
			if err != nil {
				return err
			}
			if t.State == optimizer.Stopped {
				return errBudget
			}
			var d rolloutData
			if len(t.Data) > 0 {
				if err := json.Unmarshal(t.Data, &d); err != nil {
					return fmt.Errorf("simba: trial %d: its rollout data: %w", t.Number, err)
				}
			}
			byID := make(map[string]trajectory, len(d.Trajectories))
			for _, tr := range d.Trajectories {
				byID[tr.Example] = tr
			}
			for _, e := range at {
				tr, ok := byID[batch[e].ID]
				if !ok { // a failed rollout scores 0, as in DSPy
					tr = trajectory{Example: batch[e].ID}
				}
				outcomes[e] = append(outcomes[e], outcome{member: m, t: tr})
			}
		}
	}

	scores := make([][]float64, len(batch))
	var all []float64
	for e, os := range outcomes {
		for _, o := range os {
			scores[e] = append(scores[e], o.t.Score)
		}
		all = append(all, scores[e]...)
		sort.SliceStable(os, func(i, j int) bool { return os[i].t.Score > os[j].t.Score })
	}
	p10, p90 := percentile(all, 10), percentile(all, 90)

	// Candidates, bucket by bucket, each built and then scored on the batch
	// (built from the pool as it was when the step began, as DSPy builds
	// them all first); a candidate is built only when the budget has room
	// for it, so no introspection call goes uncharged.
	type scored struct {
		t    optimizer.Trial
		prog optimizer.Program
	}
	var done []scored
	defer func() { // the step's candidates join the pool; the first best wins
		best := -1
		for i, c := range done {
			r.addMember(c.t, c.prog)
			if best < 0 || c.t.Value > done[best].t.Value {
				best = i
			}
		}
		if best >= 0 {
			r.winners = append(r.winners, len(r.members)-len(done)+best)
		}
	}()
	count := 0
	for k, e := range orderBuckets(scores) {
		if count >= n+1 {
			break
		}
		if _, err := r.limit(false, optimizer.Usage{}); err != nil {
			return err
		}
		var c cand
		if num := r.l.Next; num < len(r.p.History) {
			stored, bucket, err := r.storedCandidate(r.p.History[num], step)
			if err != nil {
				return err
			}
			if bucket != k {
				return r.l.Mismatch(r.p.History[num], fmt.Sprintf("the candidate of bucket %d of step %d", k, step))
			}
			c = stored
		} else {
			var err error
			if c, err = r.candidate(step, k, batch[e], outcomes[e], p10, p90); err != nil {
				if r.ctx.Err() != nil {
					return r.ctx.Err()
				}
				c.failed = err.Error()
			}
		}
		parent := c.parent
		spec := optimizer.TrialSpec{Program: c.prog, Examples: batch, Split: optimizer.SplitTrain,
			Strategy: c.strategy, Parent: &parent, Step: step}
		if c.failed != "" { // a strategy error drops the candidate; the trial records it
			spec.Note = fmt.Sprintf("simba step %d: %s on trial %d dropped: %s", step, c.strategy, parent, c.failed)
			if _, err := r.dropped(spec, c); err != nil {
				return err
			}
			continue
		}
		count++
		spec.Note = fmt.Sprintf("simba step %d candidate %d: %s on trial %d", step, count, c.strategy, parent)
		t, err := r.trial(spec, func(*optimizer.Trial, *evaluation.Report) (json.RawMessage, error) { return c.data, nil }, false, c.usage)
		if err != nil {
			return err
		}
		if t.State == optimizer.Stopped {
			return errBudget
		}
		if t.State == optimizer.Complete {
			done = append(done, scored{t, t.Program()})
		}
	}
	return nil
}

// storedCandidate reads a stored candidate trial of step.
func (r *run) storedCandidate(t optimizer.Trial, step int) (cand, int, error) {
	var d candidateData
	if t.Step != step || t.Parent == nil || !isStrategy(t.Strategy) || json.Unmarshal(t.Data, &d) != nil {
		return cand{}, 0, r.l.Mismatch(t, fmt.Sprintf("a candidate of step %d", step))
	}
	c := cand{prog: t.Program(), parent: *t.Parent, strategy: t.Strategy, data: t.Data, failed: d.Error}
	if d.Charged != nil {
		c.usage = *d.Charged
	}
	return c, d.Bucket, nil
}

func isStrategy(s string) bool { return s == AppendDemo || s == AppendRule || s == TeamMove }
