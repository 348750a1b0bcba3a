package main

import (
	"fmt"
	"io"
	"math"

	"github.com/mabeam/mabeam/experiments"
	"github.com/spf13/cobra"
)

func newCompareCmd() *cobra.Command {
	var (
		db, experiment string
		asJSON         bool
	)
	c := &cobra.Command{
		Use:   "compare",
		Short: "Compare optimizers: mean test score with a 95% CI over seeds, cost, and the gain over the baseline",
		Example: "  experiment compare --db out/quickstart.db\n" +
			"  experiment compare --db out/all.db --experiment topology_adversary --json",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			s, err := openExisting(ctx, db)
			if err != nil {
				return err
			}
			defer s.Close()
			rows, err := experiments.Compare(ctx, s, experiment)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.OutOrStdout(), map[string]any{"rows": rows})
			}
			if len(rows) == 0 {
				fmt.Fprintln(c.OutOrStdout(), "no complete study with a test score in", db)
				return nil
			}
			return printComparison(c.OutOrStdout(), rows)
		},
	}
	f := c.Flags()
	f.StringVar(&db, "db", "", "SQLite store file")
	f.StringVar(&experiment, "experiment", "", "only this experiment's studies")
	f.BoolVar(&asJSON, "json", false, "print one JSON document")
	return c
}

func printComparison(w io.Writer, rows []experiments.Comparison) error {
	var tr [][]string
	for _, r := range rows {
		tr = append(tr, []string{r.Experiment, r.Dataset, r.Optimizer, fmt.Sprint(r.Seeds),
			fmt.Sprintf("%.3f %s", r.TestMean, fmtCI(r.TestCI)), fmt.Sprintf("%.3f", r.BaselineMean),
			fmt.Sprintf("%+.3f %s", r.DiffMean, fmtCI(r.DiffCI)), fmt.Sprintf("%.4f", r.CostUSD), fmt.Sprintf("%.0f", r.LMCalls)})
	}
	return table(w, []string{"EXPERIMENT", "DATASET", "OPTIMIZER", "SEEDS", "TEST (95% CI)", "BASELINE", "GAIN (95% CI)", "COST $", "CALLS"}, tr)
}

func fmtCI(iv experiments.Interval) string {
	if math.IsNaN(iv[0]) {
		return "[n/a]"
	}
	return fmt.Sprintf("[%.3f, %.3f]", iv[0], iv[1])
}
