package experiments

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"gonum.org/v1/plot"

	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/report"
	"github.com/mabeam/mabeam/simba"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/store"
)

// The plots of a store (`experiment plot`) and the HTML report
// (`experiment report`): what is read from the store and how it becomes
// the inputs of package report.

// Plot kinds, the values of NamedPlot.Kind. The first four are drawn per
// experiment and dataset, the others per study.
const (
	// PlotHistoryCalls is the best-so-far validation score against the
	// cumulative LM calls of the study's trials (in trial-number order),
	// one line per optimizer, one run per seed; only validation trials
	// (optimizer.Trial.Validation) compete for the best.
	PlotHistoryCalls = "history_calls"
	// PlotHistoryCost is the same against the cumulative nominal cost
	// (US$), for comparisons at equal cost.
	PlotHistoryCost = "history_cost"
	// PlotPareto is validation score against nominal cost per example
	// (Cost / Batch) of every complete validation trial, the Pareto front
	// (evaluation.ParetoFront) and each optimizer's best: the mean over
	// its seeds of each study's best trial (cost per example and score).
	PlotPareto = "pareto"
	// PlotImportance is the parameter importance (PED-ANOVA,
	// evaluation.ParamImportance) of one optimizer, pooled over its seeds:
	// its complete validation trials, in the space stored with its first
	// study. Optimizers sample differently, so one plot each; an optimizer
	// with fewer than 10 such trials (SIMBA scores few programs on
	// validation) is left out with a note.
	PlotImportance = "importance"
	// PlotContributions is the per-agent contributions on test of a
	// study's best team or baseline (NamedPlot.Team): Shapley (exact or
	// Monte Carlo), leave-one-out and DyLAN importance, with 95% CIs.
	PlotContributions = "contributions"
	// PlotTopology is the best team's coordination graph: its active
	// agents, sized by Shapley value on test, and the topology's edges
	// (explicit: the searched team/edge/... booleans that are on, or the
	// config's edges when they are not searched; otherwise
	// space.TopologyEdges with the hub). Every edge has weight 1: the
	// messages followed along an edge are not stored.
	PlotTopology = "topology"
	// PlotSteps is SIMBA's step log: each step's candidate scores on its
	// train mini-batch (strategies append_demo, append_rule, team_move;
	// the baseline as step 0) and the best candidate score so far.
	// Rollouts and the final validation scores are not drawn.
	PlotSteps = "steps"
)

// ErrNoStudies is matched (errors.Is) by the error of Plots and
// ReportPage for a store without experiment studies to draw, or a
// PlotOptions.Study that is an ask/tell study.
var ErrNoStudies = errors.New("experiments: no experiment study to plot")

// PlotOptions select the studies Plots draws; the zero value means the
// studies of every experiment's latest config (as Compare selects them,
// but of any status: a running study shows its trials so far).
type PlotOptions struct {
	// Study, if set, draws one study only: its own plots, and the
	// experiment and dataset plots from its trials alone (one line, one
	// seed). An unknown name is an error matching store.ErrNotFound.
	Study string
	// All includes the studies of earlier configs of each experiment, as
	// CompareOptions.All does.
	All bool
}

// NamedPlot is one plot of a store with what it shows.
type NamedPlot struct {
	// Name is a file name without extension, unique among the plots of
	// one call: the experiment and dataset (or the study's name) and the
	// kind, every character other than letters, digits, '.', '-' and '_'
	// (the slashes of study names) replaced by '_'.
	Name string
	// Kind is one of the Plot* constants.
	Kind string
	// Experiment and Dataset are the studies' experiment and dataset.
	Experiment, Dataset string
	// Study is the study of a per-study kind; "" otherwise.
	Study string
	// Optimizer is the optimizer label of an importance plot or of the
	// study; "" for the other experiment and dataset plots.
	Optimizer string
	// Team is store.TestBest or store.TestBaseline for contributions;
	// "" otherwise.
	Team string
	// Caption says in a sentence what is drawn.
	Caption string
	// Plot is the plot, for report.Save or report.SVG. A *plot.Plot
	// must not be drawn by two goroutines at once.
	Plot *plot.Plot
}

// PlotSet is what Plots returns.
type PlotSet struct {
	// Plots are in order: per experiment and dataset (sorted) its own
	// plots, then each study's (by optimizer label and seed).
	Plots []NamedPlot
	// Notes name the plots left out and why ("<name>: too few complete
	// validation trials ..."), e.g. SIMBA's parameter importance.
	Notes []string
}

// Plots reads the studies o selects and returns their plots: per
// experiment and dataset the optimization histories against LM calls and
// nominal cost, the score-cost Pareto front and each optimizer's
// parameter importance; per study the contributions of its best team and
// baseline, the best team's topology and SIMBA's step log (see the Plot*
// kinds). A store without experiment studies is ErrNoStudies.
func Plots(ctx context.Context, s *store.Store, o PlotOptions) (*PlotSet, error) {
	c, err := collect(ctx, s, o)
	if err != nil {
		return nil, err
	}
	return c.set, nil
}

