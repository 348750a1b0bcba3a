package optimizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/mabeam/mabeam/space"
)

// Sampler proposes the next assignment of a space. history holds every
// trial so far in number order, running ones (State Running, no value yet:
// asked by concurrent workers and not told) included; a sampler that
// learns from values uses the complete ones, and may use the running ones
// to keep a batch apart. Implementations must be deterministic given (r's
// state, history).
type Sampler interface {
	Sample(s *space.Space, d Direction, history []Trial, r *rand.Rand) (space.Assignment, error)
}

// A DataSampler is a Sampler that keeps its own data with each trial it
// proposes (Trial.Data: e.g. the hyperparameters its model was fitted
// with, to warm-start the next fit), stored with the trial and given back
// in the history. Study.Ask and Search call SampleData instead of Sample.
type DataSampler interface {
	Sampler
	SampleData(s *space.Space, d Direction, history []Trial, r *rand.Rand) (space.Assignment, json.RawMessage, error)
}

// sample asks smp for trial n's assignment and, from a DataSampler, its
// data.
func sample(smp Sampler, s *space.Space, d Direction, history []Trial, r *rand.Rand) (space.Assignment, json.RawMessage, error) {
	if ds, ok := smp.(DataSampler); ok {
		return ds.SampleData(s, d, history, r)
	}
	a, err := smp.Sample(s, d, history, r)
	return a, nil, err
}

// SamplerFunc adapts a function to Sampler.
type SamplerFunc func(s *space.Space, d Direction, history []Trial, r *rand.Rand) (space.Assignment, error)

// Sample calls f.
func (f SamplerFunc) Sample(s *space.Space, d Direction, h []Trial, r *rand.Rand) (space.Assignment, error) {
	return f(s, d, h, r)
}

// Random is the random-search sampler: every trial is an independent draw
// from the space's prior (space.Sample). It ignores the history.
type Random struct{}

var _ Sampler = Random{}

// Sample draws from the space.
func (Random) Sample(s *space.Space, _ Direction, _ []Trial, r *rand.Rand) (space.Assignment, error) {
	return s.Sample(r)
}

// TrialRand returns the generator trial n of a study with seed draws from:
// trials do not share generator state, so trial n is the same whether the
// study ran in one go, was resumed, or was driven by separate CLI calls.
func TrialRand(seed uint64, n int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^uint64(n)))
}

// Errors of the ask/tell interface.
var (
	ErrUnknownTrial = errors.New("optimizer: unknown trial")
	ErrFinished     = errors.New("optimizer: trial already finished")
)

// Study is an ask-and-tell optimization: Ask proposes, the caller evaluates,
// Tell reports. It is not safe for concurrent use.
type Study struct {
	space   *space.Space
	sampler Sampler
	dir     Direction
	seed    uint64
	trials  []Trial
}

// NewStudy starts a study over s. A nil sampler means Random. Trials, if
// given, are a previous session's trials (a stored study): numbering and
// sampling continue after them.
func NewStudy(s *space.Space, smp Sampler, d Direction, seed uint64, trials ...Trial) (*Study, error) {
	if s == nil {
		return nil, errors.New("optimizer: study needs a space")
	}
	if smp == nil {
		smp = Random{}
	}
	for i, t := range trials {
		if t.Number != i {
			return nil, fmt.Errorf("optimizer: stored trials are not numbered 0..%d (position %d has number %d)", len(trials)-1, i, t.Number)
		}
	}
	return &Study{space: s, sampler: smp, dir: d, seed: seed, trials: append([]Trial(nil), trials...)}, nil
}

// Ask proposes the next trial and records it as running.
func (st *Study) Ask() (Trial, error) {
	n := len(st.trials)
	p, data, err := sample(st.sampler, st.space, st.dir, st.trials, TrialRand(st.seed, n))
	if err != nil {
		return Trial{}, fmt.Errorf("optimizer: trial %d: %w", n, err)
	}
	t := Trial{Number: n, Params: p, State: Running, Value: math.NaN(), Start: time.Now(), Data: data}
	st.trials = append(st.trials, t)
	return t, nil
}

// Tell records the value of a running trial.
func (st *Study) Tell(n int, value float64) (Trial, error) {
	return st.finish(n, Complete, value, "")
}

// Fail records that a running trial failed.
func (st *Study) Fail(n int, reason string) (Trial, error) {
	return st.finish(n, Failed, math.NaN(), reason)
}

func (st *Study) finish(n int, s State, v float64, reason string) (Trial, error) {
	if n < 0 || n >= len(st.trials) {
		return Trial{}, fmt.Errorf("%w %d (the study has trials 0..%d)", ErrUnknownTrial, n, len(st.trials)-1)
	}
	t := &st.trials[n]
	if t.Finished() {
		return *t, fmt.Errorf("%w: trial %d is %s", ErrFinished, n, t.State)
	}
	if s == Complete && math.IsNaN(v) {
		return *t, fmt.Errorf("optimizer: trial %d: value is NaN (report a failure instead)", n)
	}
	t.State, t.Value, t.Err = s, v, reason
	if !t.Start.IsZero() {
		t.Duration = time.Since(t.Start)
	}
	return *t, nil
}

// Trials returns every trial so far, in order.
func (st *Study) Trials() []Trial { return append([]Trial(nil), st.trials...) }

// Best returns the best complete trial.
func (st *Study) Best() (Trial, bool) { return Best(st.trials, st.dir) }

// Direction returns the study's direction.
func (st *Study) Direction() Direction { return st.dir }
