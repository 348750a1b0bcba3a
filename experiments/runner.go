package experiments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/store"
)

// Summary is one study's outcome, the row of `experiment run --json`.
type Summary struct {
	Study             string   `json:"study"`
	Optimizer         string   `json:"optimizer"`
	Dataset           string   `json:"dataset"`
	Seed              uint64   `json:"seed"`
	Trials            int      `json:"trials"`
	LMCalls           int64    `json:"lm_calls"`
	Tokens            int64    `json:"tokens"`
	CostUSD           float64  `json:"cost_usd"`
	BestValScore      *float64 `json:"best_val_score"`
	TestScore         *float64 `json:"test_score"`
	BaselineTestScore *float64 `json:"baseline_test_score"`
	WallSeconds       float64  `json:"wall_seconds"`
}

// Progress receives a study's progress; the CLI draws bars or log lines.
type Progress interface {
	// Start is called when a study starts (done trials so far, from a
	// resumed run, included).
	Start(study string, budget optimizer.Budget, done int)
	// Trial is called after each finished trial with the study's totals.
	Trial(study string, t optimizer.Trial, best float64, spent optimizer.Spent)
	// Finish is called when a study ends, with its summary.
	Finish(s Summary)
}

// Runner runs an experiment's studies into a store.
type Runner struct {
	Store *store.Store
	// Resume continues studies already in the store (their config must be
	// unchanged); without it an existing study is an error.
	Resume bool
	// Progress may be nil.
	Progress Progress
	// Log receives one line per notable event (resume, skip); nil discards.
	Log io.Writer
	// Stop, when it returns true, ends the run after the trial in progress:
	// the trial is committed, the study is marked interrupted. The CLI sets
	// it on the first Ctrl-C.
	Stop func() bool
}

// ErrStopped is returned by Run when Stop ended it early; every finished
// trial is stored and `run --resume` continues.
var ErrStopped = errors.New("experiments: run stopped before the budget was spent")

// ErrStudyExists is returned for a study already in the store without Resume.
var ErrStudyExists = errors.New("experiments: study already in the store")

