package evaluation

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// game is a coalition function over m examples from a per-example value
// of the members.
func game(m int, f func(e int, members []bool) float64, calls *int) CoalitionFunc {
	return func(_ context.Context, members []bool) ([]float64, error) {
		*calls++
		out := make([]float64, m)
		for e := range out {
			out[e] = f(e, members)
		}
		return out, nil
	}
}

// TestContributeExact: on games whose values are known, exact Shapley and
// leave-one-out give them, each coalition is scored once, and the Shapley
// values sum to the team's score.
func TestContributeExact(t *testing.T) {
	agents := []string{"a", "b", "c"}
	calls := 0
	// Majority game: any two agents win.
	maj := game(50, func(_ int, s []bool) float64 {
		k := 0
		for _, in := range s {
			if in {
				k++
			}
		}
		return map[bool]float64{true: 1}[k >= 2]
	}, &calls)
	c, err := Contribute(context.Background(), agents, maj, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range agents {
		if math.Abs(c.Shapley[i].Value-1.0/3) > 1e-12 || c.LOO[i].Value != 0 || c.Shapley[i].Method != MethodShapley {
			t.Errorf("majority game: agent %s Shapley %v, LOO %v", agents[i], c.Shapley[i], c.LOO[i])
		}
	}
	if calls != 7 || c.Coalitions != 7 {
		t.Errorf("%d coalition scorings (%d cached), want 7", calls, c.Coalitions)
	}
	// Additive game with noise over examples: agent i adds a_i(e); the
	// adversary subtracts.
	rng := rand.New(rand.NewPCG(1, 2))
	add := make([][]float64, 4)
	for i := range add {
		add[i] = make([]float64, 200)
		for e := range add[i] {
			add[i][e] = []float64{0.3, 0.1, 0, -0.2}[i] + 0.2*rng.NormFloat64()
		}
	}
	calls = 0
	c, err = Contribute(context.Background(), []string{"a", "b", "c", "adv"}, game(200, func(e int, s []bool) float64 {
		v := 0.0
		for i, in := range s {
			if in {
				v += add[i][e]
			}
		}
		return v
	}, &calls), &ContributeOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for i := range 4 {
		want := mean(add[i])
		sh, loo := c.Shapley[i], c.LOO[i]
		if math.Abs(sh.Value-want) > 1e-9 || math.Abs(loo.Value-want) > 1e-9 {
			t.Errorf("additive game agent %d: Shapley %g, LOO %g, want %g", i, sh.Value, loo.Value, want)
		}
		if !(sh.CI95[0] < want && want < sh.CI95[1]) || sh.CI95[1]-sh.CI95[0] > 0.1 {
			t.Errorf("agent %d: CI %v around %g", i, sh.CI95, want)
		}
		sum += sh.Value
	}
	if math.Abs(sum-c.Team) > 1e-9 {
		t.Errorf("Shapley values sum to %g, the team scores %g", sum, c.Team)
	}
	if c.Shapley[3].CI95[1] >= 0 {
		t.Errorf("the adversary's CI %v does not exclude zero", c.Shapley[3].CI95)
	}
}

// TestContributeMonteCarlo: beyond Exact agents the permutation estimate
// stops by its rule and lands within 4 standard errors of the exact values
// on a non-additive game.
func TestContributeMonteCarlo(t *testing.T) {
	const n = 9
	rng := rand.New(rand.NewPCG(7, 7))
	wts := make([]float64, n)
	for i := range wts {
		wts[i] = rng.Float64()
	}
	var calls int
	v := game(20, func(e int, s []bool) float64 {
		x := 0.0
		for i, in := range s {
			if in {
				x += wts[i] * (1 + 0.1*float64(e%3))
			}
		}
		return math.Sqrt(x) // concave: marginals depend on the coalition
	}, &calls)
	exact, err := Contribute(context.Background(), make([]string, n), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := Contribute(context.Background(), make([]string, n), v, &ContributeOptions{Exact: 4, TargetSE: 0.02, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	if mc.Permutations < 20 || mc.Permutations >= 1000 {
		t.Errorf("%d permutations: the stopping rule did not stop it between the bounds", mc.Permutations)
	}
	for i := range n {
		d := math.Abs(mc.Shapley[i].Value - exact.Shapley[i].Value)
		if mc.Shapley[i].Method != MethodShapleyMC || mc.Shapley[i].SE <= 0 || mc.Shapley[i].SE > 0.02 || d > 4*mc.Shapley[i].SE+1e-12 {
			t.Errorf("agent %d: MC %v, exact %g", i, mc.Shapley[i], exact.Shapley[i].Value)
		}
	}
	if _, err := Contribute(context.Background(), nil, v, nil); err == nil {
		t.Error("no agents is not an error")
	}
}
