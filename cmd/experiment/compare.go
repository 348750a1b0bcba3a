package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/store"
	"github.com/spf13/cobra"
)

func newCompareCmd() *cobra.Command {
	var (
		db, experiment, against string
		asJSON, all             bool
	)
	c := &cobra.Command{
		Use:   "compare",
		Short: "Compare optimizers: mean test score with a 95% CI over seeds and test examples, cost, and the gain over the baseline",
		Long: "compare prints, per experiment, dataset and optimizer, the mean test score over the complete\n" +
			"studies (seeds) and its 95% interval from a paired hierarchical bootstrap over seeds and\n" +
			"test examples, the baseline's score and the paired gain over it, and the cost and calls per\n" +
			"study (nominal and billed; the final test evaluations included). By default an experiment\n" +
			"shows the studies of the config it was last run from; --all shows every study.\n" +
			"--against OPTIMIZER adds each other optimizer's paired difference to that one (same seeds\n" +
			"and test examples) with its 95% interval.",
		Example: "  experiment compare --db out/quickstart.db\n" +
			"  experiment compare --db out/all.db --experiment topology_adversary --json\n" +
			"  experiment compare --db out/quickstart.db --against random",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			s, err := openExisting(ctx, db)
			if err != nil {
				return err
			}
			defer s.Close()
			rows, err := experiments.Compare(ctx, s, experiments.CompareOptions{Experiment: experiment, All: all, Against: against})
			if err != nil {
				return err
			}
			if experiment != "" && len(rows) == 0 {
				if sts, err := s.Studies(ctx, experiment); err == nil && len(sts) == 0 {
					return &usageError{fmt.Sprintf("no experiment %q in %s%s", experiment, db, knownExperiments(ctx, s))}
				}
			}
			best, err := experiments.BestTeams(ctx, s, experiments.CompareOptions{Experiment: experiment, All: all})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.OutOrStdout(), map[string]any{"rows": rows, "best_teams": best})
			}
			if len(rows) == 0 {
				fmt.Fprintln(c.OutOrStdout(), "no complete study with a test score in", db)
				return nil
			}
			if err := printComparison(c.OutOrStdout(), rows, against); err != nil {
				return err
			}
			printBestTeams(c.OutOrStdout(), best)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&db, "db", "", "SQLite store file")
	f.StringVar(&experiment, "experiment", "", "only this experiment's studies")
	f.BoolVar(&asJSON, "json", false, "print one JSON document")
	f.BoolVar(&all, "all", false, "include studies of earlier configs of each experiment")
	f.StringVar(&against, "against", "", "add each optimizer's paired difference to this optimizer (its label)")
	return c
}

func printComparison(w io.Writer, rows []experiments.Comparison, against string) error {
	// The matched baselines some studies have: a column each, its score and
	// the best team's paired difference to it.
	var matched []struct{ team, head string }
	for _, m := range []struct{ team, head string }{
		{store.TestSelfConsistency, "SELF-CONSISTENCY: GAIN (95% CI)"},
		{store.TestSingleAgent, "SINGLE AGENT: GAIN (95% CI)"},
	} {
		if slices.ContainsFunc(rows, func(r experiments.Comparison) bool { _, ok := r.Matched[m.team]; return ok }) {
			matched = append(matched, m)
		}
	}
	var tr [][]string
	for _, r := range rows {
		row := []string{r.Experiment, r.Dataset, r.Optimizer, fmt.Sprint(r.Seeds),
			fmt.Sprintf("%.3f %s", r.TestMean, fmtCI(r.TestCI)), fmt.Sprintf("%.3f", r.BaselineMean),
			fmt.Sprintf("%+.3f %s", r.DiffMean, fmtCI(r.DiffCI))}
		if against != "" {
			vs := "-"
			if r.VsSeeds > 0 {
				vs = fmt.Sprintf("%+.3f %s", r.VsMean, fmtCI(r.VsCI))
			}
			row = append(row, vs)
		}
		atCost := "-"
		if !math.IsNaN(float64(r.BestAtCost)) {
			atCost = fmt.Sprintf("%.3f @ $%.2f", float64(r.BestAtCost), r.AtCost)
		}
		row = append(row, atCost)
		for _, m := range matched {
			cell := "-"
			if d, ok := r.Matched[m.team]; ok {
				cell = fmt.Sprintf("%.3f: %+.3f %s", d.Mean, d.DiffMean, fmtCI(d.DiffCI))
			}
			row = append(row, cell)
		}
		tr = append(tr, append(row, fmt.Sprintf("%.4f", r.CostUSD), fmt.Sprintf("%.4f", r.BilledCostUSD), fmt.Sprintf("%.0f", r.LMCalls)))
	}
	head := []string{"EXPERIMENT", "DATASET", "OPTIMIZER", "SEEDS", "TEST (95% CI)", "BASELINE", "GAIN (95% CI)"}
	if against != "" {
		head = append(head, "VS "+strings.ToUpper(against)+" (95% CI)")
	}
	head = append(head, "VAL AT EQUAL COST")
	for _, m := range matched {
		head = append(head, m.head)
	}
	if err := table(w, append(head, "COST $/STUDY", "BILLED $", "CALLS/STUDY"), tr); err != nil {
		return err
	}
	note := "(cost and calls per study include the final test evaluations; CIs: paired bootstrap over seeds and test examples;\n" +
		" val at equal cost: the best-so-far validation score once the trials had spent what the cheapest optimizer's did"
	if len(matched) > 0 {
		note += ";\n self-consistency: the best single model sampled at the best team's nominal cost a question, majority vote"
	}
	_, err := fmt.Fprintln(w, note+")")
	return err
}

// knownExperiments lists the experiments in s, for an error message.
func knownExperiments(ctx context.Context, s *store.Store) string {
	sts, err := s.Studies(ctx, "")
	if err != nil {
		return ""
	}
	var names []string
	for _, st := range sts {
		if st.Experiment != "" && !slices.Contains(names, st.Experiment) {
			names = append(names, st.Experiment)
		}
	}
	if len(names) == 0 {
		return " (it holds no experiment)"
	}
	return " (experiments: " + strings.Join(names, ", ") + ")"
}

func fmtCI(iv experiments.Interval) string {
	if math.IsNaN(iv[0]) {
		return "[n/a]"
	}
	return fmt.Sprintf("[%.3f, %.3f]", iv[0], iv[1])
}

// printBestTeams prints each study's best team in a few lines.
func printBestTeams(w io.Writer, best []experiments.BestTeam) {
	if len(best) == 0 {
		return
	}
	fmt.Fprintln(w, "\nbest teams:")
	for _, b := range best {
		for _, l := range b.Lines() {
			fmt.Fprintln(w, l)
		}
	}
}
