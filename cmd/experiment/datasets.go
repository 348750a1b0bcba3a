package main

import (
	"fmt"
	"os"

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
	)
	c := &cobra.Command{
		Use:   "export NAME",
		Short: "Generate examples of a built-in family and write them as JSONL",
		Example: "  experiment datasets export arithmetic --n 100 --seed 1 --out arith.jsonl\n" +
			"  experiment datasets export multihop --n 50 --difficulty 3 --out -   # to stdout",
		Args: exactArgs(1, "the family name"),
		RunE: func(c *cobra.Command, args []string) error {
			if _, err := datasets.Lookup(args[0]); err != nil {
				return usagef("%v; see 'experiment datasets list'", err)
			}
			if n <= 0 {
				return usagef("--n must be positive, got %d", n)
			}
			if difficulty < 0 || difficulty > 3 {
				return usagef("--difficulty must be 0 (mixed) or 1..3, got %d", difficulty)
			}
			if out == "" {
				return usagef("--out is required (a file path, or - for stdout)")
			}
			exs, err := datasets.GenerateFamily(args[0], n, seed, difficulty)
			if err != nil {
				return err
			}
			if out == "-" {
				return datasets.WriteJSONL(c.OutOrStdout(), exs)
			}
			tmp := out + ".tmp"
			f, err := os.Create(tmp)
			if err != nil {
				return err
			}
			if err := datasets.WriteJSONL(f, exs); err != nil {
				f.Close()
				os.Remove(tmp)
				return err
			}
			if err := f.Close(); err != nil {
				os.Remove(tmp)
				return err
			}
			if err := os.Rename(tmp, out); err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "wrote %d %s examples to %s\n", len(exs), args[0], out)
			return nil
		},
	}
	c.Flags().IntVar(&n, "n", 100, "number of examples")
	c.Flags().IntVar(&difficulty, "difficulty", 0, "difficulty 1..3, or 0 for a mix")
	c.Flags().Uint64Var(&seed, "seed", 1, "generator seed")
	c.Flags().StringVar(&out, "out", "", "output file (.jsonl), or - for stdout")
	return c
}
