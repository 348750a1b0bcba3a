package experiments

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	BilledCostUSD     float64  `json:"billed_cost_usd"`
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
	// the trial is committed, the study is marked interrupted. (The CLI
	// cancels the context on a signal instead, which abandons the trial in
	// progress at once; --resume runs it again.)
	Stop func() bool
	// LeaseTTL is how long a study's lease lives without renewal; 0 means
	// DefaultLeaseTTL. The runner renews it every third of that.
	LeaseTTL time.Duration
	// Holder names this process in leases; "" means host:pid:random.
	Holder string
	// NoAnalysis skips the team analytics of a concluded study (Analysis:
	// contributions and team measures on test, which score every
	// coalition of the best team's and the baseline's agents) and its
	// cost-matched self-consistency baseline (SelfConsistency).
	NoAnalysis bool
	// SingleAgent also runs each concluded study's optimized single agent
	// (Study.SingleAgent: the same optimizer at the same budget over one
	// agent of the self-consistency baseline's model) and scores it on
	// test; it costs about what the study did.
	SingleAgent bool

	// Parallel is how many studies run at once; 0 or 1 runs them one after
	// another. A distributed run (`run --nats`) runs several, so the
	// workers have several studies' evaluations to share. Each study's
	// trials are what they are alone: only the order in which studies
	// finish changes.
	Parallel int

	singlesMu sync.Mutex
	singles   map[string]SingleModel // the matched baselines' model by experiment, dataset and seed
}

// MaxFailedInARow is how many trials in a row may fail (each recorded with
// its reason) before the runner stops the study: something every trial
// meets is wrong (a server down, a limit far too low), and the study
// continues with --resume once it is fixed.
const MaxFailedInARow = 10

// DefaultLeaseTTL is the lease time-to-live of a Runner that sets none: a
// study whose holder was killed can be resumed this long after its last
// heartbeat.
const DefaultLeaseTTL = 30 * time.Second

// ErrConfigChanged is matched (errors.Is) by the *ConfigChangedError of a
// resume whose config changed in more than its budget.
var ErrConfigChanged = errors.New("experiments: the config changed since the study was run")

// ConfigChangedError lists what changed in a study's config since it was
// stored. Raising (or lowering) a budget continues the same studies; any
// other change needs a new experiment name (`run --new-experiment NAME`),
// so results of two configs are never mixed in one study.
type ConfigChangedError struct {
	Study   string
	Changes []ConfigChange
}

func (e *ConfigChangedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "experiments: study %q was run from another config; changed since:", e.Study)
	for _, c := range e.Changes {
		b.WriteString("\n  ")
		b.WriteString(c.String())
	}
	b.WriteString("\nonly budget changes continue the same studies: undo the other changes, or pass --new-experiment NAME to run this config as a new experiment")
	return b.String()
}

// Is makes errors.Is(err, ErrConfigChanged) true.
func (e *ConfigChangedError) Is(target error) bool { return target == ErrConfigChanged }

// ErrStopped is returned by Run when Stop ended it early; every finished
// trial is stored and `run --resume` continues.
var ErrStopped = errors.New("experiments: run stopped before the budget was spent")

// ErrStudyExists is returned for a study already in the store without Resume.
var ErrStudyExists = errors.New("experiments: study already in the store")

// plan is what the preflight found for one study.
type plan struct {
	rec    store.Study
	exists bool
	budget []ConfigChange // budget changes to store before resuming
}

