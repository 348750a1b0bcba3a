// Command experiment runs MABEAM experiments: evaluating teams of agents on
// built-in benchmarks with the surrogate model, and (as the CLI grows)
// optimizing them from a config.
//
// Results go to stdout (one JSON document with --json); progress and logs go
// to stderr. Usage errors exit 2, failures exit 1.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// usageError marks errors that are the caller's to mend (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

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
	var ue *usageError
	// cobra reports an unknown subcommand with an untyped error.
	if errors.As(err, &ue) || isFlagError(err) || strings.HasPrefix(err.Error(), "unknown command") {
		return 2
	}
	return 1
}

// flagError wraps cobra's flag parsing errors so they exit 2.
type flagError struct{ error }

func isFlagError(err error) bool {
	var fe flagError
	return errors.As(err, &fe)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "experiment",
		Short: "Optimize and evaluate teams of language-model agents",
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
	root.AddCommand(newVersionCmd(), newDatasetsCmd(), newEvaluateCmd(), newAskCmd(), newTellCmd(), newBestCmd(), newRunCmd(), newCompareCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Example: "  experiment version",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintln(c.OutOrStdout(), "experiment", version)
			return nil
		},
	}
}