// SavePlots writes each plot into dir, once per extension in exts (".png",
// ".svg"), as dir/Name+ext, rendering on every core; dir must exist.
// wrote, if not nil, is called with each path written, in the order of ps
// and exts, from the caller's goroutine. It stops at the first error.
func SavePlots(ctx context.Context, ps []NamedPlot, dir string, exts []string, wrote func(path string)) error {
	type result struct {
		paths []string
		err   error
	}
	results := make([]chan result, len(ps))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(ps), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				var r result
				for _, ext := range exts { // one goroutine per plot: a plot is not safe to draw concurrently
					if r.err = ctx.Err(); r.err != nil {
						break
					}
					path := filepath.Join(dir, ps[i].Name+ext)
					if r.err = report.Save(ps[i].Plot, path); r.err != nil {
						r.err = fmt.Errorf("plot %s: %w", ps[i].Name, r.err)
						break
					}
					r.paths = append(r.paths, path)
				}
				results[i] <- r
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range ps {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	for i := range ps {
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			r.err = ctx.Err()
		}
		if wrote != nil {
			for _, p := range r.paths {
				wrote(p)
			}
		}
		if r.err != nil {
			err = r.err
			break
		}
	}
	cancel()
	wg.Wait()
	return err
}

// plotStudy is one study with what its plots need.
type plotStudy struct {
	st       store.Study
	trials   []optimizer.Trial // in number order
	best     *BestTeam         // nil without a best trial
	contribs []store.Contribution
	metrics  map[string]map[string]float64
	layout   teamLayout
}

// teamLayout is what the study's config says of the team's graph: the
// agents in team order, the star's hub and the explicit topology's
// candidate edges.
type teamLayout struct {
	order []string
	hub   string
	edges []space.Edge
}

// plotGroup is the studies of one experiment and dataset, by optimizer
// label and seed.
type plotGroup struct {
	exp, ds string
	studies []*plotStudy
}

// collection is everything read for the plots and the report.
type collection struct {
	groups []*plotGroup
	set    *PlotSet
	notes  []plotOrNote // the plots left out, with their reasons
}

// plotStudies returns the studies o selects, in the store's order.
func plotStudies(ctx context.Context, s *store.Store, o PlotOptions) ([]store.Study, error) {
	if o.Study != "" {
		st, err := s.Study(ctx, o.Study)
		if err != nil {
			return nil, err
		}
		if st.Experiment == "" || st.Dataset == "" {
			return nil, fmt.Errorf("%w: study %q is an ask/tell study (no dataset, no LM calls)", ErrNoStudies, o.Study)
		}
		return []store.Study{st}, nil
	}
	out, err := latestStudies(ctx, s, "", o.All, func(st *store.Study) bool { return st.Experiment != "" && st.Dataset != "" })
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoStudies, s.Path())
	}
	return out, nil
}

// collect reads the studies o selects and draws their plots.
func collect(ctx context.Context, s *store.Store, o PlotOptions) (*collection, error) {
	sts, err := plotStudies(ctx, s, o)
	if err != nil {
		return nil, err
	}
	byKey := map[[2]string]*plotGroup{}
	c := &collection{set: &PlotSet{}}
	for _, st := range sts {
		ps, err := loadPlotStudy(ctx, s, st)
		if err != nil {
			return nil, err
		}
		k := [2]string{st.Experiment, st.Dataset}
		g := byKey[k]
		if g == nil {
			g = &plotGroup{exp: st.Experiment, ds: st.Dataset}
			byKey[k] = g
			c.groups = append(c.groups, g)
		}
		g.studies = append(g.studies, ps)
	}
	slices.SortFunc(c.groups, func(a, b *plotGroup) int {
		return cmp.Or(cmp.Compare(a.exp, b.exp), cmp.Compare(a.ds, b.ds))
	})
	names := map[string]int{}
	add := func(np NamedPlot, err error) {
		if err != nil {
			c.set.Notes = append(c.set.Notes, fmt.Sprintf("%s: %v", np.Name, err))
			c.notes = append(c.notes, plotOrNote{np, err})
			return
		}
		if np.Plot == nil {
			return
		}
		base := np.Name
		if n := names[base]; n > 0 {
			np.Name = fmt.Sprintf("%s-%d", base, n+1)
		}
		names[base]++
		c.set.Plots = append(c.set.Plots, np)
	}
	for _, g := range c.groups {
		slices.SortStableFunc(g.studies, func(a, b *plotStudy) int {
			return cmp.Or(cmp.Compare(a.st.Optimizer, b.st.Optimizer), cmp.Compare(a.st.Seed, b.st.Seed))
		})
		for _, np := range g.plots() {
			add(np.NamedPlot, np.err)
		}
		for _, ps := range g.studies {
			for _, np := range ps.plots(g) {
				add(np.NamedPlot, np.err)
			}
		}
	}
	return c, nil
}

// loadPlotStudy reads a study's trials (store.TrialOutcomes), best team,
// contributions, team measures and team layout.
func loadPlotStudy(ctx context.Context, s *store.Store, st store.Study) (*plotStudy, error) {
	ps := &plotStudy{st: st}
	var err error
	if ps.trials, err = s.TrialOutcomes(ctx, st.ID); err != nil {
		return nil, err
	}
	if ps.best, err = StudyBestTeam(ctx, s, st); err != nil {
		return nil, err
	}
	if ps.contribs, err = s.Contributions(ctx, st.ID); err != nil {
		return nil, err
	}
	if ps.metrics, err = s.TeamMetrics(ctx, st.ID); err != nil {
		return nil, err
	}
	ps.layout = layoutOf(st.Config)
	return ps, nil
}

// layoutOf reads the team's layout from a study's config JSON; a config
// it cannot read gives an empty layout (agents then in id order).
func layoutOf(cfg []byte) teamLayout {
	var c struct {
		Team struct {
			Agents []struct {
				ID string `json:"id"`
			} `json:"agents"`
			Hub   string     `json:"hub"`
			Edges [][]string `json:"edges"`
		} `json:"team"`
	}
	var l teamLayout
	if len(cfg) == 0 || json.Unmarshal(cfg, &c) != nil {
		return l
	}
	for _, a := range c.Team.Agents {
		l.order = append(l.order, a.ID)
	}
	l.hub = c.Team.Hub
	for _, e := range c.Team.Edges {
		if len(e) < 2 {
			continue
		}
		ed := space.Edge{From: e[0], To: e[1]}
		if len(e) > 2 {
			_ = ed.Type.UnmarshalText([]byte(e[2])) // an unknown type stays data; only the ends are drawn
		}
		l.edges = append(l.edges, ed)
	}
	return l
}

