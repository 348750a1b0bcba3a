package optimizer

import (
	"context"
	"fmt"
	"math"

	"github.com/mabeam/mabeam/evaluation"
)

// Ledger is the trial-by-trial bookkeeping of an optimizer that resumes
// by replaying its stored trials (SIMBA, BEACON's compiler, the edge
// optimizers): the next trial's number, the trials and spend so far (Res),
// the highest calls and cost per example any trial has shown, and the
// commit of each new trial through Problem.OnTrial.
type Ledger struct {
	P    *Problem
	Res  *Result
	Next int // the next trial's number
	// CallsPerEx and CostPerEx are the highest calls and nominal cost per
	// example of any trial so far (a reserve for evaluations to come).
	CallsPerEx, CostPerEx float64
	// Hint, if set, is added to the mismatch errors: what the optimizer
	// cannot resume.
	Hint string
}

// NewLedger starts the bookkeeping of a study of p.
func NewLedger(p *Problem) *Ledger { return &Ledger{P: p, Res: &Result{}} }

// Stored returns the stored trial the replay has reached, if any (ok is
// false when the next trial is new), checked against s's labels: one whose
// strategy, step, split or parent differ gives an ErrHistoryMismatch. The
// caller records it with Replay once its own checks pass.
func (l *Ledger) Stored(s TrialSpec) (t Trial, ok bool, err error) {
	if l.Next >= len(l.P.History) {
		return Trial{}, false, nil
	}
	t = l.P.History[l.Next]
	if t.Strategy != s.Strategy || t.Step != s.Step || t.Split != s.Split || !sameParent(t.Parent, s.Parent) {
		return t, true, l.Mismatch(t, fmt.Sprintf("the %s trial of step %d (split %s)", s.Strategy, s.Step, s.Split))
	}
	return t, true, nil
}

// Replay records a stored trial: the spend so far, as the uninterrupted
// run saw it.
func (l *Ledger) Replay(t Trial) { l.record(t) }

// Commit records a new trial (rep is its report, nil if it has none) and
// hands it to Problem.OnTrial.
func (l *Ledger) Commit(ctx context.Context, t Trial, rep *evaluation.Report) error {
	l.record(t)
	if l.P.OnTrial != nil {
		return l.P.OnTrial(ctx, t, rep)
	}
	return nil
}

func (l *Ledger) record(t Trial) {
	l.Next++
	l.Res.Trials = append(l.Res.Trials, t)
	l.Res.Spent.Add(&t)
	if t.Batch > 0 {
		l.CallsPerEx = max(l.CallsPerEx, float64(t.Calls)/float64(t.Batch))
		l.CostPerEx = max(l.CostPerEx, t.Cost/float64(t.Batch))
	}
}

// Reserve is what scoring examples more examples in trials more trials
// is expected to spend, at the highest calls and cost per example seen.
func (l *Ledger) Reserve(examples, trials int) Reserve {
	v := float64(examples)
	return Reserve{Calls: int64(math.Ceil(l.CallsPerEx * v)), Cost: l.CostPerEx * v, Trials: trials}
}

// Finish is the end of a study: an ErrHistoryMismatch when stored trials
// are left that the replay did not reach (the study was run with other
// settings, data or budget), and the best trial set.
func (l *Ledger) Finish(err error) (*Result, error) {
	if h := l.P.History; err == nil && l.Next < len(h) {
		err = l.Mismatch(h[l.Next], "a trial of this study: the replay ended before it")
	}
	l.Res.Best, l.Res.BestOK = Best(l.Res.Trials, l.P.Direction)
	return l.Res, err
}

// Mismatch is the ErrHistoryMismatch of stored trial t where the replay
// reaches what.
func (l *Ledger) Mismatch(t Trial, what string) error {
	hint := ""
	if l.Hint != "" {
		hint = " (" + l.Hint + ")"
	}
	return fmt.Errorf("%w: stored trial %d (%s, step %d, split %s) is not %s, which the replay of this study reaches; "+
		"it was run with other settings, data or budget%s: run the config as a new experiment (run --new-experiment NAME)",
		ErrHistoryMismatch, t.Number, t.Strategy, t.Step, t.Split, what, hint)
}

func sameParent(a, b *int) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// Run is the next trial: the stored one the replay has reached (checked
// by Stored and recorded), or s run within limit, finished by done if set
// (its Data, charges of the optimizer's own calls) and committed.
func (l *Ledger) Run(ctx context.Context, s TrialSpec, limit Limit, done func(*Trial, *evaluation.Report) error) (Trial, error) {
	s.Number = l.Next
	if t, ok, err := l.Stored(s); ok {
		if err == nil {
			l.Replay(t)
		}
		return t, err
	}
	if err := ctx.Err(); err != nil {
		return Trial{}, err
	}
	s.Options.Limit = limit
	t, rep, err := Run(ctx, l.P, s)
	if err != nil {
		return t, err
	}
	if done != nil {
		if err := done(&t, rep); err != nil {
			return t, err
		}
	}
	return t, l.Commit(ctx, t, rep)
}
