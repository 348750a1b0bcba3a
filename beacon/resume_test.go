package beacon_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/mabeam/mabeam/internal/studytest"
)

const teamConfig = `
name: b
seeds: [4]
lm: {backend: sim, seed: 0}
datasets:
  - {name: arith, family: arithmetic, difficulty: 2, train: 8, val: 30, test: 60, metric: numeric}
team:
  agents:
    - id: s1
      model: {choices: [sim-small, sim-medium, sim-large]}
      temperature: {low: 0, high: 1}
      demos: {low: 0, high: 3}
    - id: s2
      role: planner
      model: {choices: [sim-small, sim-medium]}
    - id: c
      role: critic
      optional: true
      model: sim-medium
  topology: {choices: [mesh, chain, star]}
  rounds: {low: 0, high: 2, default: 1}
  aggregation: {choices: [majority, weighted]}
optimizers:
  - name: beacon
budget:
  trials: 40
`

// TestTeamResume: BEACON on a team space with a small validation split
// (every trial on all of it), resumed from any prefix of its trials (a
// stored study), proposes exactly the trials an uninterrupted run does:
// each ask is a pure function of the stored history, the previous fit's
// hyperparameters (Trial.Data) included.
func TestTeamResume(t *testing.T) {
	st := studytest.First(t, teamConfig)
	full, err := st.Opt.Optimize(context.Background(), st.Problem, st.Budget)
	if err != nil {
		t.Fatal(err)
	}
	want := studytest.Strip(full.Trials)
	fitted := 0
	for _, tr := range full.Trials {
		var d struct {
			Sampler struct{ GP json.RawMessage } `json:"sampler"`
		}
		if json.Unmarshal(tr.Data, &d) == nil && d.Sampler.GP != nil {
			fitted++
		}
	}
	if fitted < 15 {
		t.Fatalf("only %d of %d trials came from the GP", fitted, len(full.Trials))
	}
	for _, cut := range []int{1, 3, 15, 23, len(want) - 1} {
		p := *st.Problem
		p.History = slices.Clone(full.Trials[:cut])
		res, err := st.Opt.Optimize(context.Background(), &p, st.Budget)
		if err != nil || !reflect.DeepEqual(studytest.Strip(res.Trials), want) {
			t.Fatalf("resumed after %d trials: the trials differ (%v)", cut, err)
		}
	}
	if !full.BestOK || full.Best.Value < 0.5 {
		t.Errorf("best %+v", full.Best)
	}
}
