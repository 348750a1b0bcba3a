package simba_test

import (
	"context"
	"testing"
	"time"

	"github.com/mabeam/mabeam/internal/studytest"
)

// benchTeam is BenchmarkSIMBA's problem: five agents, one debate round,
// 500 train examples.
const benchTeam = `
name: bench
seeds: [1]
lm: {backend: sim, seed: 0}
datasets:
  - {name: arith, family: arithmetic, difficulty: 2, train: 500, val: 100, test: 0, metric: numeric}
team:
  agents:
    - {id: a1, role: solver, model: {choices: [sim-small, sim-medium, sim-large], default: sim-medium}, temperature: {low: 0, high: 1, step: 0.25}}
    - {id: a2, role: solver, model: {choices: [sim-small, sim-medium, sim-large], default: sim-medium}}
    - {id: a3, role: planner, model: sim-medium}
    - {id: a4, role: critic, model: {choices: [sim-small, sim-medium], default: sim-small}}
    - {id: a5, role: solver, optional: true, model: sim-small}
  topology: {choices: [mesh, ring, star]}
  rounds: 1
  aggregation: {choices: [majority, weighted]}
optimizers:
  - name: simba
budget:
  calls: 100000000
`

// BenchmarkSIMBA is a full SIMBA run at DSPy's defaults (8 steps of 6
// rollout variants and 7 candidates on batches of 32, then the final
// selection on 100 validation examples) on the surrogate: it reports the
// calls per second of the whole run and its wall time, which must stay
// at or below 0.5 s so SIMBA's own bookkeeping stays small next to the
// evaluator.
func BenchmarkSIMBA(b *testing.B) {
	st := studytest.First(b, benchTeam)
	var calls int64
	start := time.Now()
	for b.Loop() {
		res, err := st.Opt.Optimize(context.Background(), st.Problem, st.Budget)
		if err != nil {
			b.Fatal(err)
		}
		calls += res.Spent.Calls
		if !res.BestOK || res.Best.Strategy != "final" {
			b.Fatalf("best %+v", res.Best)
		}
	}
	wall := time.Since(start)
	b.ReportMetric(float64(calls)/wall.Seconds(), "calls/s")
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/run")
	b.ReportMetric(float64(calls)/float64(b.N), "calls/run")
}