// Run runs every study in order and returns their summaries. Every study's
// stored state is checked first, so a refused run (a study that exists
// without Resume, a config changed in more than its budget) touches
// nothing. A study that is complete in the store (with Resume, and an
// unchanged budget) is not run again; its stored summary is returned. The
// experiment's record (store.Experiment) is set to these studies, which
// is what `compare` shows.
func (r *Runner) Run(ctx context.Context, studies []*Study) ([]Summary, error) {
	plans := make([]plan, len(studies))
	for i, st := range studies {
		p, err := r.check(ctx, st)
		if err != nil {
			return nil, err
		}
		plans[i] = p
	}
	if len(studies) > 0 {
		e := store.Experiment{Name: studies[0].Experiment}
		h := sha256.New()
		for _, st := range studies {
			if !slices.Contains(e.Seeds, st.Seed) {
				e.Seeds = append(e.Seeds, st.Seed)
			}
			e.Studies = append(e.Studies, st.Name)
			h.Write([]byte(st.ConfigHash))
		}
		e.ConfigHash = hex.EncodeToString(h.Sum(nil))
		if c := studies[0].config; c != nil && c.source != nil {
			// The config as written (the studies' own canonical configs
			// are in studies.config), under the name it ran as.
			e.Config, _ = json.Marshal(map[string]string{"file": c.File, "name": c.Name, "yaml": string(c.source)})
		}
		if err := r.Store.SetExperiment(ctx, e); err != nil {
			return nil, err
		}
	}
	holder := r.Holder
	if holder == "" {
		holder = newHolder()
	}
	if r.Parallel > 1 && len(studies) > 1 {
		return r.runParallel(ctx, studies, plans, holder)
	}
	var out []Summary
	for i, st := range studies {
		s, err := r.runStudy(ctx, st, plans[i], holder)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// runParallel runs up to r.Parallel studies at once. The first study to
// fail or stop stops the others as Stop does (each commits the trial in
// progress and is left interrupted, for --resume) and starts no more; its
// error is returned. The summaries are those of the studies that
// finished, in the studies' order.
func (r *Runner) runParallel(ctx context.Context, studies []*Study, plans []plan, holder string) ([]Summary, error) {
	defer r.serialize()()
	var (
		halt  atomic.Bool
		mu    sync.Mutex
		first error // the first study's failure, or stop
	)
	stop := r.Stop
	r.Stop = func() bool { return halt.Load() || stop != nil && stop() }
	defer func() { r.Stop = stop }()
	sums := make([]*Summary, len(studies))
	sem := make(chan struct{}, r.Parallel)
	var wg sync.WaitGroup
	for i, st := range studies {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil || halt.Load() {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s, err := r.runStudy(ctx, st, plans[i], holder)
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				halt.Store(true)
				return
			}
			sums[i] = &s
		}()
	}
	wg.Wait()
	var out []Summary
	for _, s := range sums {
		if s != nil {
			out = append(out, *s)
		}
	}
	if first == nil && ctx.Err() != nil { // the caller's context ended
		first = ErrStopped
	}
	return out, first
}

// serialize makes the runner's Progress and Log safe for studies running
// at once, until the returned function restores them.
func (r *Runner) serialize() (restore func()) {
	p, l := r.Progress, r.Log
	var mu sync.Mutex
	if p != nil {
		r.Progress = &lockedProgress{mu: &mu, p: p}
	}
	if l != nil {
		r.Log = &lockedWriter{mu: &mu, w: l}
	}
	return func() { r.Progress, r.Log = p, l }
}

type lockedProgress struct {
	mu *sync.Mutex
	p  Progress
}

func (l *lockedProgress) Start(study string, b optimizer.Budget, done int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.p.Start(study, b, done)
}

func (l *lockedProgress) Trial(study string, t optimizer.Trial, best float64, s optimizer.Spent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.p.Trial(study, t, best, s)
}

func (l *lockedProgress) Finish(s Summary) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.p.Finish(s)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// newHolder names this process for leases: host, pid and a random tag.
func newHolder() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%x", host, os.Getpid(), b)
}

// budgetJSON is a budget as the config writes it.
func budgetJSON(b optimizer.Budget) map[string]any {
	return map[string]any{"trials": b.Trials, "calls": b.Calls, "cost": b.Cost}
}

// deadHolder reports whether a lease holder named by newHolder is a
// process of this host that no longer runs.
func deadHolder(h string) bool {
	host, rest, ok := strings.Cut(h, ":")
	if !ok {
		return false
	}
	pidText, _, ok := strings.Cut(rest, ":")
	pid, err := strconv.Atoi(pidText)
	if me, _ := os.Hostname(); !ok || err != nil || host != me || pid <= 0 {
		return false
	}
	return !processAlive(pid)
}

