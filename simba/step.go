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
			t, _, err := r.trial(optimizer.TrialSpec{Program: r.members[m].prog, Examples: exs, Split: optimizer.SplitTrain,
				Strategy: StrategyRollout, Parent: &parent, Step: step,
				Note:    fmt.Sprintf("simba step %d rollout %d of trial %d", step, v+1, parent),
				Options: optimizer.EvalOptions{Sample: v + 1, TemperatureFloor: floor, KeepTraces: true},
			}, r.trajectories(v, v+1, floor, exs), false)
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

	var cands []cand
	for k, e := range orderBuckets(scores) {
		if len(cands) >= n+1 {
			break
		}
		if num := r.next + len(cands); num < len(r.p.History) {
			c, bucket, err := storedCandidate(r.p.History[num], step)
			if err != nil {
				return err
			}
			switch {
			case bucket > k:
				continue // this bucket's candidate was dropped by an error
			case bucket < k:
				return fmt.Errorf("simba: stored trial %d is the candidate of bucket %d of step %d, which the replay passed", num, bucket, step)
			}
			cands = append(cands, c)
			continue
		}
		c, err := r.candidate(step, k, batch[e], outcomes[e], p10, p90)
		if err != nil {
			if r.ctx.Err() != nil {
				return r.ctx.Err()
			}
			continue // a strategy error drops the candidate
		}
		cands = append(cands, c)
	}

	best, bestVal := -1, 0.0
	defer func() {
		if best >= 0 {
			r.winners = append(r.winners, best)
		}
	}()
	for j, c := range cands {
		parent := c.parent
		t, _, err := r.trial(optimizer.TrialSpec{Program: c.prog, Examples: batch, Split: optimizer.SplitTrain,
			Strategy: c.strategy, Parent: &parent, Step: step,
			Note: fmt.Sprintf("simba step %d candidate %d: %s on trial %d", step, j+1, c.strategy, parent),
		}, func(*optimizer.Trial, *evaluation.Report) (json.RawMessage, error) { return c.data, nil }, false, c.usage)
		if err != nil {
			return err
		}
		if t.State == optimizer.Stopped {
			return errBudget
		}
		if t.State != optimizer.Complete {
			continue
		}
		r.addMember(t, t.Program())
		if best < 0 || t.Value > bestVal {
			best, bestVal = len(r.members)-1, t.Value
		}
	}
	return nil
}

// storedCandidate reads a stored candidate trial of step.
func storedCandidate(t optimizer.Trial, step int) (cand, int, error) {
	var d candidateData
	if t.Step != step || t.Parent == nil || !isStrategy(t.Strategy) || json.Unmarshal(t.Data, &d) != nil {
		return cand{}, 0, fmt.Errorf("simba: stored trial %d (%s, step %d) is not a candidate of step %d, which the replay of this study reaches; "+
			"the study was run with other settings, data or budget (use a new experiment name)", t.Number, t.Strategy, t.Step, step)
	}
	return cand{prog: t.Program(), parent: *t.Parent, strategy: t.Strategy, data: t.Data}, d.Bucket, nil
}

func isStrategy(s string) bool { return s == AppendDemo || s == AppendRule || s == TeamMove }