// plotOrNote is a plot or, with err set, why it was left out.
type plotOrNote struct {
	NamedPlot
	err error
}

// optimizers returns the group's optimizer labels in order, each with its
// studies.
func (g *plotGroup) optimizers() ([]string, map[string][]*plotStudy) {
	var labels []string
	by := map[string][]*plotStudy{}
	for _, ps := range g.studies {
		if by[ps.st.Optimizer] == nil {
			labels = append(labels, ps.st.Optimizer)
		}
		by[ps.st.Optimizer] = append(by[ps.st.Optimizer], ps)
	}
	return labels, by
}

func (g *plotGroup) title() string { return g.exp + " / " + g.ds }

// sanitize makes s a file name: letters, digits, '.', '-' and '_' stay,
// anything else (the slashes of study names) becomes '_'.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// label is an optimizer's name in a legend; a study without one is
// "(unknown optimizer)".
func label(opt string) string {
	if opt == "" {
		return "(unknown optimizer)"
	}
	return opt
}

// plots draws the group's experiment and dataset plots.
func (g *plotGroup) plots() []plotOrNote {
	prefix := sanitize(g.exp + "_" + g.ds)
	base := NamedPlot{Experiment: g.exp, Dataset: g.ds}
	var out []plotOrNote
	for _, cost := range []bool{false, true} {
		np := base
		np.Kind, np.Name = PlotHistoryCalls, prefix+"_history_calls"
		xl := "LM calls (cumulative, the study's trials)"
		np.Caption = fmt.Sprintf("%s: best-so-far validation score against LM calls, one line per optimizer (median over seeds, band: lowest to highest seed).", g.title())
		if cost {
			np.Kind, np.Name = PlotHistoryCost, prefix+"_history_cost"
			xl = "nominal cost (US$, cumulative, the study's trials)"
			np.Caption = fmt.Sprintf("%s: best-so-far validation score against nominal cost (what the calls cost uncached), for comparisons at equal cost.", g.title())
		}
		h := &report.History{
			Title:  fmt.Sprintf("Best-so-far validation score, %s (median over seeds, band: min–max)", g.title()),
			XLabel: xl,
			Lines:  g.historyLines(cost),
		}
		var err error
		if len(h.Lines) == 0 {
			err = errors.New("no complete validation trial")
		} else {
			np.Plot, err = h.Plot()
		}
		out = append(out, plotOrNote{np, err})
	}
	out = append(out, g.pareto(prefix, base))
	out = append(out, g.importance(prefix, base)...)
	return out
}

// historyLines are the group's optimizers, each with one run per study
// (seed).
func (g *plotGroup) historyLines(cost bool) []report.HistoryLine {
	labels, by := g.optimizers()
	var lines []report.HistoryLine
	for _, l := range labels {
		line := report.HistoryLine{Name: label(l)}
		n := 0
		for _, ps := range by[l] {
			run := ps.bestSoFar(cost)
			n += len(run)
			line.Runs = append(line.Runs, run)
		}
		if n > 0 {
			lines = append(lines, line)
		}
	}
	return lines
}

// bestSoFar is the study's best validation value after each trial that
// improved it, at the cumulative calls (or nominal cost) of the trials up
// to it, with a last point at the end of the study.
func (ps *plotStudy) bestSoFar(cost bool) []report.Point {
	dir := ps.st.Direction
	var pts []report.Point
	x, best := 0.0, math.NaN()
	for i := range ps.trials {
		t := &ps.trials[i]
		if cost {
			if finiteF(t.Cost) {
				x += t.Cost
			}
		} else {
			x += float64(t.Calls)
		}
		if competes(t) && dir.Better(t.Value, best) {
			best = t.Value
			pts = append(pts, report.Point{X: x, Y: best})
		}
	}
	if n := len(pts); n > 0 && pts[n-1].X < x {
		pts = append(pts, report.Point{X: x, Y: best})
	}
	return pts
}

// competes reports whether t competes for the best: a complete
// validation trial with a finite value.
func competes(t *optimizer.Trial) bool {
	return t.State == optimizer.Complete && t.Validation() && finiteF(t.Value)
}

