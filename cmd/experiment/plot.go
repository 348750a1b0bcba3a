package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/store"
	"github.com/spf13/cobra"
)

// The plot and report commands draw a store's studies (experiments.Plots,
// experiments.ReportPage); here are their flags, errors and files.

func newPlotCmd() *cobra.Command {
	var db, out, study, format string
	var all, asJSON bool
	c := &cobra.Command{
		Use:   "plot",
		Short: "Draw the plots of a store's studies as PNG and SVG files",
		Long: "plot writes into --out (created if missing), per experiment and dataset, the best-so-far\n" +
			"validation score against LM calls and against nominal cost (one line per optimizer, the\n" +
			"median over seeds with the spread), the score-cost Pareto front of every validation trial\n" +
			"with each optimizer's best, and each optimizer's parameter importance; per study, the\n" +
			"per-agent contributions on test of its best team and baseline, the best team's topology and\n" +
			"SIMBA's step log. File names are the experiment and dataset (or the study's name, slashes\n" +
			"made '_') and the plot's kind. It prints one line per file written; plots left out (too few\n" +
			"trials, nothing measured) are noted on stderr. --study draws one study alone.",
		Example: "  experiment plot --db out/quickstart.db --out out/plots\n" +
			"  experiment plot --db out/quickstart.db --out out/plots --study quickstart/arith/simba/seed1 --format png",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var exts []string
			switch format {
			case "both":
				exts = []string{".png", ".svg"}
			case "png", "svg":
				exts = []string{"." + format}
			default:
				return usagef("--format %q: want png, svg or both", format)
			}
			if out == "" {
				return usagef("--out is required (the directory to write the plots into)")
			}
			if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
				return usagef("--out %s is a file; give a directory", out)
			}
			ctx, stop := signalContext()
			defer stop()
			s, err := openExisting(ctx, db)
			if err != nil {
				return err
			}
			defer s.Close()
			set, err := experiments.Plots(ctx, s, experiments.PlotOptions{Study: study, All: all})
			if err != nil && ctx.Err() != nil {
				return fmt.Errorf("%w: plot writes nothing into the store; run it again", errInterrupted)
			}
			if err != nil {
				return plotError(ctx, s, db, study, err)
			}
			for _, n := range set.Notes {
				fmt.Fprintln(c.ErrOrStderr(), "note: not drawn:", n)
			}
			if len(set.Plots) == 0 {
				return usagef("nothing to plot in %s: no study has a complete validation trial or stored contributions", db)
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			w := c.OutOrStdout()
			files := []string{}
			err = experiments.SavePlots(ctx, set.Plots, out, exts, func(path string) {
				if asJSON {
					files = append(files, path)
				} else {
					fmt.Fprintln(w, path)
				}
			})
			if err != nil && ctx.Err() != nil {
				return fmt.Errorf("%w: the files listed are complete; run plot again for the rest", errInterrupted)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(w, map[string]any{"files": files, "not_drawn": append([]string{}, set.Notes...)})
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&db, "db", "", "SQLite store file")
	f.StringVar(&out, "out", "", "directory to write the plots into (created if missing)")
	f.StringVar(&study, "study", "", "draw this study only")
	f.StringVar(&format, "format", "both", "png, svg or both")
	f.BoolVar(&all, "all", false, "include studies of earlier configs of each experiment")
	f.BoolVar(&asJSON, "json", false, "print one JSON document: the files written and the plots not drawn")
	return c
}

func newReportCmd() *cobra.Command {
	var db, out, against string
	var all, asJSON bool
	c := &cobra.Command{
		Use:   "report",
		Short: "Write a self-contained HTML report of a store: comparison, best teams, baselines and plots",
		Long: "report writes one HTML page (inline SVG and CSS, no scripts, nothing from the network):\n" +
			"the comparison table of 'experiment compare', then per experiment and dataset its studies,\n" +
			"the mean test score of each test team (the best, the baseline and, where stored, the\n" +
			"self-consistency and single-agent baselines) and the plots of 'experiment plot'; per study\n" +
			"its best team with each agent's parameters and contributions, and the team measures.\n" +
			"The file is replaced atomically (written next to it, then renamed); its directory must exist.",
		Example: "  experiment report --db out/quickstart.db --out out/quickstart.html\n" +
			"  experiment report --db out/quickstart.db --out out/quickstart.html --against random",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out is required (the HTML file to write)")
			}
			if err := checkOut(out, "report.html", true); err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			s, err := openExisting(ctx, db)
			if err != nil {
				return err
			}
			defer s.Close()
			page, err := experiments.ReportPage(ctx, s, experiments.ReportOptions{All: all, Against: against,
				Subtitle: fmt.Sprintf("store %s, written %s", db, time.Now().UTC().Format("2006-01-02 15:04:05 UTC"))})
			if err != nil && ctx.Err() != nil {
				return fmt.Errorf("%w: nothing was written; run report again", errInterrupted)
			}
			if err != nil {
				return plotError(ctx, s, db, "", err)
			}
			var buf bytes.Buffer
			if err := page.WriteHTML(&buf); err != nil {
				return err
			}
			if err := writeFileAtomic(out, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			figures, studies := 0, 0
			for _, sec := range page.Sections {
				figures += len(sec.Figures)
				studies += len(sec.Sections)
				for _, sub := range sec.Sections {
					figures += len(sub.Figures)
				}
			}
			if asJSON {
				return writeJSON(c.OutOrStdout(), map[string]any{"file": out, "studies": studies, "plots": figures, "bytes": buf.Len()})
			}
			fmt.Fprintf(c.OutOrStdout(), "%s (%d studies, %d plots, %d bytes)\n", out, studies, figures, buf.Len())
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&db, "db", "", "SQLite store file")
	f.StringVar(&out, "out", "", "HTML file to write, in an existing directory")
	f.BoolVar(&all, "all", false, "include studies of earlier configs of each experiment")
	f.StringVar(&against, "against", "", "add each optimizer's paired difference to this optimizer (its label)")
	f.BoolVar(&asJSON, "json", false, "print one JSON document: the file, its studies, plots and size")
	return c
}

// plotError turns the errors of Plots and ReportPage that are the
// caller's to mend into messages saying what the store holds.
func plotError(ctx context.Context, s *store.Store, db, study string, err error) error {
	switch {
	case study != "" && errors.Is(err, store.ErrNotFound):
		return usagef("no study %q in %s%s", study, db, knownStudies(ctx, s))
	case errors.Is(err, experiments.ErrNoStudies) && study != "":
		return &usageError{err.Error() + "; plot an experiment's study" + knownStudies(ctx, s)}
	case errors.Is(err, experiments.ErrNoStudies):
		return usagef("%s holds no experiment study to draw (run one with 'experiment run CONFIG')", db)
	}
	return err
}

// knownStudies lists the experiment studies in s, for an error message.
func knownStudies(ctx context.Context, s *store.Store) string {
	sts, err := s.Studies(ctx, "")
	if err != nil {
		return ""
	}
	var names []string
	for _, st := range sts {
		if st.Experiment != "" && st.Dataset != "" {
			names = append(names, st.Name)
		}
	}
	const shown = 20
	switch {
	case len(names) == 0:
		return " (it holds no experiment study)"
	case len(names) > shown:
		return fmt.Sprintf(" (studies: %s, ... and %d more)", strings.Join(names[:shown], ", "), len(names)-shown)
	}
	return " (studies: " + strings.Join(names, ", ") + ")"
}
