package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/store"
	"github.com/spf13/cobra"
)

// The black-box commands (ask, tell, best) keep a study's state in the
// store between calls, as Optuna's CLI does.

// checkDBPath refuses a --db that cannot name a store file: none, a
// directory, or a file in a directory that does not exist (only run's
// default OUT/<name>.db path creates its directory).
func checkDBPath(db string) error {
	if db == "" {
		return usagef("--db is required (the SQLite file that holds the studies)")
	}
	if db == ":memory:" {
		return nil
	}
	if fi, err := os.Stat(db); err == nil && fi.IsDir() {
		return usagef("--db %s is a directory; give the path of a store file in it, e.g. %s", db, filepath.Join(db, "mabeam.db"))
	}
	dir := filepath.Dir(db)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return usagef("--db %s: directory %s does not exist (create it first: only run's default path, OUT/<name>.db, creates its directory)", db, dir)
	}
	return nil
}

// openStore opens the store at db, creating it if needed.
func openStore(ctx context.Context, db string) (*store.Store, error) {
	if err := checkDBPath(db); err != nil {
		return nil, err
	}
	return store.Open(ctx, db)
}

// openExisting opens a store that must already exist: reading commands do
// not create an empty database for a mistyped path, nor write a schema into
// a file that is not a store (store.OpenExisting refuses it).
func openExisting(ctx context.Context, db string) (*store.Store, error) {
	if err := checkDBPath(db); err != nil {
		return nil, err
	}
	if db != ":memory:" {
		if _, err := os.Stat(db); err != nil {
			return nil, usagef("--db %s: no such database (create one with 'experiment run' or 'experiment ask')", db)
		}
	}
	return store.OpenExisting(ctx, db)
}

// openStudy opens an existing store and looks up a study in it. The caller
// closes the store.
func openStudy(ctx context.Context, db, name string) (*store.Store, store.Study, error) {
	if name == "" {
		return nil, store.Study{}, usagef("--study is required")
	}
	s, err := openExisting(ctx, db)
	if err != nil {
		return nil, store.Study{}, err
	}
	rec, err := s.Study(ctx, name)
	if err != nil {
		s.Close()
		return nil, store.Study{}, err
	}
	return s, rec, nil
}

// canonicalSpace returns the space JSON with sorted keys and no spaces, so
// the same space given twice compares equal, and the parsed space.
func canonicalSpace(raw string) ([]byte, *space.Space, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, nil, usagef("--space is not a JSON object: %v", err)
	}
	canon, err := json.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	sp, err := space.ParseJSON(canon)
	if err != nil {
		return nil, nil, usagef("--space: %v", err)
	}
	return canon, sp, nil
}

