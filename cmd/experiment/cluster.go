package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mabeam/mabeam/cluster"
	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
)

// natsFlags are run's flags for a distributed run.
type natsFlags struct {
	url          string
	queue        string
	replicas     int
	localWorkers int
	ackWait      time.Duration
	reportEvery  time.Duration
}

func (n *natsFlags) add(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&n.url, "nats", "", "run the evaluations on workers behind NATS JetStream: a server URL (nats://host:4222, several comma-separated), or 'embedded' for an in-process server (see docs/cluster.md)")
	f.StringVar(&n.queue, "queue", experiments.DefaultQueue, "with --nats: the work queue the workers pull from")
	f.IntVar(&n.replicas, "replicas", 1, "with --nats: copies of the queue's streams (3 in a three-server cluster)")
	f.IntVar(&n.localWorkers, "local-workers", 0, "with --nats: workers to run in this process (default 1 with --nats embedded, 0 otherwise)")
	f.DurationVar(&n.reportEvery, "report-every", 10*time.Second, "with --nats: how often to print the queue's progress")
	f.DurationVar(&n.ackWait, "ack-wait", 0, "with --nats: how long a job may go without its worker's heartbeat before another worker gets it (default 30s)")
}

// check refuses flags that make no sense together.
func (n *natsFlags) check(c *cobra.Command) error {
	if n.url == "" {
		for _, name := range []string{"queue", "replicas", "local-workers", "ack-wait", "report-every"} {
			if c.Flags().Changed(name) {
				return usagef("--%s applies to a distributed run: add --nats URL (or --nats embedded)", name)
			}
		}
		return nil
	}
	if n.replicas < 1 || n.replicas > 5 {
		return usagef("--replicas %d: want 1 to 5", n.replicas)
	}
	if n.reportEvery <= 0 {
		return usagef("--report-every %v: want a positive duration", n.reportEvery)
	}
	if n.ackWait < 0 {
		return usagef("--ack-wait %v: want a positive duration", n.ackWait)
	}
	if n.localWorkers < 0 {
		return usagef("--local-workers %d: want 0 or more", n.localWorkers)
	}
	if !c.Flags().Changed("local-workers") && n.url == "embedded" {
		n.localWorkers = 1 // an embedded server's run needs a worker of its own
	}
	return nil
}

// natsConn is a distributed run's connection to NATS, and its embedded
// server if it started one.
type natsConn struct {
	url   string
	nc    *nats.Conn
	close func()
}

// connectNATS connects to url, or starts an embedded server with its data
// under dir for "embedded".
func connectNATS(url, dir, name string, log io.Writer) (*natsConn, error) {
	var stopServer func()
	if url == "embedded" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		srv, err := cluster.StartEmbedded(cluster.EmbeddedOptions{Dir: dir})
		if err != nil {
			return nil, err
		}
		url, stopServer = srv.ClientURL(), srv.Shutdown
		fmt.Fprintf(log, "nats: embedded JetStream server at %s (data in %s); workers on this machine can join with: experiment worker --nats %s\n", url, dir, url)
	}
	nc, err := cluster.Connect(url, name)
	if err != nil {
		if stopServer != nil {
			stopServer()
		}
		return nil, fmt.Errorf("%w\nis a NATS server with JetStream running there? (docs/cluster.md; --nats embedded starts one in this process)", err)
	}
	return &natsConn{url: url, nc: nc, close: func() {
		nc.Close()
		if stopServer != nil {
			stopServer()
		}
	}}, nil
}

// startLocalWorkers runs n workers in this process on the run's queue; the
// returned function stops them and waits.
func startLocalWorkers(ctx context.Context, n *natsConn, queue string, count int, log io.Writer) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range count {
		nc, err := cluster.Connect(n.url, fmt.Sprintf("local worker %d", i+1))
		if err != nil {
			cancel()
			wg.Wait()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer nc.Close()
			name := fmt.Sprintf("local-%d", i+1)
			if err := experiments.Work(ctx, nc, experiments.WorkerOptions{Queue: queue, Name: name}); err != nil && ctx.Err() == nil {
				fmt.Fprintf(log, "worker %s: %v\n", name, err)
			}
		}()
	}
	return func() { cancel(); wg.Wait() }, nil
}

