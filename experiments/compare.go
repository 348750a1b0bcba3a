package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/store"
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
	// interval by the paired hierarchical bootstrap (see Compare).
	TestMean float64  `json:"test_mean"`
	TestCI   Interval `json:"test_ci"`
	// CostUSD, BilledCostUSD and LMCalls are means per study, the final
	// test evaluations included (CostIncludesTest says so): the nominal
	// cost (what the calls cost uncached), what was billed, and the calls.
	CostUSD          float64 `json:"cost_usd_per_study"`
	BilledCostUSD    float64 `json:"billed_cost_usd_per_study"`
	LMCalls          float64 `json:"lm_calls_per_study"`
	CostIncludesTest bool    `json:"cost_includes_test"`
	// BaselineMean is the mean test score of the unoptimized team; DiffMean
	// and DiffCI the paired difference (optimized − baseline, on the same
	// test examples) and its 95% interval. Zero and NaN when no study has a
	// baseline score.
	BaselineMean float64  `json:"baseline_mean"`
	DiffMean     float64  `json:"diff_mean"`
	DiffCI       Interval `json:"diff_ci"`
	// Against is CompareOptions.Against when set and this row is another
	// optimizer's; VsMean and VsCI are then the paired difference (this
	// optimizer − Against, on the same seeds and test examples) and its
	// 95% interval, and VsSeeds the seeds both have. Zero and NaN (null in
	// JSON) otherwise.
	Against string   `json:"against,omitempty"`
	VsSeeds int      `json:"vs_seeds,omitempty"`
	VsMean  float64  `json:"vs_mean,omitempty"`
	VsCI    Interval `json:"vs_ci"`
	// AtCost is the nominal cost of the trials of the cheapest optimizer
	// of the experiment and dataset (its mean over seeds: the final test
	// evaluations not included); BestAtCost is this optimizer's
	// best-so-far validation score once its trials had spent AtCost, the
	// mean over the SeedsAtCost seeds that had a validation trial by then
	// (NaN, null in JSON, when none had): the comparison at equal nominal
	// cost beside the one at equal calls.
	AtCost      float64   `json:"at_cost_usd"`
	BestAtCost  jsonFloat `json:"best_val_at_cost"`
	SeedsAtCost int       `json:"seeds_at_cost"`
	// Matched are the best team's paired differences to the matched
	// baselines of its studies that have them: store.TestSelfConsistency
	// (the cost-matched self-consistency baseline) and
	// store.TestSingleAgent (the optimized single agent), by team name.
	Matched map[string]MatchedDiff `json:"matched,omitempty"`
	// Models are the trials' agent calls by model over the row's studies,
	// with the replies that ignored the answer format: a real model that
	// does shows here. Retries sums the studies' trials' retries.
	Models  []store.ModelCalls `json:"models,omitempty"`
	Retries int64              `json:"retries"`
	// Method names how the intervals were computed.
	Method string `json:"ci_method"`
}

// MatchedDiff is the best team against a matched baseline over the seeds
// that have it: the baseline's mean test score, and the paired difference
// (best − baseline, on the same test examples) with its 95% interval.
type MatchedDiff struct {
	Seeds    int      `json:"seeds"`
	Mean     float64  `json:"baseline_mean"`
	DiffMean float64  `json:"diff_mean"`
	DiffCI   Interval `json:"diff_ci"`
}

// CompareOptions select the studies Compare summarises; the zero value
// means every experiment's latest config.
type CompareOptions struct {
	// Experiment, if set, limits the rows to one experiment.
	Experiment string
	// All includes every complete study; by default an experiment shows
	// only the studies of the config it was last run from
	// (store.Experiment), so seeds or configs it no longer has are left
	// out.
	All bool
	// Against, if set, names an optimizer (label) to compare every other
	// row with: the paired difference on the studies of the same
	// experiment, dataset and seed (Comparison.VsMean).
	Against string
}

// Bootstrap settings of Compare's intervals.
const (
	bootstrapResamples = 2000
	bootstrapMethod    = "paired hierarchical bootstrap over seeds and test examples (2000 resamples)"
)

// selected are the complete studies with a test score that o selects, in
// the store's order.
func selected(ctx context.Context, s *store.Store, o CompareOptions) ([]store.Study, error) {
	return latestStudies(ctx, s, o.Experiment, o.All, func(st *store.Study) bool {
		return st.Status == store.StatusComplete && st.Result.TestScore != nil && st.Dataset != ""
	})
}

