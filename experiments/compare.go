package experiments

import (
	"context"
	"encoding/json"
	"math"
	"sort"

	"github.com/mabeam/mabeam/store"
	"gonum.org/v1/gonum/stat/distuv"
)

// Comparison is one row of `experiment compare`: an optimizer on a dataset
// of an experiment, over the seeds (studies) that completed.
type Comparison struct {
	Experiment string `json:"experiment"`
	Dataset    string `json:"dataset"`
	Optimizer  string `json:"optimizer"`
	// Seeds counts the complete studies with a test score.
	Seeds int `json:"seeds"`
	// TestMean is the mean test score over seeds; TestCI its 95%
	// Student-t interval (NaN bounds with one seed).
	TestMean float64  `json:"test_mean"`
	TestCI   Interval `json:"test_ci"`
	// CostUSD and LMCalls are means over seeds.
	CostUSD float64 `json:"cost_usd"`
	LMCalls float64 `json:"lm_calls"`
	// BaselineMean is the mean test score of the unoptimized team; DiffMean
	// and DiffCI the paired difference (optimized − baseline, per seed)
	// and its 95% Student-t interval. Zero and NaN when no study has a
	// baseline score.
	BaselineMean float64  `json:"baseline_mean"`
	DiffMean     float64  `json:"diff_mean"`
	DiffCI       Interval `json:"diff_ci"`
}

// Compare summarises the complete studies in s (of one experiment, or all
// when experiment is ""), one row per (experiment, dataset, optimizer),
// sorted by those keys.
func Compare(ctx context.Context, s *store.Store, experiment string) ([]Comparison, error) {
	studies, err := s.Studies(ctx, experiment)
	if err != nil {
		return nil, err
	}
	type key struct{ exp, ds, opt string }
	type acc struct{ test, base, diff, cost, calls []float64 }
	groups := map[key]*acc{}
	for _, st := range studies {
		if st.Status != store.StatusComplete || st.Result.TestScore == nil || st.Dataset == "" {
			continue
		}
		k := key{st.Experiment, st.Dataset, st.Optimizer}
		a := groups[k]
		if a == nil {
			a = &acc{}
			groups[k] = a
		}
		a.test = append(a.test, *st.Result.TestScore)
		if st.Result.BaselineTestScore != nil {
			a.base = append(a.base, *st.Result.BaselineTestScore)
			a.diff = append(a.diff, *st.Result.TestScore-*st.Result.BaselineTestScore)
		}
		if st.Result.CostUSD != nil {
			a.cost = append(a.cost, *st.Result.CostUSD)
		}
		if st.Result.LMCalls != nil {
			a.calls = append(a.calls, float64(*st.Result.LMCalls))
		}
	}
	out := make([]Comparison, 0, len(groups))
	for k, a := range groups {
		c := Comparison{Experiment: k.exp, Dataset: k.ds, Optimizer: k.opt, Seeds: len(a.test),
			CostUSD: mean(a.cost), LMCalls: mean(a.calls)}
		c.TestMean, c.TestCI = MeanCI(a.test)
		c.DiffCI = Interval{math.NaN(), math.NaN()}
		if len(a.base) > 0 {
			c.BaselineMean = mean(a.base)
			c.DiffMean, c.DiffCI = MeanCI(a.diff)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Experiment != b.Experiment {
			return a.Experiment < b.Experiment
		}
		if a.Dataset != b.Dataset {
			return a.Dataset < b.Dataset
		}
		return a.Optimizer < b.Optimizer
	})
	return out, nil
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Interval is a confidence interval [low, high]; NaN bounds mean not
// defined (fewer than two seeds) and encode as JSON null.
type Interval [2]float64

// MarshalJSON writes [low, high], or null when undefined.
func (iv Interval) MarshalJSON() ([]byte, error) {
	if math.IsNaN(iv[0]) || math.IsNaN(iv[1]) {
		return []byte("null"), nil
	}
	return json.Marshal([2]float64(iv))
}

// MeanCI returns the mean of xs and its 95% Student-t confidence interval;
// the bounds are NaN for fewer than two values.
func MeanCI(xs []float64) (float64, Interval) {
	m := mean(xs)
	n := len(xs)
	if n < 2 {
		return m, Interval{math.NaN(), math.NaN()}
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	se := math.Sqrt(ss/float64(n-1)) / math.Sqrt(float64(n))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	return m, Interval{m - t*se, m + t*se}
}