// reportQueue prints the run's queue statistics every period until ctx
// ends, and once more at the end when any job ran.
func reportQueue(ctx context.Context, q *cluster.Queue, queue string, period time.Duration, w io.Writer) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	last := ""
	paused := false
	print := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		s, err := q.Stats(sctx)
		if err != nil {
			if !paused {
				fmt.Fprintf(w, "queue %s: JetStream does not answer (%v; servers down?): the run pauses until it does\n", queue, err)
				paused = true
			}
			return
		}
		if paused {
			fmt.Fprintf(w, "queue %s: JetStream answers again; the run goes on\n", queue)
			paused = false
		}
		line := queueLine(queue, s)
		if line != last {
			fmt.Fprintln(w, line)
			last = line
		}
	}
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				print()
			}
		}
	}()
	return func() { cancel(); <-done; print() }
}

// queueLine shows a queue's progress on one line: jobs queued, in flight,
// done, redelivered, failed, and done per worker.
func queueLine(queue string, s cluster.Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "queue %s: %d queued, %d in flight, %d done (%d redelivered, %d failed)", queue, s.Queued, s.InFlight, s.Done, s.Redelivered, s.Failed)
	if len(s.PerWorker) > 0 {
		b.WriteString("; per worker:")
		for _, name := range slices.Sorted(maps.Keys(s.PerWorker)) {
			shown := name
			if shown == "" {
				shown = "(lost)"
			}
			fmt.Fprintf(&b, " %s %d", shown, s.PerWorker[name])
		}
	}
	return b.String()
}

func newWorkerCmd() *cobra.Command {
	var (
		url, queue, name string
		concurrency      int
		every            time.Duration
	)
	c := &cobra.Command{
		Use:   "worker --nats URL",
		Short: "Run evaluation jobs of distributed runs (experiment run --nats) until stopped",
		Long: "worker pulls evaluation jobs from a JetStream work queue, compiles each job's config\n" +
			"(published by its run's coordinator, data included: the worker needs no files), runs\n" +
			"the evaluation with the config's model and publishes the report. Workers hold no state\n" +
			"a run needs: start and stop them at any time; a job of a worker that dies goes to\n" +
			"another. Under a real-model backend the API key comes from this machine's environment\n" +
			"(lm.api_key_env), and the run's rate limit is shared with the other workers.\n" +
			"Ctrl-C or SIGTERM stops the worker; its unfinished jobs go to other workers.",
		Example: "  experiment worker --nats nats://10.0.0.5:4222\n" +
			"  experiment worker --nats nats://a:4222,nats://b:4222,nats://c:4222 --concurrency 8",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if url == "" {
				return usagef("--nats URL is required: the NATS server of the runs' coordinator")
			}
			if url == "embedded" {
				return usagef("--nats embedded is for experiment run (its server lives in the run's process); give a worker the URL the run prints")
			}
			if concurrency < 1 {
				return usagef("--concurrency %d: want at least 1", concurrency)
			}
			if name == "" {
				host, _ := os.Hostname()
				name = fmt.Sprintf("%s:%d", host, os.Getpid())
			}
			ctx, cancel := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			nc, err := cluster.Connect(url, "worker "+name)
			if err != nil {
				return fmt.Errorf("%w\nis a NATS server with JetStream running there? (docs/cluster.md)", err)
			}
			defer nc.Close()
			var done, failed atomic.Int64
			log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			fmt.Fprintf(c.ErrOrStderr(), "worker %s: pulling jobs from queue %s at %s, %d at a time\n", name, queue, url, concurrency)
			tick := time.NewTicker(every)
			defer tick.Stop()
			go func() {
				var last int64 = -1
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
						if n := done.Load(); n != last {
							fmt.Fprintf(c.ErrOrStderr(), "worker %s: %d jobs done, %d failed\n", name, n, failed.Load())
							last = n
						}
					}
				}
			}()
			err = experiments.Work(ctx, nc, experiments.WorkerOptions{Queue: queue, Name: name, Concurrency: concurrency, Logger: log,
				OnJob: func(_ string, err error) {
					done.Add(1)
					if err != nil {
						failed.Add(1)
					}
				}})
			if ctx.Err() != nil {
				fmt.Fprintf(c.ErrOrStderr(), "worker %s: stopped after %d jobs (%d failed)\n", name, done.Load(), failed.Load())
				return nil
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&url, "nats", "", "the NATS server URL (several comma-separated)")
	f.StringVar(&queue, "queue", experiments.DefaultQueue, "the work queue to pull from (the run's --queue)")
	f.StringVar(&name, "name", "", "this worker's name in the run's statistics (default host:pid)")
	f.IntVar(&concurrency, "concurrency", experiments.DefaultWorkerConcurrency, "jobs (evaluations) at once")
	f.DurationVar(&every, "report-every", 10*time.Second, "how often to print the jobs done")
	return c
}

