package cluster

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// EvalJob is one evaluation sent to the workers: a study's program on
// examples named by id, with the evaluation's options. Its JSON is a job's
// payload.
type EvalJob struct {
	Study string `json:"study"`
	// Config names the config the study is compiled from, for workers
	// that compile it themselves (experiments.Bundle's id); "" for none.
	Config   string                `json:"config,omitempty"`
	Program  optimizer.Program     `json:"program"`
	Examples []string              `json:"examples"`
	Options  optimizer.EvalOptions `json:"options"`
}

// JobID is the id of an evaluation job: the study and a SHA-256 of the
// payload. An evaluation is deterministic, so two jobs with one payload
// have one result, and a coordinator that restarts and asks again is
// answered from the first.
func JobID(study string, payload []byte) string {
	sum := sha256.Sum256(payload)
	return study + "/" + hex.EncodeToString(sum[:16])
}

// Evaluator is an optimizer.TeamProgramEvaluator whose evaluations run on
// the workers of a queue: the coordinator's side of a distributed study.
// Local is the study's own evaluator, which decodes assignments and scores
// answers; the workers run the same one (EvalHandler), so the reports do
// not depend on where, or on how many workers, they ran.
type Evaluator struct {
	Queue *Queue
	Study string
	// Config is sent with each job (EvalJob.Config).
	Config string
	Local  *optimizer.TeamEvaluator
}

var _ optimizer.TeamProgramEvaluator = (*Evaluator)(nil)

// Evaluate implements optimizer.Evaluator.
func (e *Evaluator) Evaluate(ctx context.Context, a space.Assignment, exs []datasets.Example) (*evaluation.Report, error) {
	return e.EvaluateProgram(ctx, optimizer.Program{Params: a}, exs, optimizer.EvalOptions{})
}

// Program implements optimizer.ProgramEvaluator with the local evaluator.
func (e *Evaluator) Program(a space.Assignment) (optimizer.Program, error) { return e.Local.Program(a) }

// TeamSpace implements optimizer.TeamProgramEvaluator.
func (e *Evaluator) TeamSpace() *space.TeamSpace { return e.Local.TeamSpace() }

// Score implements optimizer.TeamProgramEvaluator.
func (e *Evaluator) Score(prediction, gold string) float64 { return e.Local.Score(prediction, gold) }

// EvaluateProgram submits the evaluation as a job and waits for its
// result. A job that failed on every try is an error with the worker's
// reason (the optimizer records a failed trial).
func (e *Evaluator) EvaluateProgram(ctx context.Context, p optimizer.Program, exs []datasets.Example, o optimizer.EvalOptions) (*evaluation.Report, error) {
	job := EvalJob{Study: e.Study, Config: e.Config, Program: p, Options: o, Examples: make([]string, len(exs))}
	for i := range exs {
		job.Examples[i] = exs[i].ID
	}
	payload, err := json.Marshal(job)
	if err != nil {
		return nil, fmt.Errorf("cluster: study %s: encoding a job: %w", e.Study, err)
	}
	id := JobID(e.Study, payload)
	if err := e.Queue.Submit(ctx, Job{ID: id, Payload: payload}); err != nil {
		return nil, err
	}
	rs, err := e.Queue.Await(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	r := rs[id]
	if r.Err != "" {
		return nil, fmt.Errorf("cluster: job %s failed after %d attempts (worker %q): %s", id, r.Attempts, r.Worker, r.Err)
	}
	return DecodeReport(r.Payload)
}

// Study is what a worker needs of a study to run its jobs: its evaluator
// and its examples by id.
type Study struct {
	Evaluator *optimizer.TeamEvaluator
	Examples  map[string]datasets.Example
}

// ErrUnknownStudy is returned by an EvalHandler's lookup for a study it
// cannot run.
var ErrUnknownStudy = errors.New("cluster: unknown study")

// EvalHandler returns the worker's handler of evaluation jobs: it finds the
// job's study with lookup (by EvalJob.Study and Config), runs the program on the named examples with the
// study's evaluator, and returns the report (EncodeReport).
func EvalHandler(lookup func(study, config string) (*Study, error)) func(ctx context.Context, j Job) ([]byte, error) {
	return func(ctx context.Context, j Job) ([]byte, error) {
		var job EvalJob
		if err := json.Unmarshal(j.Payload, &job); err != nil {
			return nil, fmt.Errorf("cluster: job %s: %w", j.ID, err)
		}
		st, err := lookup(job.Study, job.Config)
		if err != nil {
			return nil, err
		}
		exs := make([]datasets.Example, len(job.Examples))
		for i, id := range job.Examples {
			ex, ok := st.Examples[id]
			if !ok {
				return nil, fmt.Errorf("cluster: job %s: study %s has no example %q", j.ID, job.Study, id)
			}
			exs[i] = ex
		}
		rep, err := st.Evaluator.EvaluateProgram(ctx, job.Program, exs, job.Options)
		if err != nil {
			return nil, err
		}
		return EncodeReport(rep)
	}
}

// EncodeReport writes a report for a result's payload: gob (NaN figures,
// such as an importance not measured, survive it), gzipped, since a
// report's per-example results and call records repeat themselves and a
// NATS message is limited (max_payload, 1 MB by default).
func EncodeReport(r *evaluation.Report) ([]byte, error) {
	var b bytes.Buffer
	z, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	if err := gob.NewEncoder(z).Encode(r); err != nil {
		return nil, fmt.Errorf("cluster: encoding a report: %w", err)
	}
	if err := z.Close(); err != nil {
		return nil, fmt.Errorf("cluster: encoding a report: %w", err)
	}
	return b.Bytes(), nil
}

// DecodeReport reads EncodeReport's payload.
func DecodeReport(p []byte) (*evaluation.Report, error) {
	z, err := gzip.NewReader(bytes.NewReader(p))
	if err != nil {
		return nil, fmt.Errorf("cluster: decoding a report: %w", err)
	}
	var r evaluation.Report
	if err := gob.NewDecoder(z).Decode(&r); err != nil {
		return nil, fmt.Errorf("cluster: decoding a report: %w", err)
	}
	return &r, nil
}