// latestStudies are the studies of experiment ("" every one) that keep
// accepts, in the store's order; unless all, only those of each
// experiment's latest config (store.Experiment), so seeds or configs it no
// longer has are left out.
func latestStudies(ctx context.Context, s *store.Store, experiment string, all bool, keep func(*store.Study) bool) ([]store.Study, error) {
	studies, err := s.Studies(ctx, experiment)
	if err != nil {
		return nil, err
	}
	latest := map[string]map[string]bool{} // experiment → its latest studies; nil: no record
	var out []store.Study
	for _, st := range studies {
		if !keep(&st) {
			continue
		}
		if !all {
			names, seen := latest[st.Experiment]
			if !seen {
				if e, err := s.Experiment(ctx, st.Experiment); err == nil {
					names = map[string]bool{}
					for _, n := range e.Studies {
						names[n] = true
					}
				} else if !errors.Is(err, store.ErrNotFound) {
					return nil, err
				}
				latest[st.Experiment] = names
			}
			if names != nil && !names[st.Name] {
				continue
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// Compare summarises the complete studies in s, one row per (experiment,
// dataset, optimizer), sorted by those keys.
//
// The intervals come from a paired hierarchical bootstrap: each resample
// draws the studies (seeds) with replacement, then within each drawn study
// its test examples with replacement, the same examples for the optimized
// team and the baseline, and takes the mean over the drawn studies of each
// study's mean (and of its paired difference); the interval is the 2.5th
// to 97.5th percentile of 2,000 resamples. It accounts for the variation
// between seeds and the sampling of test examples together, so two or
// three seeds never give a zero-width interval. A study stored before
// per-example test results were kept contributes its score only. The
// resampling is seeded by the row's key, so the same store gives the same
// intervals.
func Compare(ctx context.Context, s *store.Store, o CompareOptions) ([]Comparison, error) {
	studies, err := selected(ctx, s, o)
	if err != nil {
		return nil, err
	}
	type key struct{ exp, ds, opt string }
	type acc struct {
		units        []unit
		cost, billed []float64
		calls        []float64
		base         bool
		matched      map[string][]unit
		curves       [][]costPoint // each study's best-so-far against cost
		models       map[string]*store.ModelCalls
		retries      int64
	}
	groups := map[key]*acc{}
	for _, st := range studies {
		u, err := studyUnit(ctx, s, &st, store.TestBaseline, st.Result.BaselineTestScore)
		if err != nil {
			return nil, err
		}
		k := key{st.Experiment, st.Dataset, st.Optimizer}
		a := groups[k]
		if a == nil {
			a = &acc{}
			groups[k] = a
		}
		u.seed = st.Seed
		a.units = append(a.units, u)
		curve, err := costCurve(ctx, s, st.ID)
		if err != nil {
			return nil, err
		}
		a.curves = append(a.curves, curve)
		a.base = a.base || u.hasBase
		byModel, retries, err := s.CallStats(ctx, st.ID)
		if err != nil {
			return nil, err
		}
		a.retries += retries
		for _, m := range byModel {
			if a.models == nil {
				a.models = map[string]*store.ModelCalls{}
			}
			if a.models[m.Model] == nil {
				a.models[m.Model] = &store.ModelCalls{Model: m.Model}
			}
			a.models[m.Model].Calls += m.Calls
			a.models[m.Model].Unparsed += m.Unparsed
		}
		for _, team := range []string{store.TestSelfConsistency, store.TestSingleAgent} {
			m, err := studyUnit(ctx, s, &st, team, nil)
			if err != nil {
				return nil, err
			}
			if m.hasBase && m.hasExamples {
				if a.matched == nil {
					a.matched = map[string][]unit{}
				}
				a.matched[team] = append(a.matched[team], m)
			}
		}
		if st.Result.CostUSD != nil {
			a.cost = append(a.cost, *st.Result.CostUSD)
		}
		if st.Result.BilledCostUSD != nil {
			a.billed = append(a.billed, *st.Result.BilledCostUSD)
		}
		if st.Result.LMCalls != nil {
			a.calls = append(a.calls, float64(*st.Result.LMCalls))
		}
	}
	// The cheapest optimizer's spend on its trials, by experiment and dataset.
	cheapest := map[[2]string]float64{}
	for k, a := range groups {
		spent := 0.0
		for _, c := range a.curves {
			if len(c) > 0 {
				spent += c[len(c)-1].cost / float64(len(a.curves))
			}
		}
		ed := [2]string{k.exp, k.ds}
		if old, ok := cheapest[ed]; !ok || spent < old {
			cheapest[ed] = spent
		}
	}
	out := make([]Comparison, 0, len(groups))
	for k, a := range groups {
		c := Comparison{Experiment: k.exp, Dataset: k.ds, Optimizer: k.opt, Seeds: len(a.units),
			CostUSD: mean(a.cost), BilledCostUSD: mean(a.billed), LMCalls: mean(a.calls), CostIncludesTest: true,
			Method: bootstrapMethod, Retries: a.retries}
		for _, n := range slices.Sorted(maps.Keys(a.models)) {
			c.Models = append(c.Models, *a.models[n])
		}
		c.AtCost = cheapest[[2]string{k.exp, k.ds}]
		at := 0.0
		for _, cv := range a.curves {
			if b := bestAt(cv, c.AtCost); !math.IsNaN(b) {
				at += b
				c.SeedsAtCost++
			}
		}
		c.BestAtCost = jsonFloat(at / float64(c.SeedsAtCost)) // NaN when no seed had one
		if c.SeedsAtCost == 0 {
			c.BestAtCost = jsonFloat(math.NaN())
		}
		seed := hashKey(k.exp + "\x00" + k.ds + "\x00" + k.opt)
		var test, diff []float64
		c.TestMean, test = bootstrap(a.units, seed, func(u *unit, idx []int) float64 { return u.meanOf(false, idx) })
		c.TestCI = percentiles(test)
		c.DiffCI = Interval{math.NaN(), math.NaN()}
		if a.base {
			var bs []unit
			for _, u := range a.units {
				if u.hasBase {
					bs = append(bs, u)
				}
			}
			for _, u := range bs {
				c.BaselineMean += u.baseScore / float64(len(bs))
			}
			c.DiffMean, diff = bootstrap(bs, seed+1, func(u *unit, idx []int) float64 { return u.meanOf(true, idx) })
			c.DiffCI = percentiles(diff)
		}
		for i, team := range []string{store.TestSelfConsistency, store.TestSingleAgent} {
			us := a.matched[team]
			if len(us) == 0 {
				continue
			}
			m := MatchedDiff{Seeds: len(us)}
			for _, u := range us {
				m.Mean += u.baseScore / float64(len(us))
			}
			var d []float64
			m.DiffMean, d = bootstrap(us, seed+3+uint64(i), func(u *unit, idx []int) float64 { return u.meanOf(true, idx) })
			m.DiffCI = percentiles(d)
			if c.Matched == nil {
				c.Matched = map[string]MatchedDiff{}
			}
			c.Matched[team] = m
		}
		c.VsCI = Interval{math.NaN(), math.NaN()}
		if other, ok := groups[key{k.exp, k.ds, o.Against}]; ok && o.Against != "" && k.opt != o.Against {
			c.Against = o.Against
			if vs := pairUnits(a.units, other.units); len(vs) > 0 {
				var d []float64
				c.VsSeeds = len(vs)
				c.VsMean, d = bootstrap(vs, seed+2, func(u *unit, idx []int) float64 { return u.meanOf(true, idx) })
				c.VsCI = percentiles(d)
			}
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

// unit is one study's test outcome: per-example scores of the optimized
// team and their paired differences to the baseline, or, for a study
// without stored examples, its scores alone.
type unit struct {
	best, diff           []float64
	ids                  []string // the test examples of best
	score, baseScore     float64
	hasBase, hasExamples bool
	seed                 uint64
}

// pairUnits pairs each unit of as with the unit of bs of the same seed:
// per-example differences (a − b) where both have the same test examples,
// the difference of their scores otherwise.
func pairUnits(as, bs []unit) []unit {
	var out []unit
	for _, a := range as {
		for _, b := range bs {
			if a.seed != b.seed {
				continue
			}
			p := unit{score: a.score, baseScore: b.score, hasBase: true, best: []float64{0}, diff: []float64{0}}
			if a.hasExamples && b.hasExamples && slices.Equal(a.ids, b.ids) {
				p.hasExamples, p.best, p.diff = true, a.best, make([]float64, len(a.best))
				for i := range a.best {
					p.diff[i] = a.best[i] - b.best[i]
				}
			}
			out = append(out, p)
			break
		}
	}
	return out
}

// meanOf is the mean of the optimized team's scores (diff false) or of the
// paired differences (diff true) over the examples idx.
func (u *unit) meanOf(diff bool, idx []int) float64 {
	switch {
	case !u.hasExamples && diff:
		return u.score - u.baseScore
	case !u.hasExamples:
		return u.score
	}
	xs := u.best
	if diff {
		xs = u.diff
	}
	s := 0.0
	for _, i := range idx {
		s += xs[i]
	}
	return s / float64(len(idx))
}

// studyUnit reads a study's per-example test results, pairing those of
// the test team against (store.TestBaseline or a matched baseline) by
// example id; score is against's stored mean, nil to take it from its
// per-example results (a team with none is not paired).
func studyUnit(ctx context.Context, s *store.Store, st *store.Study, against string, score *float64) (unit, error) {
	u := unit{score: *st.Result.TestScore, best: []float64{0}, diff: []float64{0}}
	base, err := s.TestResults(ctx, st.ID, against)
	if err != nil {
		return u, err
	}
	if score == nil && len(base) > 0 {
		m := 0.0
		for _, e := range base {
			m += e.Score / float64(len(base))
		}
		score = &m
	}
	if score != nil {
		u.baseScore, u.hasBase = *score, true
	}
	best, err := s.TestResults(ctx, st.ID, store.TestBest)
	if err != nil {
		return u, err
	}
	if len(best) == 0 || (u.hasBase && len(base) != len(best)) {
		return u, nil
	}
	u.hasExamples = true
	u.best, u.diff, u.ids = make([]float64, len(best)), make([]float64, len(best)), make([]string, len(best))
	for i, e := range best {
		u.best[i], u.ids[i] = e.Score, e.Example
		if u.hasBase {
			if base[i].Example != e.Example {
				u.hasExamples = false
				u.best, u.diff = []float64{0}, []float64{0}
				return u, nil
			}
			u.diff[i] = e.Score - base[i].Score
		}
	}
	return u, nil
}

// bootstrap returns the mean over units of stat (on all examples) and
// bootstrapResamples resampled values of it (see Compare).
func bootstrap(units []unit, seed uint64, stat func(u *unit, idx []int) float64) (float64, []float64) {
	all := func(u *unit) []int {
		idx := make([]int, len(u.best))
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	point := 0.0
	for i := range units {
		point += stat(&units[i], all(&units[i])) / float64(len(units))
	}
	r := rand.New(rand.NewPCG(seed, 0x626f6f74))
	out := make([]float64, bootstrapResamples)
	idx := make([]int, 0, 1024)
	for b := range out {
		sum := 0.0
		for range units {
			u := &units[r.IntN(len(units))]
			idx = idx[:0]
			for range len(u.best) {
				idx = append(idx, r.IntN(len(u.best)))
			}
			sum += stat(u, idx)
		}
		out[b] = sum / float64(len(units))
	}
	return point, out
}

// percentiles is the 2.5th to 97.5th percentile interval of xs (sorted in
// place); NaN bounds for fewer than two values or a single study without
// examples (no spread to estimate).
func percentiles(xs []float64) Interval {
	if len(xs) < 2 {
		return Interval{math.NaN(), math.NaN()}
	}
	sort.Float64s(xs)
	at := func(q float64) float64 {
		pos := q * float64(len(xs)-1)
		lo := int(math.Floor(pos))
		hi := min(lo+1, len(xs)-1)
		return xs[lo] + (pos-float64(lo))*(xs[hi]-xs[lo])
	}
	iv := Interval{at(0.025), at(0.975)}
	if iv[0] == iv[1] && xs[0] == xs[len(xs)-1] {
		return Interval{math.NaN(), math.NaN()} // nothing varies: not an interval
	}
	return iv
}

func hashKey(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
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

// costPoint is a study's best-so-far validation score (NaN before its
// first) after its trials had spent cost.
type costPoint struct{ cost, best float64 }

// costCurve is a study's best-so-far validation score against the
// nominal cost of its trials, in trial order.
func costCurve(ctx context.Context, s *store.Store, id int64) ([]costPoint, error) {
	trials, err := s.TrialOutcomes(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]costPoint, 0, len(trials))
	cost, best := 0.0, math.NaN()
	for i := range trials {
		t := &trials[i]
		cost += t.Cost
		if t.State == optimizer.Complete && t.Validation() && (math.IsNaN(best) || t.Value > best) {
			best = t.Value
		}
		out = append(out, costPoint{cost, best})
	}
	return out, nil
}

// bestAt is the curve's best-so-far once it had spent cost (within a
// relative 1e-9); NaN when it has no validation trial by then.
func bestAt(c []costPoint, cost float64) float64 {
	b := math.NaN()
	for _, p := range c {
		if p.cost > cost*(1+1e-9) {
			break
		}
		b = p.best
	}
	return b
}

// jsonFloat is a float64 that encodes NaN as JSON null.
type jsonFloat float64

// MarshalJSON writes the number, or null for NaN.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

// ComparisonTable returns the comparison rows as `experiment compare`
// prints them (against as CompareOptions.Against): the header, the cells
// of each row and the note printed under the table. The matched baselines
// (self-consistency, single agent) get a column each when some row has
// them: their score and the best team's paired difference to it. (compare
// prints the same; the CLI's test keeps the two in step.)
func ComparisonTable(rows []Comparison, against string) (header []string, cells [][]string, note string) {
	var matched []struct{ team, head string }
	for _, m := range []struct{ team, head string }{
		{store.TestSelfConsistency, "SELF-CONSISTENCY: GAIN (95% CI)"},
		{store.TestSingleAgent, "SINGLE AGENT: GAIN (95% CI)"},
	} {
		if slices.ContainsFunc(rows, func(r Comparison) bool { _, ok := r.Matched[m.team]; return ok }) {
			matched = append(matched, m)
		}
	}
	for _, r := range rows {
		row := []string{r.Experiment, r.Dataset, r.Optimizer, fmt.Sprint(r.Seeds),
			fmt.Sprintf("%.3f %s", r.TestMean, fmtInterval(r.TestCI)), fmt.Sprintf("%.3f", r.BaselineMean),
			fmt.Sprintf("%+.3f %s", r.DiffMean, fmtInterval(r.DiffCI))}
		if against != "" {
			vs := "-"
			if r.VsSeeds > 0 {
				vs = fmt.Sprintf("%+.3f %s", r.VsMean, fmtInterval(r.VsCI))
			}
			row = append(row, vs)
		}
		atCost := "-"
		if !math.IsNaN(float64(r.BestAtCost)) {
			atCost = fmt.Sprintf("%.3f @ $%.2f", float64(r.BestAtCost), r.AtCost)
			if r.SeedsAtCost < r.Seeds {
				atCost += fmt.Sprintf(" (%d seeds)", r.SeedsAtCost)
			}
		}
		row = append(row, atCost)
		for _, m := range matched {
			cell := "-"
			if d, ok := r.Matched[m.team]; ok {
				cell = fmt.Sprintf("%.3f: %+.3f %s", d.Mean, d.DiffMean, fmtInterval(d.DiffCI))
			}
			row = append(row, cell)
		}
		cells = append(cells, append(row, fmt.Sprintf("%.4f", r.CostUSD), fmt.Sprintf("%.4f", r.BilledCostUSD), fmt.Sprintf("%.0f", r.LMCalls)))
	}
	header = []string{"EXPERIMENT", "DATASET", "OPTIMIZER", "SEEDS", "TEST (95% CI)", "BASELINE", "GAIN (95% CI)"}
	if against != "" {
		header = append(header, "VS "+strings.ToUpper(against)+" (95% CI)")
	}
	header = append(header, "VAL AT EQUAL COST")
	for _, m := range matched {
		header = append(header, m.head)
	}
	note = "(cost and calls per study include the final test evaluations; CIs: paired bootstrap over seeds and test examples;\n" +
		" val at equal cost: the best-so-far validation score once the trials had spent what the cheapest optimizer's did (over the seeds with a validation trial by then)"
	if len(matched) > 0 {
		note += ";\n self-consistency: the best single model sampled at the best team's nominal cost a question, majority vote"
	}
	return append(header, "COST $/STUDY", "BILLED $", "CALLS/STUDY"), cells, note + ")"
}

// CallNotes are the lines `compare` prints under the table about the
// rows' calls: the replies of each model that ignored the answer format
// (the team read their last line as the answer), and the retries the
// trials needed; none for a row that had neither.
func CallNotes(rows []Comparison) []string {
	var out []string
	for _, r := range rows {
		name := r.Dataset + "/" + r.Optimizer
		var parts []string
		for _, m := range r.Models {
			if m.Unparsed > 0 {
				parts = append(parts, fmt.Sprintf("%s %d of %d calls (%.1f%%)", m.Model, m.Unparsed, m.Calls, 100*float64(m.Unparsed)/float64(max(m.Calls, 1))))
			}
		}
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("%s: replies that ignored the answer format: %s", name, strings.Join(parts, ", ")))
		}
		if r.Retries > 0 {
			out = append(out, fmt.Sprintf("%s: %d retries of rate-limited, failed or timed-out requests over %d studies", name, r.Retries, r.Seeds))
		}
	}
	return out
}

func fmtInterval(iv Interval) string {
	if math.IsNaN(iv[0]) {
		return "[n/a]"
	}
	return fmt.Sprintf("[%.3f, %.3f]", iv[0], iv[1])
}
