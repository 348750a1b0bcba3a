package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/team"
	"github.com/spf13/cobra"
)

// preset is a hand-designed team the evaluate command can run.
type preset struct {
	name, about string
	spec        func() team.Spec
}

func solvers(n int, model string) []team.AgentSpec {
	out := make([]team.AgentSpec, n)
	for i := range out {
		out[i] = team.AgentSpec{ID: fmt.Sprintf("a%d", i+1), Role: team.RoleSolver, Model: model}
	}
	return out
}

// sampled sets every agent's temperature: identical agents at temperature
// 0 give identical answers, so a vote needs sampling to differ.
func sampled(as []team.AgentSpec, temperature float64) []team.AgentSpec {
	for i := range as {
		as[i].Temperature = temperature
	}
	return as
}

func ids(as []team.AgentSpec) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

var presets = []preset{
	{"single", "one sim-medium solver", func() team.Spec {
		return team.Spec{Agents: solvers(1, "sim-medium")}
	}},
	{"vote5", "five sim-medium solvers sampled at temperature 0.7, majority vote, no debate", func() team.Spec {
		return team.Spec{Agents: sampled(solvers(5, "sim-medium"), 0.7)}
	}},
	{"debate5", "five sim-medium solvers at temperature 0.7, 2-round mesh debate, majority", func() team.Spec {
		as := sampled(solvers(5, "sim-medium"), 0.7)
		return team.Spec{Agents: as, Edges: team.EdgesOf(space.Mesh(ids(as))), Rounds: 2}
	}},
	{"judge4", "three sim-medium solvers and a sim-large judge", func() team.Spec {
		as := append(solvers(3, "sim-medium"), team.AgentSpec{ID: "judge", Role: team.RoleJudge, Model: "sim-large"})
		return team.Spec{Agents: as, Aggregation: team.AggJudge}
	}},
	{"large", "one sim-large solver", func() team.Spec {
		return team.Spec{Agents: solvers(1, "sim-large")}
	}},
}

func presetNames() []string {
	var out []string
	for _, p := range presets {
		out = append(out, p.name)
	}
	return out
}

// signalContext is cancelled on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func newEvaluateCmd() *cobra.Command {
	var (
		family, teams   string
		n, difficulty   int
		workers, sample int
		seed            uint64
		asJSON          bool
	)
	c := &cobra.Command{
		Use:   "evaluate",
		Short: "Evaluate hand-designed teams on a built-in benchmark with the surrogate model",
		Long: "Evaluate runs preset teams on generated examples of a built-in family with the\n" +
			"surrogate model (lm/sim) and prints accuracy with a 95% confidence interval,\n" +
			"calls, tokens and cost per team. Presets: " + strings.Join(presetNames(), ", ") + ".",
		Example: "  experiment evaluate --family arithmetic --n 200 --difficulty 2 --seed 1\n" +
			"  experiment evaluate --teams single,debate5 --family multihop --json",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if _, err := datasets.Lookup(family); err != nil {
				return usagef("--family: %v", err)
			}
			if err := checkN(n); err != nil {
				return err
			}
			if difficulty < 0 || difficulty > 3 {
				return usagef("--difficulty must be 0 (mixed) or 1..3, got %d", difficulty)
			}
			var chosen []preset
			for _, name := range strings.Split(teams, ",") {
				i := slices.IndexFunc(presets, func(p preset) bool { return p.name == strings.TrimSpace(name) })
				if i < 0 {
					return usagef("--teams: unknown team %q (known: %s)", name, strings.Join(presetNames(), ", "))
				}
				chosen = append(chosen, presets[i])
			}
			exs, err := datasets.GenerateFamily(family, n, seed, difficulty)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			model := sim.New(&sim.Options{Seed: seed})
			type row struct {
				Team     string  `json:"team"`
				About    string  `json:"about"`
				Accuracy float64 `json:"accuracy"`
				CILow    float64 `json:"ci_low"`
				CIHigh   float64 `json:"ci_high"`
				Calls    int     `json:"lm_calls"`
				Tokens   int     `json:"tokens"`
				Cost     float64 `json:"cost_usd"`
				Seconds  float64 `json:"wall_seconds"`
			}
			var rows []row
			for _, p := range chosen {
				t, err := team.New(p.spec(), model, &team.Options{Sample: sample})
				if err != nil {
					return fmt.Errorf("team %s: %w", p.name, err)
				}
				fmt.Fprintf(c.ErrOrStderr(), "evaluating %s on %d %s examples (Ctrl-C stops)\n", p.name, len(exs), family)
				rep, err := evaluation.Evaluate(ctx, t, exs, datasets.ExactMatch, &evaluation.Options{Workers: workers})
				if err != nil && ctx.Err() != nil {
					return fmt.Errorf("%w: evaluate keeps no state, so nothing is lost; run the command again to start over", errInterrupted)
				}
				if err != nil {
					return fmt.Errorf("team %s: %w", p.name, err)
				}
				rows = append(rows, row{p.name, p.about, rep.Mean, rep.CI95[0], rep.CI95[1], rep.Calls,
					rep.Usage.Total(), rep.Cost, rep.Wall.Seconds()})
				fmt.Fprintf(c.ErrOrStderr(), "evaluated %s on %d %s examples\n", p.name, len(exs), family)
			}
			if asJSON {
				return writeJSON(c.OutOrStdout(), map[string]any{"family": family, "n": n, "difficulty": difficulty, "seed": seed, "teams": rows})
			}
			fmt.Fprintf(c.OutOrStdout(), "%d %s examples (difficulty %d, seed %d), surrogate model\n\n", n, family, difficulty, seed)
			var tr [][]string
			for _, r := range rows {
				tr = append(tr, []string{r.Team, fmt.Sprintf("%.3f", r.Accuracy), fmt.Sprintf("[%.3f, %.3f]", r.CILow, r.CIHigh),
					fmt.Sprint(r.Calls), fmt.Sprint(r.Tokens), fmt.Sprintf("%.4f", r.Cost), fmt.Sprintf("%.3f", r.Seconds), r.About})
			}
			return table(c.OutOrStdout(), []string{"TEAM", "ACCURACY", "95% CI", "CALLS", "TOKENS", "COST $", "WALL s", "DESCRIPTION"}, tr)
		},
	}
	f := c.Flags()
	f.StringVar(&family, "family", "arithmetic", "built-in family (see 'experiment datasets list')")
	f.StringVar(&teams, "teams", strings.Join(presetNames(), ","), "comma-separated preset teams")
	f.IntVar(&n, "n", 200, fmt.Sprintf("number of examples (at most %d)", datasets.MaxExamples))
	f.IntVar(&difficulty, "difficulty", 2, "difficulty 1..3, or 0 for a mix")
	f.Uint64Var(&seed, "seed", 1, "seed of the examples and of the surrogate model")
	f.IntVar(&workers, "workers", 0, "concurrent examples (0 = one per core)")
	f.IntVar(&sample, "sample", 0, "sample index passed to the model (varies outputs at temperature > 0)")
	f.BoolVar(&asJSON, "json", false, "print one JSON document")
	return c
}
