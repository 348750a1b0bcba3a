package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mabeam/mabeam/datasets"
	"github.com/spf13/cobra"
)

func newDatasetsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "datasets",
		Short: "List and export the built-in benchmark families",
		Example: "  experiment datasets list\n" +
			"  experiment datasets export arithmetic --n 100 --seed 1 --out arith.jsonl",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return usagef("datasets needs a subcommand, list or export; see 'experiment datasets --help'")
		},
	}
	c.AddCommand(newDatasetsListCmd(), newDatasetsExportCmd())
	return c
}

func newDatasetsListCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:     "list",
		Short:   "List the built-in benchmark families",
		Example: "  experiment datasets list\n  experiment datasets list --json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			type row struct {
				Name        string `json:"name"`
				Description string `json:"description"`
			}
			var rows []row
			for _, n := range datasets.Names() {
				f, _ := datasets.Lookup(n)
				rows = append(rows, row{n, f.Describe()})
			}
			if asJSON {
				return writeJSON(c.OutOrStdout(), map[string]any{"datasets": rows})
			}
			var tr [][]string
			for _, r := range rows {
				tr = append(tr, []string{r.Name, r.Description})
			}
			return table(c.OutOrStdout(), []string{"NAME", "DESCRIPTION"}, tr)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return c
}

func newDatasetsExportCmd() *cobra.Command {
	var (
		n, difficulty int
		seed          uint64
		out           string
		force         bool
	)
	c := &cobra.Command{
		Use:   "export NAME",
		Short: "Generate examples of a built-in family and write them as JSONL",
		Long: "export writes --n examples of a built-in family to --out as JSONL (at most " + fmt.Sprint(datasets.MaxExamples) + ").\n" +
			"The file is written in full or not at all; an existing file is replaced only with --force.",
		Example: "  experiment datasets export arithmetic --n 100 --seed 1 --out arith.jsonl\n" +
			"  experiment datasets export multihop --n 50 --difficulty 3 --out -   # to stdout",
		Args: exactArgs(1, "the family name"),
		RunE: func(c *cobra.Command, args []string) error {
			if _, err := datasets.Lookup(args[0]); err != nil {
				return usagef("%v; see 'experiment datasets list'", err)
			}
			if err := checkN(n); err != nil {
				return err
			}
			if difficulty < 0 || difficulty > 3 {
				return usagef("--difficulty must be 0 (mixed) or 1..3, got %d", difficulty)
			}
			if out == "" {
				return usagef("--out is required (a file path, or - for stdout)")
			}
			if out != "-" {
				if err := checkOut(out, "examples.jsonl", force); err != nil {
					return err
				}
			}
			exs, err := datasets.GenerateFamily(args[0], n, seed, difficulty)
			if err != nil {
				return err
			}
			if out == "-" {
				return datasets.WriteJSONL(c.OutOrStdout(), exs)
			}
			if err := writeFileAtomic(out, func(w io.Writer) error { return datasets.WriteJSONL(w, exs) }); err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "wrote %d %s examples to %s\n", len(exs), args[0], out)
			return nil
		},
	}
	c.Flags().IntVar(&n, "n", 100, fmt.Sprintf("number of examples (at most %d)", datasets.MaxExamples))
	c.Flags().IntVar(&difficulty, "difficulty", 0, "difficulty 1..3, or 0 for a mix")
	c.Flags().Uint64Var(&seed, "seed", 1, "generator seed")
	c.Flags().StringVar(&out, "out", "", "output file (.jsonl), or - for stdout")
	c.Flags().BoolVar(&force, "force", false, "replace --out if it exists")
	return c
}

// checkN refuses an example count that is not positive or above
// datasets.MaxExamples (evaluate and datasets export).
func checkN(n int) error {
	if n <= 0 {
		return usagef("--n must be positive, got %d", n)
	}
	if n > datasets.MaxExamples {
		return usagef("--n %d is above the limit of %d examples", n, datasets.MaxExamples)
	}
	return nil
}

// checkOut refuses an output file path before anything is generated or
// written: a directory (example names a file to suggest in it), a file in
// a directory that does not exist, or an existing file without replace.
func checkOut(out, example string, replace bool) error {
	fi, err := os.Stat(out)
	switch {
	case err == nil && fi.IsDir():
		return usagef("--out %s is a directory; give a file path, e.g. %s", out, filepath.Join(out, example))
	case err == nil && !fi.Mode().IsRegular():
		return usagef("--out %s is not a regular file", out)
	case err == nil && !replace:
		return usagef("--out %s exists; pass --force to replace it", out)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	dir := filepath.Dir(out)
	if di, err := os.Stat(dir); err != nil || !di.IsDir() {
		return usagef("--out %s: directory %s does not exist", out, dir)
	}
	return nil
}

// writeFileAtomic writes path through a temporary file in its directory,
// renamed over path once complete: path is written in full or not at all,
// and the temporary file is removed on every error.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
