package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/spf13/cobra"
)

func newCalibrateCmd() *cobra.Command {
	var (
		db, out, exp string
		heldOut      float64
		seed         uint64
		asJSON       bool
	)
	c := &cobra.Command{
		Use:   "calibrate",
		Short: "Fit surrogate profiles to a real model's recorded calls, for `lm: {backend: sim, profiles: FILE}`",
		Long: "calibrate reads the agent calls a real-model run recorded in the store (the calls table;\n" +
			"lm.record_calls is on by default for backend openai) and fits one surrogate profile per\n" +
			"model name the teams used: its skill and hardness slope per task family by maximum\n" +
			"likelihood of the calls' correctness, its confidence bias, completion length, latency and\n" +
			"price. It holds out the calls of a share of the questions (--held-out), checks the fitted\n" +
			"profiles' single-agent accuracy per family against the real one on them, prints the\n" +
			"check, and writes the profiles to --out. A config with lm: {backend: sim, profiles: FILE}\n" +
			"then runs cheap surrogate experiments that stand in for the real model.",
		Example: "  experiment calibrate --db out/real.db --out profiles.yaml\n" +
			"  experiment calibrate --db out/real.db --experiment mine --out profiles.yaml --json",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out is required (the profiles file to write, e.g. profiles.yaml)")
			}
			if !(heldOut > 0 && heldOut < 1) {
				return usagef("--held-out %g: want a share of the questions between 0 and 1, e.g. 0.3", heldOut)
			}
			if err := checkOut(out, "profiles.yaml", true); err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			s, err := openExisting(ctx, db)
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := experiments.Calibrate(ctx, s, experiments.CalibrateOptions{Experiment: exp, HeldOut: heldOut, Seed: seed, Source: db})
			if errors.Is(err, experiments.ErrNoCalls) {
				return &usageError{err.Error()}
			}
			if err != nil {
				return err
			}
			comment := fmt.Sprintf("surrogate profiles fitted by `experiment calibrate` to %d calls of %s (%d held out to check);\n"+
				"use them with lm: {backend: sim, profiles: %s}", res.Fit, db, res.Held, filepath.Base(out))
			if err := writeFileAtomic(out, func(w io.Writer) error { return sim.WriteProfiles(w, res.Profiles, comment) }); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.OutOrStdout(), res.Doc(out))
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "fitted %d calls of %d studies (%d repeats left out; skipped: %+v); checked on %d held-out calls\n",
				res.Fit, res.Studies, res.Duplicates, res.Skipped, res.Held)
			var rows [][]string
			for _, ch := range res.Checks {
				rows = append(rows, []string{ch.Model, ch.Family, fmt.Sprint(ch.N),
					fmt.Sprintf("%.3f [%.3f, %.3f]", ch.Accuracy, ch.Lo, ch.Hi), fmt.Sprintf("%.3f", ch.Fitted),
					fmt.Sprintf("%+.3f", ch.Diff), fmt.Sprintf("%.3f", ch.Base)})
			}
			if err := table(w, []string{"MODEL", "FAMILY", "HELD-OUT CALLS", "REAL ACCURACY [95% CI]", "FITTED", "FITTED-REAL", "BUILT-IN"}, rows); err != nil {
				return err
			}
			fmt.Fprintf(w, "profiles written to %s (use lm: {backend: sim, profiles: %s})\n", out, out)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&db, "db", "", "SQLite store with recorded calls (required)")
	f.StringVar(&out, "out", "", "profiles file to write (required)")
	f.StringVar(&exp, "experiment", "", "fit to this experiment's studies only (default: every study)")
	f.Float64Var(&heldOut, "held-out", experiments.DefaultHeldOut, "share of the questions held out of the fit to check it")
	f.Uint64Var(&seed, "seed", 1, "seed of the held-out split")
	f.BoolVar(&asJSON, "json", false, "print the fit and its check as one JSON document")
	return c
}
