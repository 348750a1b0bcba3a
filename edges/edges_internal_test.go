package edges

import (
	"math/rand/v2"
	"testing"
)

// learn runs iterations of 4 noisy graphs of three edges: the first
// edge's presence scores 0.1 higher, the second's 0.1 lower, the third is
// neutral.
func learn(method string, seed uint64, iterations int) []float64 {
	r := &run{method: method, s: Settings{LearningRate: 0.1},
		theta: make([]float64, 3), m: make([]float64, 3), v: make([]float64, 3)}
	rng := rand.New(rand.NewPCG(seed, 99))
	for range iterations {
		var ss []sample
		for range 4 {
			x := make([]bool, 3)
			for i := range x {
				x[i] = rng.Float64() < sigmoid(r.theta[i])
			}
			u := 0.6 + 0.05*rng.NormFloat64()
			if x[0] {
				u += 0.1
			}
			if x[1] {
				u -= 0.1
			}
			ss = append(ss, sample{on: x, active: []bool{true, true, true}, u: u})
		}
		r.update(ss)
	}
	return r.theta
}

// TestUpdateLearns: gptswarm's REINFORCE (moving-average baseline, Adam)
// drives a helpful edge above p = 0.9 and a harmful one below 0.1 in 60
// iterations, on every seed; agentprune's 10 iterations without a
// baseline rank the helpful edge above the harmful one on most seeds.
func TestUpdateLearns(t *testing.T) {
	for seed := range uint64(10) {
		th := learn(GPTSwarm, seed, 60)
		if p0, p1 := sigmoid(th[0]), sigmoid(th[1]); p0 < 0.9 || p1 > 0.1 {
			t.Errorf("gptswarm seed %d: p(helpful edge) %.3f, p(harmful edge) %.3f", seed, p0, p1)
		}
	}
	ranked := 0
	for seed := range uint64(200) {
		if th := learn(AgentPrune, seed, 10); th[0] > th[1] {
			ranked++
		}
	}
	if ranked < 130 { // chance is 100 ± 7
		t.Errorf("agentprune ranked the helpful edge above the harmful one on %d of 200 seeds", ranked)
	}
	t.Logf("agentprune: ranked on %d of 200 seeds", ranked)
}

// TestPruneKeepsConnected: agentprune prunes the lowest-logit share of
// edges but skips one that would cut an agent off.
func TestPruneKeepsConnected(t *testing.T) {
	r := &run{method: AgentPrune, s: Settings{Prune: 0.34},
		edges: []string{"team/edge/a/b/data", "team/edge/b/c/data", "team/edge/c/b/data"},
		theta: []float64{-5, 1, 2}}
	got := r.result()
	// a→b is the lowest but a's only edge; b→c goes, c→b keeps b and c together.
	if want := []bool{true, false, true}; !equal(got, want) {
		t.Errorf("pruned graph %v, want %v", got, want)
	}
	r.theta = []float64{3, -1, 2}
	if got, want := r.result(), []bool{true, false, true}; !equal(got, want) {
		t.Errorf("pruned graph %v, want %v", got, want)
	}
	r.s.Prune, r.theta = 0.67, []float64{-5, -4, -3}
	if got, want := r.result(), []bool{true, false, true}; !equal(got, want) {
		t.Errorf("with two to prune, only one can go: %v, want %v", got, want)
	}
	g := &run{method: GPTSwarm, edges: r.edges, theta: []float64{0.5, -0.1, 0}}
	if got, want := g.result(), []bool{true, false, false}; !equal(got, want) {
		t.Errorf("gptswarm's most probable graph %v, want %v", got, want)
	}
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