// check reads st's stored state and says what running it will do.
func (r *Runner) check(ctx context.Context, st *Study) (plan, error) {
	rec, err := r.Store.Study(ctx, st.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return plan{}, nil
	case err != nil:
		return plan{}, err
	case !r.Resume:
		return plan{}, fmt.Errorf("%w: %q (status %s); pass --resume to continue it, or use another --db", ErrStudyExists, st.Name, rec.Status)
	}
	p := plan{rec: rec, exists: true}
	if rec.ConfigHash != st.ConfigHash {
		changes := diffConfigs(rec.Config, st.ConfigJSON)
		if len(changes) == 0 || !budgetOnly(changes) {
			if len(changes) == 0 {
				changes = []ConfigChange{{Path: "(hash)", Old: rec.ConfigHash, New: st.ConfigHash}}
			}
			return plan{}, &ConfigChangedError{Study: st.Name, Changes: changes}
		}
		p.budget = changes
	}
	return p, nil
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

func (r *Runner) runStudy(ctx context.Context, st *Study, pl plan, holder string) (Summary, error) {
	rec := pl.rec
	if pl.exists && rec.Status == store.StatusComplete && pl.budget == nil {
		r.logf("study %s is complete; not run again", st.Name)
		s, err := r.storedSummary(ctx, rec)
		if err == nil && r.Progress != nil {
			r.Progress.Finish(s)
		}
		return s, err
	}
	if !pl.exists {
		var err error
		rec, err = r.Store.CreateStudy(ctx, store.Study{
			Name: st.Name, Experiment: st.Experiment, Optimizer: st.Optimizer, Dataset: st.Dataset,
			Seed: st.Seed, Direction: st.Problem.Direction, Space: st.SpaceJSON,
			Config: st.ConfigJSON, ConfigHash: st.ConfigHash, Budget: st.Budget,
		})
		if err != nil {
			return Summary{}, err
		}
	}
	// The lease: a second process refuses here, before touching the study.
	ttl := r.LeaseTTL
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	from, err := r.Store.AcquireLease(ctx, st.Name, holder, ttl)
	var le *store.LeaseError
	if errors.As(err, &le) && deadHolder(le.Lease.Holder) {
		// Its holder was a process of this machine that is gone (killed):
		// no need to wait for the heartbeat to expire.
		from, err = r.Store.AcquireLease(ctx, st.Name, holder, 0)
	}
	if err != nil {
		return Summary{}, err
	}
	if from != "" {
		r.logf("study %s: took over the stale lease of %s", st.Name, from)
		_ = r.Store.Event(ctx, rec.ID, "lease", "lease taken over from a stale holder", map[string]any{"previous": from})
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	beat := time.NewTicker(ttl / 3)
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		for {
			select {
			case <-ctx.Done():
				return
			case <-beat.C:
				if err := r.Store.RenewLease(ctx, st.Name, holder); err != nil && ctx.Err() == nil {
					cancel(fmt.Errorf("study %s: lost its lease: %w", st.Name, err))
					return
				}
			}
		}
	}()
	defer func() {
		beat.Stop()
		cancel(nil)
		<-beatDone
		_ = r.Store.ReleaseLease(context.WithoutCancel(ctx), st.Name, holder)
	}()

	if pl.budget != nil {
		changes := make([]string, len(pl.budget))
		for i, c := range pl.budget {
			changes[i] = c.String()
		}
		r.logf("study %s: budget changed (%s); continuing", st.Name, strings.Join(changes, "; "))
		if err := r.Store.UpdateStudyConfig(ctx, st.Name, st.ConfigJSON, st.ConfigHash, st.Budget); err != nil {
			return Summary{}, err
		}
		_ = r.Store.Event(ctx, rec.ID, "budget", "budget changed on resume",
			map[string]any{"old": budgetJSON(rec.Budget), "new": budgetJSON(st.Budget)})
	}
	if pl.exists {
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
	}
	if pl.exists {
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
	failedInARow := 0
	p.OnTrial = func(ctx context.Context, t optimizer.Trial, rep *evaluation.Report) error {
		if err := r.Store.FinishTrial(ctx, rec.ID, Record(t, rep)); err != nil {
			return err
		}
		if failedInARow++; t.State != optimizer.Failed {
			failedInARow = 0
		}
		if failedInARow >= MaxFailedInARow {
			return fmt.Errorf("experiments: study %s: %d trials in a row failed, the last with: %s; every trial is stored, and once the cause is fixed, run --resume continues", st.Name, failedInARow, t.Err)
		}
		spent.Add(&t)
		if t.State == optimizer.Complete && t.Validation() && p.Direction.Better(t.Value, best) {
			best = t.Value
		}
		if r.Progress != nil {
			r.Progress.Trial(st.Name, t, best, spent)
		}
		if r.Stop != nil && r.Stop() {
			return ErrStopped
		}
		return nil
	}

	start := time.Now()
	res, err := st.Opt.Optimize(ctx, &p, st.Budget)
	if err == nil {
		err = optimizer.Conclude(ctx, &p, res)
	}
	if err == nil {
		for team, rep := range map[string]*evaluation.Report{store.TestBest: res.Test, store.TestBaseline: res.Baseline} {
			if rep != nil && err == nil {
				err = r.Store.SaveTestResults(ctx, rec.ID, team, Record(optimizer.Trial{}, rep).Examples)
			}
		}
	}
	if err == nil && !r.NoAnalysis {
		err = r.analyze(ctx, st, rec.ID, res)
	}
	if err == nil && !r.NoAnalysis {
		err = r.selfConsistency(ctx, st, rec.ID, res)
	}
	if err != nil {
		trials := len(history)
		if res != nil {
			trials = len(res.Trials)
		}
		return Summary{}, r.interrupted(ctx, st, rec, err, trials)
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
	calls, tokens, cost, billed := res.Spent.Calls, res.Spent.Tokens, res.Spent.Cost, res.Spent.Billed
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
			billed += rep.Billed
			wall += rep.Wall
		}
	}
	out.LMCalls, out.Tokens, out.CostUSD, out.BilledCostUSD = &calls, &tokens, &cost, &billed
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

// interrupted records why a study's run ended early (a stop request, a
// cancelled context, a lost lease, an error): the study is left
// interrupted for --resume, with an event saying why. A stop or a
// cancellation is ErrStopped.
func (r *Runner) interrupted(ctx context.Context, st *Study, rec store.Study, err error, trials int) error {
	bg := context.WithoutCancel(ctx)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause // the lease was lost: say so rather than "context canceled"
	}
	serr := r.Store.SetStudyStatus(bg, st.Name, store.StatusInterrupted)
	if errors.Is(err, context.Canceled) || errors.Is(err, ErrStopped) {
		_ = r.Store.Event(bg, rec.ID, "interrupt", "run stopped", map[string]any{"trials": trials})
		return errors.Join(ErrStopped, serr)
	}
	_ = r.Store.Event(bg, rec.ID, "error", err.Error(), nil)
	return errors.Join(fmt.Errorf("study %s: %w", st.Name, err), serr)
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
	if rec.Result.BilledCostUSD != nil {
		s.BilledCostUSD = *rec.Result.BilledCostUSD
	}
	if rec.Result.WallSeconds != nil {
		s.WallSeconds = *rec.Result.WallSeconds
	}
	return s
}

// Record is what the store keeps of a finished trial: the trial, each
// agent's figures, each example's result and the recorded calls (from
// rep, nil for a failed trial).
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
			Agreement: a.Agreement, Contribution: a.Importance, Unparsed: int64(a.Unparsed),
		})
	}
	for k, c := range rep.CallRecords {
		rec.Calls = append(rec.Calls, store.Call{
			Seq: k, Example: c.ExampleID, Family: c.Family, Difficulty: c.Difficulty,
			Agent: c.Agent, Role: c.Role, Model: c.Model, Round: c.Round,
			Temperature: c.Temperature, MaxTokens: c.MaxTokens, Messages: c.Messages,
			Output: c.Output, Answer: c.Answer, Parsed: !c.Unparsed, Score: c.Score, Confidence: c.Confidence,
			PromptTokens: int64(c.Usage.PromptTokens), CompletionTokens: int64(c.Usage.CompletionTokens),
			Latency: c.Latency, Retries: c.Retries, Cached: c.Cached,
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