func newAskCmd() *cobra.Command {
	var (
		db, name, spaceJSON, sampler, direction, settingsJSON string
		seed                                                  uint64
	)
	c := &cobra.Command{
		Use:   "ask",
		Short: "Propose the next trial of a black-box study (state kept in the store)",
		Long: "ask prints {\"trial\":N,\"params\":{...}}: evaluate the params yourself, then report the\n" +
			"value with 'experiment tell'. The first ask creates the study; later asks must give the\n" +
			"same space, sampler, sampler settings, seed and direction. --sampler-settings passes the\n" +
			"sampler's settings as a JSON object, e.g. '{\"deterministic\": true}' for beacon.",
		Example: `  experiment ask --db s.db --study branin --seed 0 --direction minimize --sampler random \
    --space '{"x":{"type":"float","low":-5,"high":10},"y":{"type":"float","low":0,"high":15}}'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if name == "" {
				return usagef("--study is required")
			}
			if spaceJSON == "" {
				return usagef("--space is required, e.g. --space '{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}'")
			}
			dir, err := optimizer.ParseDirection(direction)
			if err != nil {
				return usagef("--direction: %v", err)
			}
			var settings map[string]any
			var settingsCanon []byte
			if settingsJSON != "" {
				if err := json.Unmarshal([]byte(settingsJSON), &settings); err != nil || settings == nil {
					return usagef("--sampler-settings is not a JSON object: %s", settingsJSON)
				}
				b, _ := json.Marshal(map[string]any{"sampler_settings": settings})
				settingsCanon = b
			}
			smp, err := optimizer.SamplerWith(sampler, settings)
			if err != nil {
				return usagef("--sampler: %v", err)
			}
			canon, sp, err := canonicalSpace(spaceJSON)
			if err != nil {
				return err
			}
			ctx := c.Context()
			s, err := openStore(ctx, db)
			if err != nil {
				return err
			}
			defer s.Close()
			rec, err := s.Study(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				rec, err = s.CreateStudy(ctx, store.Study{Name: name, Seed: seed, Direction: dir, Sampler: sampler, Space: canon, Config: settingsCanon})
				if errors.Is(err, store.ErrExists) { // another process created it first
					rec, err = s.Study(ctx, name)
				}
			}
			if err != nil {
				return err
			}
			if err := sameStudy(rec, canon, sampler, seed, dir); err != nil {
				return err
			}
			if string(rec.Config) != string(settingsCanon) {
				return usagef("study %q was created with other sampler settings: %s (this ask gives %s)", rec.Name, orNone(rec.Config), orNone(settingsCanon))
			}
			// Two concurrent asks may pick the same number; the store's
			// uniqueness makes one of them retry with the next.
			for attempt := 0; ; attempt++ {
				trials, err := s.Trials(ctx, rec.ID)
				if err != nil {
					return err
				}
				st, err := optimizer.NewStudy(sp, smp, dir, seed, trials...)
				if err != nil {
					return err
				}
				t, err := st.Ask()
				if err != nil {
					return err
				}
				err = s.StartTrial(ctx, rec.ID, t)
				if errors.Is(err, store.ErrExists) && attempt < 20 {
					continue
				}
				if err != nil {
					return err
				}
				return writeJSONLine(c, map[string]any{"trial": t.Number, "params": t.Params})
			}
		},
	}
	f := c.Flags()
	f.StringVar(&db, "db", "", "SQLite store file (created if missing)")
	f.StringVar(&name, "study", "", "study name")
	f.StringVar(&spaceJSON, "space", "", "search space as JSON")
	f.StringVar(&sampler, "sampler", "random", "sampler: "+fmt.Sprint(optimizer.SamplerNames()))
	f.Uint64Var(&seed, "seed", 0, "study seed")
	f.StringVar(&direction, "direction", "minimize", "minimize or maximize")
	f.StringVar(&settingsJSON, "sampler-settings", "", "the sampler's settings as a JSON object")
	return c
}

func orNone(b []byte) string {
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

func sameStudy(rec store.Study, canon []byte, sampler string, seed uint64, dir optimizer.Direction) error {
	switch {
	case rec.Sampler == "" && rec.Dataset != "":
		return usagef("study %q is an experiment study, not a black-box one", rec.Name)
	case string(rec.Space) != string(canon):
		return usagef("study %q was created with another space: %s", rec.Name, rec.Space)
	case rec.Sampler != sampler:
		return usagef("study %q uses sampler %q, not %q", rec.Name, rec.Sampler, sampler)
	case rec.Seed != seed:
		return usagef("study %q has seed %d, not %d", rec.Name, rec.Seed, seed)
	case rec.Direction != dir:
		return usagef("study %q is to %s, not %s", rec.Name, rec.Direction, dir)
	}
	return nil
}

func writeJSONLine(c *cobra.Command, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.OutOrStdout(), string(b))
	return err
}

func newTellCmd() *cobra.Command {
	var (
		db, name, value string
		number          int
		fail            bool
	)
	c := &cobra.Command{
		Use:   "tell",
		Short: "Report the value (or failure) of a trial proposed by ask",
		Example: "  experiment tell --db s.db --study branin --trial 0 --value 12.5\n" +
			"  experiment tell --db s.db --study branin --trial 1 --fail",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if name == "" {
				return usagef("--study is required")
			}
			if number < 0 {
				return usagef("--trial is required (the number ask printed)")
			}
			if (value == "") == !fail {
				return usagef("give exactly one of --value V and --fail")
			}
			v := math.NaN()
			if !fail {
				var err error
				if v, err = strconv.ParseFloat(value, 64); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					return usagef("--value %q is not a finite number (report a failed evaluation with --fail)", value)
				}
			}
			ctx := c.Context()
			s, rec, err := openStudy(ctx, db, name)
			if err != nil {
				return err
			}
			defer s.Close()
			t, err := s.Trial(ctx, rec.ID, number)
			if err != nil {
				return err
			}
			if t.Finished() {
				return usagef("trial %d of study %q is already %s; a trial is told once (ask for a new one)", number, name, t.State)
			}
			if fail {
				t.State, t.Err = optimizer.Failed, "reported by tell --fail"
			} else {
				t.State, t.Value = optimizer.Complete, v
			}
			if !t.Start.IsZero() {
				t.Duration = time.Since(t.Start)
			}
			return s.FinishTrial(ctx, rec.ID, store.TrialRecord{Trial: t})
		},
	}
	f := c.Flags()
	f.StringVar(&db, "db", "", "SQLite store file")
	f.StringVar(&name, "study", "", "study name")
	f.IntVar(&number, "trial", -1, "trial number printed by ask")
	f.StringVar(&value, "value", "", "the objective value")
	f.BoolVar(&fail, "fail", false, "the evaluation failed")
	return c
}

func newBestCmd() *cobra.Command {
	var (
		db, name string
		asJSON   bool
	)
	c := &cobra.Command{
		Use:   "best",
		Short: "Print the best trial of a study, with its program (per-agent demos and rules) when it has one",
		Long: "best prints the study's best complete validation trial: its value and parameters and, for an\n" +
			"optimizer that builds materials (simba), each agent's demos and rules and the whole program as\n" +
			"JSON (optimizer.Program: it runs again with TeamEvaluator.EvaluateProgram). --json prints the\n" +
			"same as one document, the program under \"program\".",
		Example: "  experiment best --db s.db --study branin --json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			s, rec, err := openStudy(ctx, db, name)
			if err != nil {
				return err
			}
			defer s.Close()
			trials, err := s.Trials(ctx, rec.ID)
			if err != nil {
				return err
			}
			b, ok := optimizer.Best(trials, rec.Direction)
			if !ok {
				return usagef("study %q has no complete trial yet (%d trial(s) in all); tell a value first", name, len(trials))
			}
			out := map[string]any{"study": name, "trial": b.Number, "value": b.Value, "params": b.Params, "trials": len(trials)}
			if b.Agents != nil {
				out["program"] = b.Program()
			}
			var team *experiments.BestTeam
			if rec.Result.BestTrial != nil && *rec.Result.BestTrial == b.Number && rec.Dataset != "" {
				if team, err = experiments.StudyBestTeam(ctx, s, rec); err != nil {
					return err
				}
				out["agents"], out["metrics"] = team.Agents, team.Metrics
			}
			if asJSON {
				return writeJSON(c.OutOrStdout(), out)
			}
			w := c.OutOrStdout()
			p, _ := json.Marshal(b.Params)
			fmt.Fprintf(w, "study %s: best trial %d of %d, value %g", name, b.Number, len(trials), b.Value)
			if b.Strategy != "" && b.Parent != nil {
				fmt.Fprintf(w, " (%s of trial %d)", b.Strategy, *b.Parent)
			}
			fmt.Fprintf(w, "\nparams %s\n", p)
			if team != nil {
				for _, l := range team.Lines()[1:] {
					fmt.Fprintln(w, l)
				}
			}
			if b.Agents == nil {
				return nil
			}
			ids := slices.Sorted(maps.Keys(b.Agents))
			for _, id := range ids {
				a := b.Agents[id]
				var ex []string
				for _, d := range a.Demos {
					ex = append(ex, cmp.Or(d.Example, "(no id)"))
				}
				fmt.Fprintf(w, "agent %s: %d demo(s) %v, %d rule(s)\n", id, len(a.Demos), ex, len(a.Rules))
				for _, r := range a.Rules {
					fmt.Fprintf(w, "  - %s\n", r)
				}
			}
			prog, _ := json.Marshal(b.Program())
			fmt.Fprintf(w, "program %s\n", prog)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&db, "db", "", "SQLite store file")
	f.StringVar(&name, "study", "", "study name")
	f.BoolVar(&asJSON, "json", false, "print one JSON document")
	return c
}