// natsDir is where --nats embedded keeps its data: beside the store.
func natsDir(db, name string) string { return filepath.Join(filepath.Dir(db), name+".nats") }

// maxParallel bounds the studies a distributed run runs at once by
// default.
const maxParallel = 16

func newStatusCmd() *cobra.Command {
	var (
		url, queue string
		asJSON     bool
	)
	c := &cobra.Command{
		Use:   "status --nats URL",
		Short: "Show the distributed studies behind a NATS server: budget, spending, best so far",
		Long: "status reads what distributed runs (experiment run --nats) share in JetStream, from any\n" +
			"machine: each study's budget, what it has spent, its best validation value so far and\n" +
			"whether it is done (updated after every trial), and the work queue's jobs queued and in\n" +
			"flight.",
		Example: "  experiment status --nats nats://10.0.0.5:4222\n" +
			"  experiment status --nats nats://10.0.0.5:4222 --json",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if url == "" || url == "embedded" {
				return usagef("--nats URL is required: the NATS server of the runs (an embedded one's URL is printed by its run)")
			}
			nc, err := cluster.Connect(url, "status")
			if err != nil {
				return fmt.Errorf("%w\nis a NATS server with JetStream running there? (docs/cluster.md)", err)
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(c.Context(), 30*time.Second)
			defer cancel()
			states, err := experiments.StudyStates(ctx, nc)
			if err != nil {
				return err
			}
			q, err := cluster.QueueState(ctx, nc, queue)
			if err != nil {
				return err
			}
			if asJSON {
				if states == nil {
					states = []experiments.StudyState{}
				}
				return writeJSON(c.OutOrStdout(), map[string]any{"studies": states, "queue": q})
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "queue %s: %d queued, %d in flight, %d workers waiting for jobs\n", queue, q.Queued, q.InFlight, q.Workers)
			if len(states) == 0 {
				fmt.Fprintln(w, "no distributed study has shared its state here")
				return nil
			}
			for _, st := range states {
				best := "-"
				if st.Best != nil {
					best = fmt.Sprintf("%.4f (trial %d)", *st.Best, derefInt(st.BestTrial))
				}
				fmt.Fprintf(w, "%s: %s, %d trials, %d calls, $%.4f of %s; best val %s; updated %s\n",
					st.Study, st.Status, st.Spent.Trials, st.Spent.Calls, st.Spent.Cost,
					budgetString(optimizerBudget(st.Budget)), best, st.Updated.Format(time.RFC3339))
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&url, "nats", "", "the NATS server URL (several comma-separated)")
	f.StringVar(&queue, "queue", experiments.DefaultQueue, "the work queue to report on")
	f.BoolVar(&asJSON, "json", false, "print one JSON document")
	return c
}

func derefInt(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

func optimizerBudget(a experiments.Amounts) optimizer.Budget {
	return optimizer.Budget{Trials: a.Trials, Calls: a.Calls, Cost: a.Cost}
}
