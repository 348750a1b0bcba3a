package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/store"
	"github.com/spf13/cobra"
)

func newRunCmd() *cobra.Command {
	var (
		db, out, newExp string
		resume, asJSON  bool
		single, noAnal  bool
		parallel        int
		nf              natsFlags
	)
	c := &cobra.Command{
		Use:   "run CONFIG",
		Short: "Run an experiment config: every (dataset, optimizer, seed) study into the store",
		Long: "run validates CONFIG, then runs each study to its budget, committing every finished\n" +
			"trial to the SQLite store, scores the best team once on the test split, and prints\n" +
			"the comparison. Ctrl-C (or SIGTERM) stops at once, abandoning the trial in progress,\n" +
			"and exits 130; --resume continues the same studies without repeating finished\n" +
			"trials. A study is held by one run at a time (a lease in the store). On --resume a\n" +
			"changed budget continues the same studies; any other change to the config is refused\n" +
			"with the list of changed fields, unless --new-experiment NAME runs it as a new\n" +
			"experiment beside the old one.",
		Example: "  experiment run experiments/quickstart.yaml\n" +
			"  experiment run experiments/topology_adversary.yaml --db out/topo.db --json\n" +
			"  experiment run experiments/quickstart.yaml --db out/quickstart.db --resume",
		Args: exactArgs(1, "the config file"),
		RunE: func(c *cobra.Command, args []string) (err error) {
			// A signal stops the run at once, whenever it comes: the trial in
			// progress is abandoned (not stored) and run again by --resume.
			ctx, cancel := context.WithCancel(c.Context())
			defer cancel()
			var signalled atomic.Bool
			sigs := make(chan os.Signal, 2)
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sigs)
			go func() {
				select {
				case <-sigs:
					signalled.Store(true)
					fmt.Fprintln(c.ErrOrStderr(), "\nexperiment: interrupt: stopping now; the trial in progress will run again on --resume")
					cancel()
				case <-ctx.Done():
				}
			}()
			defer func() {
				if signalled.Load() && err != nil && !errors.Is(err, experiments.ErrStopped) {
					err = fmt.Errorf("%w before the run began; nothing was changed. Run again with: experiment run %s", experiments.ErrStopped, args[0])
				}
			}()
			if err := nf.check(c); err != nil {
				return err
			}
			if parallel < 0 {
				return usagef("--parallel %d: want at least 1 (0: the default)", parallel)
			}
			cfg, err := experiments.Load(args[0])
			if err != nil {
				return err // an experiments.ErrInvalidConfig: exit 2
			}
			if newExp != "" {
				if err := cfg.Rename(newExp); err != nil {
					return &usageError{err.Error()}
				}
			}
			mkdir := db == ""
			if db == "" {
				db = filepath.Join(out, cfg.Name+".db")
			}
			model, err := cfg.NewModel()
			if err != nil {
				return err // an experiments.ErrInvalidConfig: exit 2
			}
			// Everything is validated before the store is touched.
			studies, err := cfg.Studies(model)
			if err != nil {
				return err // an experiments.ErrInvalidConfig: exit 2
			}
			if mkdir { // only the default OUT/<name>.db creates its directory
				if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
					return err
				}
			} else if err := checkDBPath(db); err != nil {
				return err
			}
			setModel := func(m lm.Model) {
				for _, st := range studies {
					st.Evaluator.Model = m
					if st.Problem.Model != nil {
						st.Problem.Model = m // the optimizer's own calls (SIMBA's, BEACON's proposals)
					}
				}
			}
			var nconn *natsConn
			if nf.url != "" {
				if nconn, err = connectNATS(nf.url, natsDir(db, cfg.Name), "coordinator "+cfg.Name, c.ErrOrStderr()); err != nil {
					return err
				}
				defer nconn.close()
				// The coordinator's own calls draw on the run's one rate limit.
				limit, err := experiments.SharedLimiter(ctx, nconn.nc, cfg, nf.replicas)
				if err != nil {
					return err
				}
				if limit != nil {
					if model, err = cfg.NewLimitedModel(limit); err != nil {
						return err
					}
					setModel(model)
				}
			}
			s, err := store.Open(ctx, db)
			if err != nil {
				return err
			}
			defer s.Close()
			if cfg.LMCache() {
				setModel(lm.Cached(model, s)) // the cache lives in the store, open only now
			}

			r := &experiments.Runner{Store: s, Resume: resume, Progress: newProgress(c.ErrOrStderr()), Log: c.ErrOrStderr(),
				SingleAgent: single, NoAnalysis: noAnal, Parallel: parallel}
			var dist *experiments.Distribution
			if nconn != nil {
				log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
				d, err := experiments.Distribute(ctx, nconn.nc, cfg, studies, experiments.ClusterOptions{
					Queue: nf.queue, Replicas: nf.replicas, AckWait: nf.ackWait, Logger: log, Cache: s,
				})
				if err != nil {
					return err
				}
				defer d.Close()
				dist = d
				if parallel == 0 {
					parallel = min(len(studies), maxParallel) // the workers share several studies' jobs
				}
				r.Parallel = parallel
				if nf.localWorkers > 0 {
					stop, err := startLocalWorkers(ctx, nconn, nf.queue, nf.localWorkers, c.ErrOrStderr())
					if err != nil {
						return err
					}
					defer stop()
				}
				defer reportQueue(ctx, d.Queue, nf.queue, nf.reportEvery, c.ErrOrStderr())()
			}
			if r.Parallel > 1 {
				r.Progress = &lineProgress{w: c.ErrOrStderr(), every: 10 * time.Second} // bars of several studies would overwrite each other
			}
			if dist != nil {
				r.Progress = dist.Track(r.Progress) // each study's budget, spending and best, for experiment status
			}
			sums, err := r.Run(ctx, studies)
			if cfg.LMCache() {
				// Whether the cache paid off is only known to this process.
				if cs, cerr := s.CacheStats(context.WithoutCancel(ctx)); cerr == nil {
					fmt.Fprintf(c.ErrOrStderr(), "lm cache: %d hits, %d misses in this run (saved $%.4f); %d responses in %s\n",
						cs.Hits, cs.Misses, cs.SavedCost, cs.Entries, db)
				}
			}
			if errors.Is(err, lm.ErrAuth) {
				state := "which is not set"
				if os.Getenv(cfg.APIKeyEnv()) != "" {
					state = "which is set, but not to a key this server accepts"
				}
				err = fmt.Errorf("%w\nthe key is read from the environment variable %s (lm.api_key_env), %s", err, cfg.APIKeyEnv(), state)
			}
			if lm.Retryable(err) {
				err = fmt.Errorf("%w\nevery finished trial is in %s; once the server answers again, continue with: experiment run %s --db %s --resume", err, db, args[0], db)
			}
			if errors.Is(err, experiments.ErrStopped) {
				return fmt.Errorf("%w; every finished trial is in %s. Resume with: experiment run %s --db %s --resume", experiments.ErrStopped, db, args[0], db)
			}
			if err != nil {
				return err
			}
			run := map[string]bool{}
			for _, sm := range sums {
				run[sm.Study] = true
			}
			best, err := experiments.BestTeams(ctx, s, experiments.CompareOptions{Experiment: cfg.Name, All: true})
			if err != nil {
				return err
			}
			best = slices.DeleteFunc(best, func(b experiments.BestTeam) bool { return !run[b.Study] })
			if asJSON {
				return writeJSON(c.OutOrStdout(), map[string]any{"studies": sums, "best_teams": best})
			}
			// With random search among several optimizers, the others are
			// shown against it.
			against := ""
			for _, o := range cfg.Optimizers {
				if (o.Label == "random" || o.Label == "" && o.Name == "random") && len(cfg.Optimizers) > 1 {
					against = "random"
				}
			}
			rows, err := experiments.Compare(ctx, s, experiments.CompareOptions{Experiment: cfg.Name, Against: against})
			if err != nil {
				return err
			}
			if err := printComparison(c.OutOrStdout(), rows, against); err != nil {
				return err
			}
			printBestTeams(c.OutOrStdout(), best)
			fmt.Fprintf(c.OutOrStdout(), "\ntrials are in %s (experiment compare --db %s; schema: docs/schema.md)\n", db, db)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&db, "db", "", "SQLite store file (default OUT/<experiment name>.db)")
	f.StringVar(&out, "out", "out", "directory for the default store and outputs")
	f.BoolVar(&resume, "resume", false, "continue studies already in the store")
	f.StringVar(&newExp, "new-experiment", "", "run the config under this experiment name (after a config change)")
	f.BoolVar(&asJSON, "json", false, "print one JSON document with a summary per study")
	f.BoolVar(&noAnal, "no-analysis", false, "skip the team analytics and the matched baselines of each concluded study (every coalition of the test teams' agents is scored on test: costly with a real model)")
	f.IntVar(&parallel, "parallel", 0, "studies run at once (default 1; with --nats, every study up to 16, so the workers share their jobs)")
	nf.add(c)
	f.BoolVar(&single, "single-agent", false, "also run each study's optimized single agent (the same optimizer and budget over one agent) as a baseline")
	return c
}
