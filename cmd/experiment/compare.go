package main

import (
	"context"
	"fmt"
	"io"
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
	head, cells, note := experiments.ComparisonTable(rows, against)
	if err := table(w, head, cells); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w, note); err != nil {
		return err
	}
	for _, l := range experiments.CallNotes(rows) {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
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
