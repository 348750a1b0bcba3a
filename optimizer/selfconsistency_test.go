package optimizer

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/team"
)

// sampler is a model that also draws n samples in one call, counting them.
type sampler struct {
	lm.Model
	batches, generates atomic.Int64
}

func (s *sampler) Generate(ctx context.Context, req lm.Request) (lm.Response, error) {
	s.generates.Add(1)
	return s.Model.Generate(ctx, req)
}

func (s *sampler) GenerateSamples(ctx context.Context, req lm.Request, n int) ([]lm.Response, error) {
	s.batches.Add(1)
	out := make([]lm.Response, n)
	for i := range out {
		r := req
		r.Sample = req.Sample + i
		var err error
		if out[i], err = s.Model.Generate(ctx, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// On a model that draws n samples in one call, self-consistency asks for a
// question's samples once, and scores as it does one sample at a time.
func TestSelfConsistencyBatchesSamples(t *testing.T) {
	exs, err := datasets.GenerateFamily("arithmetic", 12, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	agent := team.AgentSpec{ID: "single", Model: "sim-medium", Temperature: 0.7}
	one, err := NewSelfConsistency(agent, 5, sim.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	want, err := evaluation.Evaluate(context.Background(), one, exs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &sampler{Model: sim.New(nil)}
	batched, err := NewSelfConsistency(agent, 5, s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := evaluation.Evaluate(context.Background(), batched, exs, nil, &evaluation.Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if b, g := s.batches.Load(), s.generates.Load(); b != int64(len(exs)) || g != 0 {
		t.Errorf("%d batched calls and %d single ones for %d questions; want one batch each", b, g, len(exs))
	}
	if got.Mean != want.Mean || got.Calls != want.Calls || got.Usage != want.Usage {
		t.Errorf("batched: mean %v, %d calls, %+v; one at a time: %v, %d, %+v", got.Mean, got.Calls, got.Usage, want.Mean, want.Calls, want.Usage)
	}
	for i := range got.Examples {
		if got.Examples[i].Answer != want.Examples[i].Answer {
			t.Errorf("example %d: %q batched, %q one at a time", i, got.Examples[i].Answer, want.Examples[i].Answer)
		}
	}
}
