package optimizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mabeam/mabeam/space"
)

// Direction says whether larger or smaller values are better.
type Direction int

// Directions. The zero value is Maximize: team scores are accuracies.
const (
	Maximize Direction = iota
	Minimize
)

func (d Direction) String() string {
	if d == Minimize {
		return "minimize"
	}
	return "maximize"
}

// ParseDirection reads "maximize" or "minimize".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "maximize", "max":
		return Maximize, nil
	case "minimize", "min":
		return Minimize, nil
	}
	return 0, fmt.Errorf("optimizer: direction %q is not maximize or minimize", s)
}

// Better reports whether a is strictly better than b in direction d. NaN is
// never better than anything, and anything is better than NaN.
func (d Direction) Better(a, b float64) bool {
	if math.IsNaN(a) {
		return false
	}
	if math.IsNaN(b) {
		return true
	}
	if d == Minimize {
		return a < b
	}
	return a > b
}

// State is a trial's life-cycle state.
type State string

// Trial states, as stored.
const (
	Running  State = "running"
	Complete State = "complete"
	Failed   State = "fail"
	Pruned   State = "pruned"
	// Stopped is a trial the budget cut short: it would have passed the
	// study's call or cost bound, so it ran on a prefix of its batch. Its
	// calls and cost count; it is never the best.
	Stopped State = "stopped"
)

// Trial is one evaluated (or being evaluated) assignment.
type Trial struct {
	Number int // 0-based, unique within a study
	Params space.Assignment
	State  State
	// Value is the objective the optimizer saw (e.g. the score on its
	// batch); NaN until the trial is complete.
	Value float64
	// Batch is the number of examples Value was measured on; 0 in ask/tell.
	Batch int
	// Calls, Tokens and Cost are what the trial spent on the model; Cost
	// is nominal (what the calls cost uncached), so it does not depend on
	// a cache, a crash or a resume. Billed is what was paid.
	Calls  int64
	Tokens int64
	Cost   float64
	Billed float64
	// Retries counts the model's failed attempts (rate limits, server
	// errors, timeouts) before the trial's replies: 0 on the surrogate
	// and on a replay from the cache.
	Retries int64
	Start   time.Time
	// Duration is the trial's wall time.
	Duration time.Duration
	// Err says why a failed trial failed.
	Err string
	// Note is the optimizer's label for how the trial was made (e.g.
	// "random", "simba step 3").
	Note string
	// Split is the split Value was measured on: SplitTrain (a mini-batch
	// an optimizer learns from), SplitVal, SplitValBatch or SplitTest; "" when not known
	// (ask/tell), which counts as validation. Only validation scores
	// compete for the best.
	Split string
	// Parent is the number of the trial this one was derived from; nil
	// when none. Strategy names how it was derived (e.g. "append_demo"),
	// and Step the optimizer's step that made it; "" and 0 when the
	// optimizer has none.
	Parent   *int
	Strategy string
	Step     int
	// Agents are the per-agent materials of the trial's program
	// (Program.Agents), so that Program() runs it again; nil when the
	// evaluator keeps no materials (a black-box study).
	Agents map[string]AgentProgram
	// Data is the optimizer's own record of the trial (JSON), stored with
	// it and given back in Problem.History, so a resumed study rebuilds
	// its state from the store (SIMBA keeps its rollout trajectories
	// here); nil when the optimizer keeps none.
	Data json.RawMessage
}

// Program is the trial's program: its parameters and materials.
func (t *Trial) Program() Program { return Program{Params: t.Params, Agents: t.Agents} }

// Splits a trial's Value is measured on.
const (
	SplitTrain = "train"
	SplitVal   = "val"
	SplitTest  = "test"
	// SplitValBatch is a mini-batch of the validation split (BEACON's
	// MIPROv2-style trials on a large validation split): a noisy estimate,
	// which does not compete for the best.
	SplitValBatch = "val-batch"
)

// Validation reports whether the trial's Value is a validation score (or
// of unknown split, as in ask/tell), the only kind that competes for Best.
func (t *Trial) Validation() bool { return t.Split == SplitVal || t.Split == "" }

// Finished reports whether the trial is no longer running.
func (t *Trial) Finished() bool { return t.State != Running && t.State != "" }

// Best returns the complete validation trial (Trial.Validation) with the
// best value in direction d; ok is false when there is none. Ties go to the
// earlier trial.
func Best(trials []Trial, d Direction) (best Trial, ok bool) {
	for _, t := range trials {
		if t.State != Complete || !t.Validation() {
			continue
		}
		if !ok || d.Better(t.Value, best.Value) {
			best, ok = t, true
		}
	}
	return best, ok
}

// Budget bounds a study. A zero field is no bound; at least one must be set.
type Budget struct {
	Trials int     // finished trials
	Calls  int64   // LM calls, the optimizers' own calls included
	Cost   float64 // US dollars
}

// ErrNoBudget is returned for a Budget with no bound.
var ErrNoBudget = errors.New("optimizer: budget has no bound (set trials, calls or cost)")

// Validate checks b.
func (b Budget) Validate() error {
	if b.Trials < 0 || b.Calls < 0 || b.Cost < 0 {
		return fmt.Errorf("optimizer: budget fields must not be negative (trials %d, calls %d, cost %g)", b.Trials, b.Calls, b.Cost)
	}
	if b.Trials == 0 && b.Calls == 0 && b.Cost == 0 {
		return ErrNoBudget
	}
	return nil
}

// Spent is what a study has used so far. Budgets bound the nominal Cost;
// Billed is shown beside it.
type Spent struct {
	Trials int
	Calls  int64
	Tokens int64
	Cost   float64
	Billed float64
}

// Add counts a finished trial.
func (s *Spent) Add(t *Trial) {
	s.Trials++
	s.Calls += t.Calls
	s.Tokens += t.Tokens
	s.Cost += t.Cost
	s.Billed += t.Billed
}

// Exhausted reports whether s has reached any bound of b.
func (b Budget) Exhausted(s Spent) bool {
	return (b.Trials > 0 && s.Trials >= b.Trials) ||
		(b.Calls > 0 && s.Calls >= b.Calls) ||
		(b.Cost > 0 && s.Cost >= b.Cost)
}