// Run runs every study in order and returns their summaries. A study that
// is complete in the store (with Resume) is not run again; its stored
// summary is returned.
func (r *Runner) Run(ctx context.Context, studies []*Study) ([]Summary, error) {
	var out []Summary
	for _, st := range studies {
		s, err := r.runStudy(ctx, st)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

func (r *Runner) runStudy(ctx context.Context, st *Study) (Summary, error) {
	rec, err := r.Store.Study(ctx, st.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		rec, err = r.Store.CreateStudy(ctx, store.Study{
			Name: st.Name, Experiment: st.Experiment, Optimizer: st.Optimizer, Dataset: st.Dataset,
			Seed: st.Seed, Direction: st.Problem.Direction, Space: st.SpaceJSON,
			Config: st.ConfigJSON, ConfigHash: st.ConfigHash, Budget: st.Budget,
		})
		if err != nil {
			return Summary{}, err
		}
	case err != nil:
		return Summary{}, err
	case !r.Resume:
		return Summary{}, fmt.Errorf("%w: %q (status %s); pass --resume to continue it, or use another --db", ErrStudyExists, st.Name, rec.Status)
	case rec.ConfigHash != st.ConfigHash:
		return Summary{}, fmt.Errorf("experiments: study %q was run from a different config (hash %.12s, now %.12s); --resume needs the same config", st.Name, rec.ConfigHash, st.ConfigHash)
	case rec.Status == store.StatusComplete:
		r.logf("study %s is complete; not run again", st.Name)
		s, err := r.storedSummary(ctx, rec)
		if err == nil && r.Progress != nil {
			r.Progress.Finish(s)
		}
		return s, err
	default:
		n, err := r.Store.DeleteUnfinished(ctx, rec.ID)
		if err != nil {
			return Summary{}, err
		}
		if n > 0 {
			r.logf("study %s: dropped %d unfinished trial(s) of the interrupted run", st.Name, n)
		}
	}
	history, err := r.Store.Trials(ctx, rec.ID)
	if err != nil {
		return Summary{}, err
	}
	if len(history) > 0 {
		r.logf("study %s: resuming after %d finished trial(s)", st.Name, len(history))
		if err := r.Store.SetStudyStatus(ctx, st.Name, store.StatusRunning); err != nil {
			return Summary{}, err
		}
	}
	if err := r.Store.Event(ctx, rec.ID, "start", "study started", map[string]any{"resumed_after": len(history)}); err != nil {
		return Summary{}, err
	}

	p := *st.Problem
	p.History = history
	var spent optimizer.Spent
	for i := range history {
		spent.Add(&history[i])
	}
	best := math.NaN()
	if b, ok := optimizer.Best(history, p.Direction); ok {
		best = b.Value
	}
	if r.Progress != nil {
		r.Progress.Start(st.Name, st.Budget, len(history))
	}
	var stopped atomic.Bool
	p.OnTrial = func(ctx context.Context, t optimizer.Trial, rep *evaluation.Report) error {
		if err := r.Store.FinishTrial(ctx, rec.ID, Record(t, rep)); err != nil {
			return err
		}
		spent.Add(&t)
		if t.State == optimizer.Complete && p.Direction.Better(t.Value, best) {
			best = t.Value
		}
		if r.Progress != nil {
			r.Progress.Trial(st.Name, t, best, spent)
		}
		if r.Stop != nil && r.Stop() {
			stopped.Store(true)
			return ErrStopped
		}
		return nil
	}

	start := time.Now()
	res, err := st.Opt.Optimize(ctx, &p, st.Budget)
	if err != nil {
		if stopped.Load() || ctx.Err() != nil {
			if serr := r.Store.SetStudyStatus(context.WithoutCancel(ctx), st.Name, store.StatusInterrupted); serr != nil {
				return Summary{}, errors.Join(err, serr)
			}
			return Summary{}, ErrStopped
		}
		_ = r.Store.SetStudyStatus(context.WithoutCancel(ctx), st.Name, store.StatusInterrupted)
		return Summary{}, fmt.Errorf("study %s: %w", st.Name, err)
	}
	if err := optimizer.Conclude(ctx, &p, res); err != nil {
		_ = r.Store.SetStudyStatus(context.WithoutCancel(ctx), st.Name, store.StatusInterrupted)
		if ctx.Err() != nil {
			return Summary{}, ErrStopped
		}
		return Summary{}, fmt.Errorf("study %s: %w", st.Name, err)
	}
	result := resultOf(res, time.Since(start))
	if err := r.Store.UpdateStudyResult(ctx, st.Name, result); err != nil {
		return Summary{}, err
	}
	if err := r.Store.SetStudyStatus(ctx, st.Name, store.StatusComplete); err != nil {
		return Summary{}, err
	}
	_ = r.Store.Event(ctx, rec.ID, "finish", "study complete", nil)
	rec.Result = result
	s := summaryOf(rec, len(res.Trials))
	if r.Progress != nil {
		r.Progress.Finish(s)
	}
	return s, nil
}

// resultOf turns an optimizer result into the stored study result. Calls,
// tokens and cost count every trial and the final test evaluations; wall
// time counts the trials' durations (across resumed sessions) and this
// session's test evaluations.
func resultOf(res *optimizer.Result, session time.Duration) store.Result {
	calls, tokens, cost := res.Spent.Calls, res.Spent.Tokens, res.Spent.Cost
	var wall time.Duration
	for _, t := range res.Trials {
		wall += t.Duration
	}
	var out store.Result
	for _, rep := range []*evaluation.Report{res.Test, res.Baseline} {
		if rep != nil {
			calls += int64(rep.Calls)
			tokens += int64(rep.Usage.Total())
			cost += rep.Cost
			wall += rep.Wall
		}
	}
	out.LMCalls, out.Tokens, out.CostUSD = &calls, &tokens, &cost
	secs := wall.Seconds()
	out.WallSeconds = &secs
	if res.BestOK {
		n, v := res.Best.Number, res.Best.Value
		out.BestTrial, out.BestValScore = &n, &v
	}
	if res.Test != nil {
		v := res.Test.Mean
		out.TestScore = &v
	}
	if res.Baseline != nil {
		v := res.Baseline.Mean
		out.BaselineTestScore = &v
	}
	return out
}

func (r *Runner) storedSummary(ctx context.Context, rec store.Study) (Summary, error) {
	trials, err := r.Store.Trials(ctx, rec.ID)
	if err != nil {
		return Summary{}, err
	}
	return summaryOf(rec, len(trials)), nil
}

func summaryOf(rec store.Study, trials int) Summary {
	s := Summary{Study: rec.Name, Optimizer: rec.Optimizer, Dataset: rec.Dataset, Seed: rec.Seed, Trials: trials,
		BestValScore: rec.Result.BestValScore, TestScore: rec.Result.TestScore, BaselineTestScore: rec.Result.BaselineTestScore}
	if rec.Result.LMCalls != nil {
		s.LMCalls = *rec.Result.LMCalls
	}
	if rec.Result.Tokens != nil {
		s.Tokens = *rec.Result.Tokens
	}
	if rec.Result.CostUSD != nil {
		s.CostUSD = *rec.Result.CostUSD
	}
	if rec.Result.WallSeconds != nil {
		s.WallSeconds = *rec.Result.WallSeconds
	}
	return s
}

// Record is what the store keeps of a finished trial: the trial, each
// agent's figures and each example's result (from rep, nil for a failed
// trial).
func Record(t optimizer.Trial, rep *evaluation.Report) store.TrialRecord {
	rec := store.TrialRecord{Trial: t}
	if rep == nil {
		return rec
	}
	for _, a := range rep.Agents {
		rec.Agents = append(rec.Agents, store.AgentMetric{
			Agent: a.Agent, Role: a.Role, Model: a.Model,
			Accuracy: a.FinalScore, Round0Accuracy: a.FirstScore,
			Calls: int64(a.Calls), Tokens: int64(a.Usage.Total()), Cost: a.Cost,
			Agreement: a.Agreement, Contribution: math.NaN(),
		})
	}
	for _, e := range rep.Examples {
		rec.Examples = append(rec.Examples, store.ExampleResult{
			Example: e.ID, Score: e.Score, Answer: e.Answer,
			Calls: int64(e.Calls), Tokens: int64(e.Usage.Total()), Cost: e.Cost,
		})
	}
	return rec
}
