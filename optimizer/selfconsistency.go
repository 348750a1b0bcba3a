package optimizer

import (
	"context"
	"fmt"
	"strconv"

	"github.com/mabeam/mabeam/coordination"
	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/team"
)

// SelfConsistency is one agent sampled N times with the plurality answer
// (self-consistency, Wang et al. 2023): the single-model baseline that
// multi-agent teams are measured against at equal cost. Sample k (1..N) is
// drawn with lm.Request.Sample k, so the samples differ at a temperature
// above 0; the N samples of a question are one lm.GenerateSamples call,
// so a server that takes n draws them in one request. It is an
// evaluation.Program.
type SelfConsistency struct {
	teams []*team.Team
}

// sampleBatch draws the samples 1..n of a request together: the first
// sample asked for fetches all n (lm.GenerateSamples) into the stash of
// the Run it belongs to, and the others are served from there.
type sampleBatch struct {
	model lm.Model
	n     int
}

type stashKey struct{}

// stash holds one Run's samples by request (its key without the sample).
type stash map[string][]lm.Response

func (b *sampleBatch) Generate(ctx context.Context, req lm.Request) (lm.Response, error) {
	st, _ := ctx.Value(stashKey{}).(stash)
	if st == nil || req.Sample < 1 || req.Sample > b.n {
		return b.model.Generate(ctx, req)
	}
	k := req
	k.Sample = 0
	key := lm.Key("", k)
	rs, ok := st[key]
	if !ok {
		k.Sample = 1
		var err error
		if rs, err = lm.GenerateSamples(ctx, b.model, k, b.n); err != nil {
			return lm.Response{}, err
		}
		st[key] = rs
	}
	return rs[req.Sample-1], nil
}

// Identity is the sampled model's: batching changes no answer.
func (b *sampleBatch) Identity() string { return lm.IdentityOf(b.model) }

var _ evaluation.Program = (*SelfConsistency)(nil)

// NewSelfConsistency returns agent a sampled n >= 1 times on model: the
// same prompt every time, so the samples differ only by
// lm.Request.Sample.
func NewSelfConsistency(a team.AgentSpec, n int, model lm.Model) (*SelfConsistency, error) {
	if n < 1 {
		return nil, fmt.Errorf("optimizer: self-consistency of %d samples", n)
	}
	sc := &SelfConsistency{}
	batch := &sampleBatch{model: model, n: n}
	for k := 1; k <= n; k++ {
		t, err := team.New(team.Spec{Agents: []team.AgentSpec{a}}, batch, &team.Options{Sample: k})
		if err != nil {
			return nil, err
		}
		sc.teams = append(sc.teams, t)
	}
	return sc, nil
}

// Run implements evaluation.Program: the samples' answers decided by
// plurality (ties to the larger summed confidence, then the smaller
// normalised answer), the first sample's text of the winner the answer.
func (sc *SelfConsistency) Run(ctx context.Context, ex datasets.Example) (team.Result, error) {
	var out team.Result
	ctx = context.WithValue(ctx, stashKey{}, stash{}) // the samples run one after another
	votes := make([]coordination.Vote, len(sc.teams))
	texts := make([]string, len(sc.teams))
	for k, t := range sc.teams {
		r, err := t.Run(ctx, ex)
		if err != nil {
			return team.Result{}, err
		}
		out.Calls += r.Calls
		out.Usage = out.Usage.Add(r.Usage)
		out.Cost += r.Cost
		out.Billed += r.Billed
		out.Retries += r.Retries
		out.Unparsed += r.Unparsed
		out.Latency = max(out.Latency, r.Latency) // the samples run side by side
		out.Trace = append(out.Trace, r.Trace...)
		votes[k] = coordination.Vote{Agent: strconv.Itoa(k), Answer: r.Answer, Confidence: r.Confidence}
		texts[k] = r.Answer
	}
	d, err := coordination.Consensus{Normalize: datasets.Normalize}.Decide(votes)
	if err != nil {
		return team.Result{}, err
	}
	agree := 0
	for k, a := range texts {
		if d.Answer != "" && datasets.Normalize(a) == d.Answer {
			if agree == 0 {
				out.Answer = texts[k]
			}
			agree++
		}
	}
	out.Confidence = d.Confidence
	out.Agreement = float64(agree) / float64(len(texts))
	return out, nil
}