func finiteF(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// bestTrial is the study's best trial: the stored best when it is among
// the trials, else the first best of the competing trials; nil if none.
func (ps *plotStudy) bestTrial() *optimizer.Trial {
	if b := ps.st.Result.BestTrial; b != nil {
		if i, ok := slices.BinarySearchFunc(ps.trials, *b, func(t optimizer.Trial, n int) int { return cmp.Compare(t.Number, n) }); ok {
			return &ps.trials[i]
		}
	}
	var best *optimizer.Trial
	for i := range ps.trials {
		t := &ps.trials[i]
		if competes(t) && (best == nil || ps.st.Direction.Better(t.Value, best.Value)) {
			best = t
		}
	}
	return best
}

// pareto draws score against cost per example over every competing trial
// of the group with a batch.
func (g *plotGroup) pareto(prefix string, base NamedPlot) plotOrNote {
	np := base
	np.Kind, np.Name = PlotPareto, prefix+"_pareto"
	np.Caption = fmt.Sprintf("%s: validation score against nominal cost per validation example of every complete validation trial; the line is the Pareto front, the markers each optimizer's best trial (mean over seeds).", g.title())
	var pts []report.Point
	var pp []evaluation.ParetoPoint
	sign := 1.0 // the front maximizes; a minimized objective is negated for it
	if len(g.studies) > 0 && g.studies[0].st.Direction == optimizer.Minimize {
		sign = -1
	}
	for _, ps := range g.studies {
		for i := range ps.trials {
			t := &ps.trials[i]
			if !competes(t) || t.Batch <= 0 || !finiteF(t.Cost) {
				continue
			}
			x := t.Cost / float64(t.Batch)
			pts = append(pts, report.Point{X: x, Y: t.Value})
			pp = append(pp, evaluation.ParetoPoint{Cost: x, Score: sign * t.Value, Index: len(pts) - 1})
		}
	}
	if len(pts) == 0 {
		return plotOrNote{np, errors.New("no complete validation trial with a batch")}
	}
	front := evaluation.ParetoFront(pp)
	fr := make([]report.Point, len(front))
	for i, f := range front {
		fr[i] = pts[f.Index]
	}
	labels, by := g.optimizers()
	var bests []report.LabeledPoint
	for _, l := range labels {
		var sx, sy float64
		n := 0
		for _, ps := range by[l] {
			t := ps.bestTrial()
			if t == nil || t.Batch <= 0 || !finiteF(t.Cost) || !finiteF(t.Value) {
				continue
			}
			sx += t.Cost / float64(t.Batch)
			sy += t.Value
			n++
		}
		if n == 0 {
			continue
		}
		name := fmt.Sprintf("%s best (%d seeds)", label(l), n)
		if n == 1 {
			name = fmt.Sprintf("%s best (1 seed)", label(l))
		}
		bests = append(bests, report.LabeledPoint{Name: name, X: sx / float64(n), Y: sy / float64(n)})
	}
	pa := &report.Pareto{
		Title:  fmt.Sprintf("Validation score against cost, %s (every validation trial)", g.title()),
		XLabel: "nominal cost per validation example (US$)",
		Points: pts, Front: fr, Best: bests,
	}
	var err error
	np.Plot, err = pa.Plot()
	return plotOrNote{np, err}
}

// importance draws each optimizer's parameter importance over its seeds.
func (g *plotGroup) importance(prefix string, base NamedPlot) []plotOrNote {
	labels, by := g.optimizers()
	var out []plotOrNote
	for _, l := range labels {
		np := base
		np.Kind, np.Name, np.Optimizer = PlotImportance, prefix+"_importance_"+sanitize(label(l)), l
		err := g.importanceOf(&np, by[l])
		out = append(out, plotOrNote{np, err})
	}
	return out
}

// importanceOf draws into np the parameter importance over the competing
// trials of sts, in the space stored with the first of them that has one.
func (g *plotGroup) importanceOf(np *NamedPlot, sts []*plotStudy) error {
	i := slices.IndexFunc(sts, func(ps *plotStudy) bool { return len(ps.st.Space) > 0 })
	if i < 0 {
		return errors.New("no study stores its space")
	}
	sp, err := space.ParseJSON(sts[i].st.Space)
	if err != nil {
		return fmt.Errorf("the stored space of %s: %w", sts[i].st.Name, err)
	}
	var trials []evaluation.ImportanceTrial
	for _, ps := range sts {
		for k := range ps.trials {
			if t := &ps.trials[k]; competes(t) {
				trials = append(trials, evaluation.ImportanceTrial{Params: t.Params, Value: t.Value})
			}
		}
	}
	imp, err := evaluation.ParamImportance(sp, trials, &evaluation.ImportanceOptions{Minimize: sts[i].st.Direction == optimizer.Minimize})
	switch {
	case errors.Is(err, evaluation.ErrTooFewTrials):
		return fmt.Errorf("too few complete validation trials for parameter importance (%d, need 10)", len(trials))
	case err != nil:
		return err
	case len(imp) == 0:
		return errors.New("the space searches no variable")
	}
	opt := label(sts[0].st.Optimizer)
	im := &report.Importance{
		Title:  fmt.Sprintf("Parameter importance, %s, %s (%d validation trials, %s)", g.title(), opt, len(trials), seedWord(len(sts))),
		XLabel: "importance (PED-ANOVA: top 10% of trials against all, share)",
	}
	for _, name := range slices.Sorted(maps.Keys(imp)) {
		im.Names = append(im.Names, name)
		im.Values = append(im.Values, imp[name])
	}
	np.Caption = fmt.Sprintf("%s, %s: parameter importance by PED-ANOVA over its complete validation trials, pooled over seeds; the largest %d.", g.title(), opt, min(len(im.Names), 15))
	np.Plot, err = im.Plot()
	return err
}

func seedWord(n int) string {
	if n == 1 {
		return "1 seed"
	}
	return fmt.Sprintf("%d seeds", n)
}

// plots draws the study's own plots.
func (ps *plotStudy) plots(g *plotGroup) []plotOrNote {
	prefix := sanitize(ps.st.Name)
	base := NamedPlot{Experiment: g.exp, Dataset: g.ds, Study: ps.st.Name, Optimizer: ps.st.Optimizer}
	var out []plotOrNote
	for _, team := range []string{store.TestBest, store.TestBaseline} {
		if np, ok := ps.contributions(prefix, base, team); ok {
			out = append(out, np)
		}
	}
	if ps.best != nil && len(ps.best.Agents) > 0 {
		out = append(out, ps.topology(prefix, base))
	}
	if np, ok := ps.steps(prefix, base); ok {
		out = append(out, np)
	}
	return out
}

// contribution methods in the order of their bars, with their legend
// names.
var contribMethods = []struct{ method, name string }{
	{evaluation.MethodShapley, "Shapley"},
	{evaluation.MethodShapleyMC, "Shapley (Monte Carlo)"},
	{evaluation.MethodLOO, "leave-one-out"},
	{evaluation.MethodDyLAN, "DyLAN importance"},
}

// inTeamOrder sorts ids by the team's order, unknown ids last by id.
func (l *teamLayout) inTeamOrder(ids []string) {
	slices.SortFunc(ids, func(a, b string) int {
		ia, ib := slices.Index(l.order, a), slices.Index(l.order, b)
		if ia < 0 {
			ia = len(l.order)
		}
		if ib < 0 {
			ib = len(l.order)
		}
		return cmp.Or(cmp.Compare(ia, ib), cmp.Compare(a, b))
	})
}

// contributions draws a test team's contributions; false when none are
// stored.
func (ps *plotStudy) contributions(prefix string, base NamedPlot, team string) (plotOrNote, bool) {
	var agents []string
	by := map[string]map[string]store.Contribution{} // method → agent → contribution
	for _, c := range ps.contribs {
		if c.Team != team {
			continue
		}
		if !slices.Contains(agents, c.Agent) {
			agents = append(agents, c.Agent)
		}
		if by[c.Method] == nil {
			by[c.Method] = map[string]store.Contribution{}
		}
		by[c.Method][c.Agent] = c
	}
	if len(agents) == 0 {
		return plotOrNote{}, false
	}
	ps.layout.inTeamOrder(agents)
	np := base
	np.Kind, np.Team, np.Name = PlotContributions, team, prefix+"_contributions_"+team
	who := "Best team"
	if team == store.TestBaseline {
		who = "Baseline"
	}
	np.Caption = fmt.Sprintf("%s: each agent's contribution to the %s's mean test score (Shapley value, leave-one-out; DyLAN importance is a share of the credit for the team answer), with 95%% intervals from resampling the test examples.", ps.st.Name, strings.ToLower(who))
	c := &report.Contributions{
		Title:  fmt.Sprintf("%s of %s: contributions on test (95%% CI)", who, ps.st.Name),
		YLabel: "contribution to mean test score",
		Agents: agents,
	}
	for _, m := range contribMethods {
		cs := by[m.method]
		if cs == nil {
			continue
		}
		cm := report.ContributionMethod{Name: m.name, Value: make([]float64, len(agents)),
			Lo: make([]float64, len(agents)), Hi: make([]float64, len(agents))}
		for i, a := range agents {
			cm.Value[i], cm.Lo[i], cm.Hi[i] = math.NaN(), math.NaN(), math.NaN()
			if x, ok := cs[a]; ok {
				cm.Value[i], cm.Lo[i], cm.Hi[i] = x.Value, x.Lo, x.Hi
			}
		}
		c.Methods = append(c.Methods, cm)
	}
	if len(c.Methods) == 0 {
		return plotOrNote{np, errors.New("no contribution of a known method")}, true
	}
	var err error
	np.Plot, err = c.Plot()
	return plotOrNote{np, err}, true
}

// teamEdges returns the best team's edges among its active agents ids (in
// team order), one per ordered pair.
func (ps *plotStudy) teamEdges(ids []string) ([]space.Edge, string, error) {
	p := ps.best.Params
	topo := p.String(space.TeamVar(space.TeamTopology))
	if topo == "" {
		topo = space.TopoMesh // the default of an undeclared topology
	}
	var edges []space.Edge
	if topo == space.TopoExplicit {
		searched := false
		for _, name := range p.Names() {
			e, ok := space.EdgeOf(name)
			if !ok {
				continue
			}
			searched = true
			if on, _ := p[name].(bool); on {
				edges = append(edges, space.Edge{From: e.From, To: e.To})
			}
		}
		if !searched {
			edges = ps.layout.edges
		}
		edges = space.Restrict(edges, ids)
	} else {
		hub := ps.layout.hub
		if h, ok := p["team/hub"].(string); ok {
			hub = h
		}
		var err error
		if edges, err = space.TopologyEdges(topo, ids, hub, nil); err != nil {
			return nil, topo, err
		}
	}
	seen := map[[2]string]bool{}
	out := edges[:0:0]
	for _, e := range edges {
		if k := [2]string{e.From, e.To}; !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out, topo, nil
}

// topology draws the best team's graph.
func (ps *plotStudy) topology(prefix string, base NamedPlot) plotOrNote {
	np := base
	np.Kind, np.Name = PlotTopology, prefix+"_topology"
	agents := slices.Clone(ps.best.Agents)
	ids := make([]string, len(agents))
	for i, a := range agents {
		ids[i] = a.ID
	}
	ps.layout.inTeamOrder(ids)
	byID := map[string]TeamAgent{}
	for _, a := range agents {
		byID[a.ID] = a
	}
	edges, topo, err := ps.teamEdges(ids)
	if err != nil {
		return plotOrNote{np, err}
	}
	t := &report.Topology{}
	for _, id := range ids {
		a := byID[id]
		sh := math.NaN()
		if c, ok := a.Shapley(); ok {
			sh = c.Value
		}
		lbl := id
		var bits []string
		if m, ok := a.Params["model"]; ok {
			bits = append(bits, fmt.Sprint(m))
		}
		if !math.IsNaN(sh) {
			bits = append(bits, fmt.Sprintf("%+.2f", sh))
		}
		if len(bits) > 0 {
			lbl += "\n" + strings.Join(bits, ", ")
		}
		t.Nodes = append(t.Nodes, report.TopologyNode{ID: id, Label: lbl, Size: sh})
	}
	for _, e := range edges {
		t.Edges = append(t.Edges, report.TopologyEdge{From: e.From, To: e.To, Weight: 1})
	}
	rounds := ""
	if r, ok := ps.best.Params[space.TeamVar(space.TeamRounds)]; ok {
		rounds = fmt.Sprintf(", %v rounds", r)
		if fmt.Sprint(r) == "1" {
			rounds = ", 1 round"
		}
	}
	t.Title = fmt.Sprintf("Best team of %s: %s%s", ps.st.Name, topo, rounds)
	np.Caption = fmt.Sprintf("%s: the best team's active agents (area: Shapley value on test, in the label; grey: not measured) and the links of its %s topology; every edge is drawn at weight 1, since the messages followed along each edge are not stored.", ps.st.Name, topo)
	np.Plot, err = t.Plot()
	return plotOrNote{np, err}
}

// steps draws SIMBA's step log; false when the study has no SIMBA
// candidates.
func (ps *plotStudy) steps(prefix string, base NamedPlot) (plotOrNote, bool) {
	byStep := map[int][]float64{}
	cands := 0
	for i := range ps.trials {
		t := &ps.trials[i]
		if t.State != optimizer.Complete || !finiteF(t.Value) {
			continue
		}
		switch t.Strategy {
		case simba.AppendDemo, simba.AppendRule, simba.TeamMove:
			cands++
		case simba.StrategyBaseline:
			if t.Step != 0 {
				continue
			}
		default:
			continue
		}
		byStep[t.Step] = append(byStep[t.Step], t.Value)
	}
	if cands == 0 {
		return plotOrNote{}, false
	}
	np := base
	np.Kind, np.Name = PlotSteps, prefix+"_steps"
	np.Caption = fmt.Sprintf("%s: SIMBA's candidates at each step, scored on the step's train mini-batch (step 0: the baseline), and the best candidate score so far.", ps.st.Name)
	st := &report.Steps{
		Title:  fmt.Sprintf("SIMBA steps of %s", ps.st.Name),
		XLabel: "SIMBA step",
		YLabel: "score on the step's train mini-batch",
	}
	best := math.NaN()
	for _, k := range slices.Sorted(maps.Keys(byStep)) {
		for _, v := range byStep[k] {
			if ps.st.Direction.Better(v, best) {
				best = v
			}
		}
		st.Steps = append(st.Steps, report.Step{Step: k, Scores: byStep[k], Best: best})
	}
	var err error
	np.Plot, err = st.Plot()
	return plotOrNote{np, err}, true
}

// ReportOptions shape the page ReportPage builds; the zero value shows
// every experiment's latest config.
type ReportOptions struct {
	// All includes the studies of earlier configs, in the comparison and
	// the plots (CompareOptions.All).
	All bool
	// Against adds each optimizer's paired difference to this one to the
	// comparison table (CompareOptions.Against); "" none.
	Against string
	// Title is the page title; "" means "MABEAM report".
	Title string
	// Subtitle is the line under the title; "" means the store's path.
	Subtitle string
}

// ReportPage builds the HTML report of a store: the comparison table as
// `experiment compare` prints it, then one section per experiment and
// dataset with its studies, the test teams' mean scores (the best team,
// the baseline and, where stored, the self-consistency and single-agent
// baselines), the notes on plots left out and the plots of Plots inlined
// as SVG; within it one section per study with its best team (Lines, a
// table of its agents with their parameters and contributions), its test
// teams' scores and measures (team_metrics), and its plots. A store
// without experiment studies is ErrNoStudies.
func ReportPage(ctx context.Context, s *store.Store, o ReportOptions) (*report.Page, error) {
	c, err := collect(ctx, s, PlotOptions{All: o.All})
	if err != nil {
		return nil, err
	}
	rows, err := Compare(ctx, s, CompareOptions{All: o.All, Against: o.Against})
	if err != nil {
		return nil, err
	}
	svgs, err := renderSVGs(ctx, c.set.Plots)
	if err != nil {
		return nil, err
	}
	page := &report.Page{Title: cmp.Or(o.Title, "MABEAM report"), Subtitle: cmp.Or(o.Subtitle, "store "+s.Path())}
	if len(rows) > 0 {
		h, cells, note := ComparisonTable(rows, o.Against)
		page.Tables = append(page.Tables, report.Table{ID: "comparison", Header: h, Rows: cells,
			Caption: "Optimizers compared on test: mean test score over seeds with its 95% interval, the baseline's, and the paired gain " +
				strings.ReplaceAll(note, "\n", "")})
	}
	type where struct{ exp, ds, study string }
	figs := map[where][]report.Figure{}
	for i, np := range c.set.Plots {
		k := where{np.Experiment, np.Dataset, np.Study}
		figs[k] = append(figs[k], report.Figure{Caption: np.Caption, SVG: svgs[i]})
	}
	notes := map[where][]string{}
	for _, n := range c.notes {
		k := where{n.Experiment, n.Dataset, ""}
		notes[k] = append(notes[k], fmt.Sprintf("Not drawn: %s (%s): %v.", plotKindName(n.Kind, n.Optimizer, n.Team, n.Study), n.Name, n.err))
	}
	for _, g := range c.groups {
		tests := make([]map[string]testTeam, len(g.studies))
		for i, ps := range g.studies {
			if tests[i], err = ps.testTeams(ctx, s); err != nil {
				return nil, err
			}
		}
		sec := report.Section{Heading: g.title(), Text: notes[where{g.exp, g.ds, ""}]}
		if len(rows) == 0 {
			sec.Text = append([]string{"No study of this store is complete with a test score yet: the comparison table is empty."}, sec.Text...)
		}
		sec.Tables = append(sec.Tables, g.studiesTable(), g.testTeamsTable(tests))
		sec.Figures = figs[where{g.exp, g.ds, ""}]
		for i, ps := range g.studies {
			sub := report.Section{Heading: ps.st.Name}
			if ps.best != nil {
				for _, l := range ps.best.Lines() {
					sub.Text = append(sub.Text, strings.TrimSpace(l))
				}
				if t, ok := ps.agentsTable(); ok {
					sub.Tables = append(sub.Tables, t)
				}
			} else {
				sub.Text = []string{fmt.Sprintf("%s: no best trial yet (status %s, %d trials).", ps.st.Name, ps.st.Status, len(ps.trials))}
			}
			if t, ok := studyTestTable(ps.st.Name, tests[i]); ok {
				sub.Tables = append(sub.Tables, t)
			}
			if t, ok := ps.measuresTable(); ok {
				sub.Tables = append(sub.Tables, t)
			}
			sub.Figures = figs[where{g.exp, g.ds, ps.st.Name}]
			sec.Sections = append(sec.Sections, sub)
		}
		page.Sections = append(page.Sections, sec)
	}
	return page, nil
}

// plotKindName says in words which plot a kind is.
func plotKindName(kind, opt, team, study string) string {
	switch kind {
	case PlotHistoryCalls:
		return "history against LM calls"
	case PlotHistoryCost:
		return "history against nominal cost"
	case PlotPareto:
		return "score-cost Pareto front"
	case PlotImportance:
		return "parameter importance of " + label(opt)
	case PlotContributions:
		return team + " team contributions of " + study
	case PlotTopology:
		return "best team topology of " + study
	case PlotSteps:
		return "SIMBA steps of " + study
	}
	return kind
}

// renderSVGs renders every plot as SVG for the page, on every core (each
// plot by one goroutine).
func renderSVGs(ctx context.Context, ps []NamedPlot) ([][]byte, error) {
	out := make([][]byte, len(ps))
	errs := make([]error, len(ps))
	var next sync.Mutex // protects i
	i := 0
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(ps), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= len(ps) || ctx.Err() != nil {
					return
				}
				out[k], errs[k] = report.SVG(ps[k].Plot)
				if errs[k] != nil {
					errs[k] = fmt.Errorf("plot %s: %w", ps[k].Name, errs[k])
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, errors.Join(errs...)
}

// testTeamOrder is the order of the test teams in tables.
var testTeamOrder = []string{store.TestBest, store.TestBaseline, store.TestSelfConsistency, store.TestSingleAgent}

// testTeam is a test team's figures: its score (team_metrics "score",
// else the mean of its per-example results, else the study's stored
// score) and, from its per-example results, the examples, tokens and
// nominal cost a question.
type testTeam struct {
	score, tokens, cost float64
	n                   int
}

// testTeams returns the study's test teams that have a score.
func (ps *plotStudy) testTeams(ctx context.Context, s *store.Store) (map[string]testTeam, error) {
	out := map[string]testTeam{}
	teams := slices.Clone(testTeamOrder)
	for team := range ps.metrics {
		if !slices.Contains(teams, team) {
			teams = append(teams, team)
		}
	}
	for _, team := range teams {
		tt := testTeam{score: math.NaN(), tokens: math.NaN(), cost: math.NaN()}
		if slices.Contains(testTeamOrder, team) {
			rs, err := s.TestResults(ctx, ps.st.ID, team)
			if err != nil {
				return nil, err
			}
			if len(rs) > 0 {
				var sum, tok, cost float64
				for _, r := range rs {
					sum += r.Score
					tok += float64(r.Tokens)
					cost += r.Cost
				}
				n := float64(len(rs))
				tt = testTeam{score: sum / n, tokens: tok / n, cost: cost / n, n: len(rs)}
			}
		}
		if v, ok := ps.metrics[team]["score"]; ok && finiteF(v) {
			tt.score = v
		}
		if math.IsNaN(tt.score) {
			switch r := ps.st.Result; {
			case team == store.TestBest && r.TestScore != nil:
				tt.score = *r.TestScore
			case team == store.TestBaseline && r.BaselineTestScore != nil:
				tt.score = *r.BaselineTestScore
			}
		}
		if !math.IsNaN(tt.score) {
			out[team] = tt
		}
	}
	return out, nil
}

// teamsIn returns the teams of ms in testTeamOrder, then any other by name.
func teamsIn[V any](ms ...map[string]V) []string {
	var out []string
	for _, m := range ms {
		for team := range m {
			if !slices.Contains(out, team) {
				out = append(out, team)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		ia, ib := slices.Index(testTeamOrder, a), slices.Index(testTeamOrder, b)
		if ia < 0 {
			ia = len(testTeamOrder)
		}
		if ib < 0 {
			ib = len(testTeamOrder)
		}
		return cmp.Or(cmp.Compare(ia, ib), cmp.Compare(a, b))
	})
	return out
}

func num(x float64, format string) string {
	if !finiteF(x) {
		return "-"
	}
	return fmt.Sprintf(format, x)
}

func numPtr(p *float64) string {
	if p == nil {
		return "-"
	}
	return num(*p, "%.3f")
}

// studiesTable lists the group's studies.
func (g *plotGroup) studiesTable() report.Table {
	t := report.Table{
		Caption: g.title() + ": studies (calls and nominal cost of the whole study, the final test evaluations included)",
		Header:  []string{"STUDY", "OPTIMIZER", "SEED", "STATUS", "TRIALS", "VAL TRIALS", "BEST TRIAL", "BEST VAL", "TEST", "BASELINE", "CALLS", "COST $"},
	}
	for _, ps := range g.studies {
		val := 0
		for i := range ps.trials {
			if competes(&ps.trials[i]) {
				val++
			}
		}
		r := ps.st.Result
		bt, calls, cost := "-", "-", "-"
		if r.BestTrial != nil {
			bt = fmt.Sprint(*r.BestTrial)
		}
		if r.LMCalls != nil {
			calls = fmt.Sprint(*r.LMCalls)
		}
		if r.CostUSD != nil {
			cost = num(*r.CostUSD, "%.4f")
		}
		t.Rows = append(t.Rows, []string{ps.st.Name, label(ps.st.Optimizer), fmt.Sprint(ps.st.Seed), string(ps.st.Status),
			fmt.Sprint(len(ps.trials)), fmt.Sprint(val), bt, numPtr(r.BestValScore), numPtr(r.TestScore), numPtr(r.BaselineTestScore), calls, cost})
	}
	return t
}

// testTeamsTable is each optimizer's mean test score over seeds of every
// test team: the best, the baseline, and the other baselines stored.
func (g *plotGroup) testTeamsTable(tests []map[string]testTeam) report.Table {
	teams := teamsIn(tests...)
	t := report.Table{
		Caption: g.title() + ": mean test score over seeds of each test team (best: the optimized team; self_consistency: the cost-matched self-consistency baseline; single_agent: the optimized single agent); a count in brackets when fewer seeds have the team",
		Header:  []string{"OPTIMIZER", "SEEDS"},
	}
	for _, team := range teams {
		t.Header = append(t.Header, strings.ToUpper(team))
	}
	labels, _ := g.optimizers()
	for _, l := range labels {
		var idx []int
		for i, ps := range g.studies {
			if ps.st.Optimizer == l {
				idx = append(idx, i)
			}
		}
		row := []string{label(l), fmt.Sprint(len(idx))}
		for _, team := range teams {
			sum, n := 0.0, 0
			for _, i := range idx {
				if tt, ok := tests[i][team]; ok {
					sum += tt.score
					n++
				}
			}
			cell := "-"
			if n > 0 {
				cell = fmt.Sprintf("%.3f", sum/float64(n))
				if n < len(idx) {
					cell += fmt.Sprintf(" (%d)", n)
				}
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// studyTestTable is the study's test teams; false when none has a score.
func studyTestTable(study string, tests map[string]testTeam) (report.Table, bool) {
	if len(tests) == 0 {
		return report.Table{}, false
	}
	t := report.Table{
		Caption: study + ": test teams (score: team_metrics, else the mean over the stored test examples)",
		Header:  []string{"TEAM", "TEST SCORE", "EXAMPLES", "TOKENS/QUESTION", "NOMINAL $/QUESTION"},
	}
	for _, team := range teamsIn(tests) {
		tt := tests[team]
		n := "-"
		if tt.n > 0 {
			n = fmt.Sprint(tt.n)
		}
		t.Rows = append(t.Rows, []string{team, num(tt.score, "%.3f"), n, num(tt.tokens, "%.0f"), num(tt.cost, "%.5f")})
	}
	return t, true
}

// measuresTable is the study's team measures (team_metrics), one column
// per team; false when none is stored.
func (ps *plotStudy) measuresTable() (report.Table, bool) {
	teams := teamsIn(ps.metrics)
	if len(teams) == 0 {
		return report.Table{}, false
	}
	var names []string
	for _, m := range ps.metrics {
		for name := range m {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	t := report.Table{Caption: ps.st.Name + ": team measures on test (team_metrics; - where not defined)", Header: []string{"MEASURE"}}
	for _, team := range teams {
		t.Header = append(t.Header, strings.ToUpper(team))
	}
	for _, name := range names {
		row := []string{name}
		for _, team := range teams {
			v, ok := ps.metrics[team][name]
			cell := "-"
			if ok {
				cell = num(v, "%.4g")
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	return t, true
}

// agentsTable is the best team's agents with their parameters and
// contributions; false when it has none.
func (ps *plotStudy) agentsTable() (report.Table, bool) {
	b := ps.best
	if len(b.Agents) == 0 {
		return report.Table{}, false
	}
	ids := make([]string, len(b.Agents))
	byID := map[string]TeamAgent{}
	for i, a := range b.Agents {
		ids[i] = a.ID
		byID[a.ID] = a
	}
	ps.layout.inTeamOrder(ids)
	t := report.Table{
		Caption: ps.st.Name + ": the best team's agents (trial " + fmt.Sprint(b.Trial) + "), with their contributions on test and 95% intervals",
		Header:  []string{"AGENT", "PARAMETERS", "SHAPLEY", "LEAVE-ONE-OUT", "DYLAN IMPORTANCE"},
	}
	for _, id := range ids {
		a := byID[id]
		var params []string
		for _, k := range slices.Sorted(maps.Keys(a.Params)) {
			v := fmt.Sprint(a.Params[k])
			if r := []rune(v); len(r) > 60 {
				v = string(r[:59]) + "…"
			}
			params = append(params, k+"="+v)
		}
		cell := func(methods ...string) string {
			for _, m := range methods {
				if c, ok := a.Contributions[m]; ok {
					s := fmt.Sprintf("%+.3f", c.Value)
					if finiteF(c.CI[0]) && finiteF(c.CI[1]) {
						s += fmt.Sprintf(" [%+.3f, %+.3f]", c.CI[0], c.CI[1])
					}
					return s
				}
			}
			return "-"
		}
		t.Rows = append(t.Rows, []string{id, strings.Join(params, ", "),
			cell(evaluation.MethodShapley, evaluation.MethodShapleyMC), cell(evaluation.MethodLOO), cell(evaluation.MethodDyLAN)})
	}
	return t, true
}
