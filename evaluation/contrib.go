package evaluation

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// Contribution methods.
const (
	MethodShapley   = "shapley"    // exact Shapley values
	MethodShapleyMC = "shapley_mc" // permutation Monte Carlo Shapley values
	MethodLOO       = "loo"        // leave-one-out
	MethodDyLAN     = "dylan"      // DyLAN's importance from the traces
)

// CoalitionFunc scores the team of the agents in members (by index of the
// agents measured; at least one is true) on the measure's examples: one
// score per example, the same examples in the same order for every
// coalition, drawn with the same samples, so that the coalitions differ
// only in who is on the team.
type CoalitionFunc func(ctx context.Context, members []bool) ([]float64, error)

// ContributeOptions are the settings of Contribute; the zero value is the
// defaults.
type ContributeOptions struct {
	// Exact is the most agents whose Shapley values are computed exactly
	// (every coalition scored once); 0 means 10. Beyond it, permutation
	// Monte Carlo.
	Exact int
	// TargetSE is the Monte Carlo stopping rule: permutations are drawn
	// until every agent's standard error over the permutations is at most
	// TargetSE (after MinPermutations); 0 means 0.01.
	TargetSE float64
	// MinPermutations and MaxPermutations bound the Monte Carlo; 0 means
	// 20 and 1,000.
	MinPermutations, MaxPermutations int
	// Resamples is the number of bootstrap resamples of the examples for
	// the confidence intervals; 0 means 1,000.
	Resamples int
	// Seed seeds the permutations and the bootstrap.
	Seed uint64
}

// Contribution is one agent's contribution to the team's mean score by one
// method.
type Contribution struct {
	Agent  string
	Method string
	// Value is the contribution in units of the team's mean score.
	Value float64
	// CI95 is the 95% percentile bootstrap interval from resampling the
	// examples; under MethodShapleyMC widened on each side by 1.96 × SE.
	CI95 [2]float64
	// SE is the Monte Carlo standard error over the permutations
	// (MethodShapleyMC); 0 for the exact methods.
	SE float64
}

// Contributions are the measures of one team.
type Contributions struct {
	Agents []string
	// Shapley holds the Shapley values (exact, or Monte Carlo beyond
	// Exact agents), LOO the leave-one-out values v(N) − v(N∖i), by agent.
	Shapley, LOO []Contribution
	// Team is the team's mean score v(N); Alone each agent's mean score
	// alone, v({i}).
	Team  float64
	Alone []float64
	// Coalitions counts the coalitions scored; Permutations the Monte
	// Carlo permutations drawn (0 when exact).
	Coalitions, Permutations int
}

// ErrNoAgents is returned by Contribute for a team of no agents.
var ErrNoAgents = errors.New("evaluation: no agents to measure")

// Contribute measures each agent's contribution to the team's mean score
// by Shapley values (exact up to o.Exact agents, else permutation Monte
// Carlo with a stopping rule) and leave-one-out, from the coalition scores
// v gives. The empty team scores 0 on every example. Every coalition is
// scored once (cached); the per-example Shapley and leave-one-out values
// are averaged, and their intervals come from resampling the examples.
func Contribute(ctx context.Context, agents []string, v CoalitionFunc, o *ContributeOptions) (*Contributions, error) {
	n := len(agents)
	if n == 0 {
		return nil, ErrNoAgents
	}
	if n > 62 {
		return nil, fmt.Errorf("evaluation: contributions of %d agents (the most is 62)", n)
	}
	var opt ContributeOptions
	if o != nil {
		opt = *o
	}
	if opt.Exact == 0 {
		opt.Exact = 10
	}
	if opt.TargetSE == 0 {
		opt.TargetSE = 0.01
	}
	if opt.MinPermutations == 0 {
		opt.MinPermutations = 20
	}
	if opt.MaxPermutations == 0 {
		opt.MaxPermutations = 1000
	}
	if opt.Resamples == 0 {
		opt.Resamples = 1000
	}
	c := &coalitions{ctx: ctx, n: n, v: v, memo: map[uint64][]float64{}}
	full := uint64(1)<<n - 1
	all, err := c.value(full)
	if err != nil {
		return nil, err
	}
	m := len(all)
	out := &Contributions{Agents: slices.Clone(agents), Team: mean(all), Alone: make([]float64, n)}
	for i := range n {
		a, err := c.value(1 << i)
		if err != nil {
			return nil, err
		}
		out.Alone[i] = mean(a)
	}
	// phi[i][e]: agent i's per-example Shapley value.
	phi := make([][]float64, n)
	for i := range phi {
		phi[i] = make([]float64, m)
	}
	se := make([]float64, n)
	method := MethodShapley
	if n <= opt.Exact {
		if err := c.exact(phi); err != nil {
			return nil, err
		}
	} else {
		method = MethodShapleyMC
		perms, err := c.monteCarlo(phi, se, &opt)
		if err != nil {
			return nil, err
		}
		out.Permutations = perms
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x53484150))
	for i := range n {
		val, ci := bootstrap(phi[i], opt.Resamples, rng)
		if method == MethodShapleyMC {
			ci[0], ci[1] = ci[0]-z975*se[i], ci[1]+z975*se[i]
		}
		out.Shapley = append(out.Shapley, Contribution{Agent: agents[i], Method: method, Value: val, CI95: ci, SE: se[i]})
	}
	for i := range n {
		without := make([]float64, m) // the empty team scores 0
		if n > 1 {
			if without, err = c.value(full &^ (1 << i)); err != nil {
				return nil, err
			}
		}
		d := make([]float64, m)
		for e := range d {
			d[e] = all[e] - without[e]
		}
		val, ci := bootstrap(d, opt.Resamples, rng)
		out.LOO = append(out.LOO, Contribution{Agent: agents[i], Method: MethodLOO, Value: val, CI95: ci})
	}
	out.Coalitions = len(c.memo)
	return out, nil
}

