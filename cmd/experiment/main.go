// Command experiment runs MABEAM experiments: evaluating teams of agents on
// built-in benchmarks with the surrogate model, and (as the CLI grows)
// optimizing them from a config.
//
// Results go to stdout (one JSON document with --json); progress and logs go
// to stderr. Exit codes, the same for every command: 0 success, 1 runtime
// failure, 2 usage or input error, 130 interrupted (see exitcode.go).
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI with args and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "experiment:", err)
	return exitCode(err)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "experiment",
		Short: "Optimize and evaluate teams of language-model agents",
		Long: "experiment optimizes and evaluates teams of language-model agents: results go to\n" +
			"stdout (one JSON document with --json), progress and logs to stderr.\n\n" + exitCodesHelp,
		Example: "  experiment run experiments/quickstart.yaml\n" +
			"  experiment compare --db out/quickstart.db\n" +
			"  experiment evaluate --family multihop --n 100",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return flagError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(newVersionCmd(), newDatasetsCmd(), newEvaluateCmd(), newAskCmd(), newTellCmd(), newBestCmd(), newRunCmd(), newCompareCmd(), newPlotCmd(), newReportCmd(), newCalibrateCmd(), newWorkerCmd(), newStatusCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Example: "  experiment version",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintln(c.OutOrStdout(), "experiment", version)
			return nil
		},
	}
}
