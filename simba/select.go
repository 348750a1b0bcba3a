package simba

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// pool is SIMBA's program pool: programs by index (0 is the baseline)
// with the mean score each has on the mini-batch it was scored on (DSPy's
// calc_average_score of its registered scores).
type pool struct {
	means []float64 // by program index
}

func (p *pool) avg(i int) float64 { return p.means[i] }

// topKPlusBaseline is DSPy's top_k_plus_baseline: the k programs of
// highest mean score (a stable sort, so ties keep pool order), the last
// replaced by the baseline (0) when it is not among them, deduplicated.
func (p *pool) topKPlusBaseline(k int) []int {
	ids := make([]int, len(p.means))
	for i := range ids {
		ids[i] = i
	}
	sort.SliceStable(ids, func(a, b int) bool { return p.avg(ids[a]) > p.avg(ids[b]) })
	top := ids[:min(k, len(ids))]
	if len(top) > 0 && !slices.Contains(top, 0) {
		top[len(top)-1] = 0
	}
	out := make([]int, 0, len(top))
	for _, i := range top {
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out
}

// softmaxPick is DSPy's softmax_sample: program i of ids with probability
// ∝ exp(avg(i)/temperature), uniform when the weights sum to 0.
func (p *pool) softmaxPick(r *rand.Rand, ids []int, temperature float64) int {
	w := make([]float64, len(ids))
	sum := 0.0
	for k, i := range ids {
		w[k] = math.Exp(p.avg(i) / temperature)
		sum += w[k]
	}
	if !(sum > 0) || math.IsInf(sum, 0) {
		return ids[r.IntN(len(ids))]
	}
	u := r.Float64() * sum
	for k := range ids {
		if u < w[k] {
			return ids[k]
		}
		u -= w[k]
	}
	return ids[len(ids)-1]
}

// percentile is NumPy's default percentile (linear interpolation between
// the closest ranks) of xs, q in [0, 100]. xs is not changed.
func percentile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// bucketKey is the order of SIMBA's per-example buckets: by max − min,
// then max, then max − mean, each descending.
type bucketKey struct{ gap, max, toAvg float64 }

func keyOf(scores []float64) bucketKey {
	mx, mn, sum := math.Inf(-1), math.Inf(1), 0.0
	for _, s := range scores {
		mx, mn, sum = max(mx, s), min(mn, s), sum+s
	}
	return bucketKey{gap: mx - mn, max: mx, toAvg: mx - sum/float64(len(scores))}
}

func (a bucketKey) greater(b bucketKey) bool {
	if a.gap != b.gap {
		return a.gap > b.gap
	}
	if a.max != b.max {
		return a.max > b.max
	}
	return a.toAvg > b.toAvg
}

// orderBuckets returns the example indices of a batch in bucket order:
// scores[e] are example e's outcomes over the rollouts, and the sort is
// stable, as Python's sort(reverse=True) is.
func orderBuckets(scores [][]float64) []int {
	keys := make([]bucketKey, len(scores))
	order := make([]int, len(scores))
	for e := range scores {
		keys[e], order[e] = keyOf(scores[e]), e
	}
	sort.SliceStable(order, func(a, b int) bool { return keys[order[a]].greater(keys[order[b]]) })
	return order
}

// demosToDrop is SIMBA's demo drop before a strategy: with D the most
// demos any agent of the source program has and cap maxDemos (3 when 0),
// k = min(max(Poisson(D/cap), 1 if D ≥ cap else 0), D) indices drawn
// uniformly with replacement; the same indices are dropped from every
// agent.
func demosToDrop(r *rand.Rand, d, maxDemos int) []int {
	if maxDemos <= 0 {
		maxDemos = 3
	}
	k := poisson(r, float64(d)/float64(maxDemos))
	if d >= maxDemos {
		k = max(k, 1)
	}
	k = min(k, d)
	out := make([]int, k)
	for i := range out {
		out[i] = r.IntN(d)
	}
	return out
}

// poisson draws from a Poisson distribution of mean lambda (Knuth's
// product of uniforms; lambda here is a few demos at most).
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	limit, p, k := math.Exp(-lambda), 1.0, 0
	for {
		p *= r.Float64()
		if p <= limit {
			return k
		}
		k++
	}
}

// finalIndices are the winners SIMBA scores at the end: of winners 0..m
// (the baseline and one per step), n evenly spaced indices
// round(i·m/(n−1)) rounded half to even (Python's round), deduplicated;
// n zeros when there is no winner beyond the baseline.
func finalIndices(m, n int) []int {
	var idx []int
	for i := range n {
		v := 0
		if m >= 1 {
			v = int(math.RoundToEven(float64(i*m) / float64(n-1)))
		}
		if !slices.Contains(idx, v) {
			idx = append(idx, v)
		}
	}
	return idx
}