// coalitions scores coalitions (bit i: agent i) once each.
type coalitions struct {
	ctx  context.Context
	n, m int
	v    CoalitionFunc
	memo map[uint64][]float64
}

func (c *coalitions) value(mask uint64) ([]float64, error) {
	if s, ok := c.memo[mask]; ok {
		return s, nil
	}
	if mask == 0 {
		return make([]float64, c.m), nil
	}
	members := make([]bool, c.n)
	for i := range members {
		members[i] = mask&(1<<i) != 0
	}
	s, err := c.v(c.ctx, members)
	if err != nil {
		return nil, fmt.Errorf("evaluation: scoring the coalition %v: %w", members, err)
	}
	if c.m == 0 {
		c.m = len(s)
	}
	if len(s) != c.m || c.m == 0 {
		return nil, fmt.Errorf("evaluation: the coalition %v has %d scores, the full team %d", members, len(s), c.m)
	}
	c.memo[mask] = s
	return s, nil
}

// exact fills phi with the exact per-example Shapley values: the weighted
// marginal contributions over every coalition.
func (c *coalitions) exact(phi [][]float64) error {
	n := c.n
	// w[k] = k!(n−k−1)!/n!, the weight of a coalition of k others.
	w := make([]float64, n)
	for k := range n {
		w[k] = math.Exp(lgamma(k+1) + lgamma(n-k) - lgamma(n+1))
	}
	for mask := uint64(0); mask < 1<<n; mask++ {
		base, err := c.value(mask)
		if err != nil {
			return err
		}
		k := bits.OnesCount64(mask)
		for i := range n {
			if mask&(1<<i) != 0 {
				continue
			}
			with, err := c.value(mask | 1<<i)
			if err != nil {
				return err
			}
			for e := range phi[i] {
				phi[i][e] += w[k] * (with[e] - base[e])
			}
		}
	}
	return nil
}

// monteCarlo fills phi with per-example Shapley values averaged over
// random permutations, and se with each agent's standard error over the
// permutations, drawing until every se is within o.TargetSE; it returns
// the permutations drawn.
func (c *coalitions) monteCarlo(phi [][]float64, se []float64, o *ContributeOptions) (int, error) {
	n := c.n
	rng := rand.New(rand.NewPCG(o.Seed, 0x4d435045))
	sum, sq := make([]float64, n), make([]float64, n) // of each permutation's mean marginal
	perm := make([]int, n)
	p := 0
	for p < o.MaxPermutations {
		if err := c.ctx.Err(); err != nil {
			return p, err
		}
		for i := range perm {
			perm[i] = i
		}
		rng.Shuffle(n, func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
		mask := uint64(0)
		prev, _ := c.value(0)
		for _, i := range perm {
			mask |= 1 << i
			cur, err := c.value(mask)
			if err != nil {
				return p, err
			}
			d := 0.0
			for e := range cur {
				phi[i][e] += cur[e] - prev[e]
				d += cur[e] - prev[e]
			}
			d /= float64(len(cur))
			sum[i] += d
			sq[i] += d * d
			prev = cur
		}
		p++
		if p >= o.MinPermutations {
			worst := 0.0
			for i := range n {
				mu := sum[i] / float64(p)
				se[i] = math.Sqrt(max(0, sq[i]/float64(p)-mu*mu) / float64(p-1))
				worst = max(worst, se[i])
			}
			if worst <= o.TargetSE {
				break
			}
		}
	}
	for i := range phi {
		for e := range phi[i] {
			phi[i][e] /= float64(p)
		}
	}
	return p, nil
}

// bootstrap is the mean of xs and its 95% percentile interval over
// resamples of xs.
func bootstrap(xs []float64, resamples int, rng *rand.Rand) (float64, [2]float64) {
	mu := mean(xs)
	if len(xs) < 2 {
		return mu, [2]float64{math.NaN(), math.NaN()}
	}
	means := make([]float64, resamples)
	for b := range means {
		s := 0.0
		for range xs {
			s += xs[rng.IntN(len(xs))]
		}
		means[b] = s / float64(len(xs))
	}
	slices.Sort(means)
	at := func(q float64) float64 { return means[min(len(means)-1, int(q*float64(len(means))))] }
	return mu, [2]float64{at(0.025), at(0.975)}
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func lgamma(k int) float64 { v, _ := math.Lgamma(float64(k)); return v }
