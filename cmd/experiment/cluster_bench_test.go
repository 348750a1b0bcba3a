package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mabeam/mabeam/cluster"
)

// benchConfig writes a grid of random-search studies (one per seed) whose
// calls sleep delay each (lm.delay, which changes no result).
func benchConfig(b *testing.B, dir string, seeds, trials int, delay string) string {
	b.Helper()
	ss := make([]string, seeds)
	for i := range ss {
		ss[i] = strconv.Itoa(i + 1)
	}
	lmLine := "lm: {backend: sim, seed: 3}"
	if delay != "" {
		lmLine = "lm: {backend: sim, seed: 3, delay: " + delay + "}"
	}
	src := fmt.Sprintf(`name: bench
seeds: [%s]
%s
datasets:
  - {name: arith, family: arithmetic, difficulty: 2, train: 8, val: 16, test: 8, metric: numeric}
team:
  agents:
    - id: s1
      model: {choices: [sim-medium, sim-small, sim-large]}
      temperature: {low: 0, high: 1, step: 0.25}
    - id: s2
      model: {choices: [sim-medium, sim-small]}
    - id: c1
      role: critic
      optional: true
      model: sim-medium
  topology: {choices: [mesh, chain, star]}
  rounds: {low: 0, high: 2}
optimizers:
  - name: random
budget:
  trials: %d
workers: 4
`, strings.Join(ss, ", "), lmLine, trials)
	path := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// runCLI runs the CLI in this process and fails on a non-zero exit.
func runCLI(b *testing.B, args ...string) {
	b.Helper()
	var stderr strings.Builder
	if code := run(args, io.Discard, &stderr); code != 0 {
		b.Fatalf("experiment %v: exit %d: %s", args, code, stderr.String())
	}
}

// waitWorkers waits until n workers wait on the queue's consumer.
func waitWorkers(b *testing.B, url string, n int) {
	b.Helper()
	js := jetStream(b, url)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if c, err := js.Consumer(context.Background(), "MABEAM_JOBS_mabeam", "workers"); err == nil {
			if ci, err := c.Info(context.Background()); err == nil && ci.NumWaiting >= n {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("%d workers did not start pulling within a minute", n)
}

// BenchmarkWorkerProcesses: an I/O-bound grid (24 studies, every call 20 ms
// of simulated network time) on 1 and on 3 `experiment worker` processes,
// each of concurrency 4, the coordinator running every study at once, so
// that the workers' slots, not one study's chain of trials, bound the run.
// It reports each run's seconds and the speedup of 3 workers over 1.
func BenchmarkWorkerProcesses(b *testing.B) {
	dir := b.TempDir()
	cfg := benchConfig(b, dir, 24, 3, "20ms")
	runOn := func(workers, i int) time.Duration {
		srv, err := cluster.StartEmbedded(cluster.EmbeddedOptions{Dir: filepath.Join(dir, fmt.Sprintf("nats-%d-%d", workers, i))})
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Shutdown()
		url := srv.ClientURL()
		// The queue exists before the workers start, so they are pulling
		// when the timed run begins.
		q, err := cluster.OpenQueue(context.Background(), jetStream(b, url), "mabeam", cluster.QueueOptions{Group: "warm-up"})
		if err != nil {
			b.Fatal(err)
		}
		q.Close()
		var procs []*proc
		for w := range workers {
			procs = append(procs, startBench(b, "worker", "--nats", url, "--name", "w"+strconv.Itoa(w), "--concurrency", "4"))
		}
		defer func() {
			for _, p := range procs {
				p.cmd.Process.Kill()
				<-p.done
			}
		}()
		waitWorkers(b, url, workers)
		start := time.Now()
		runCLI(b, "run", cfg, "--db", filepath.Join(dir, fmt.Sprintf("w%d-%d.db", workers, i)), "--nats", url, "--no-analysis", "--parallel", "24")
		return time.Since(start)
	}
	var one, three []float64
	i := 0
	for b.Loop() {
		one = append(one, runOn(1, i).Seconds())
		three = append(three, runOn(3, i).Seconds())
		i++
	}
	m1, m3 := median(one), median(three)
	b.ReportMetric(m1, "s-1worker")
	b.ReportMetric(m3, "s-3workers")
	b.ReportMetric(m1/m3, "speedup")
}

// BenchmarkDistributedOverhead: a CPU-bound grid (no simulated network
// time) run locally and with --nats embedded and one in-process worker, at
// the same parallelism (one study at a time, as a local run goes): the
// distributed path's cost as a ratio of wall times.
func BenchmarkDistributedOverhead(b *testing.B) {
	dir := b.TempDir()
	cfg := benchConfig(b, dir, 4, 150, "")
	var local, dist []float64
	i := 0
	for b.Loop() {
		start := time.Now()
		runCLI(b, "run", cfg, "--db", filepath.Join(dir, fmt.Sprintf("local-%d.db", i)), "--no-analysis")
		local = append(local, time.Since(start).Seconds())
		start = time.Now()
		runCLI(b, "run", cfg, "--db", filepath.Join(dir, fmt.Sprintf("dist-%d.db", i)), "--no-analysis", "--nats", "embedded", "--parallel", "1")
		dist = append(dist, time.Since(start).Seconds())
		i++
	}
	ml, md := median(local), median(dist)
	b.ReportMetric(ml, "s-local")
	b.ReportMetric(md, "s-distributed")
	b.ReportMetric(md/ml, "overhead-ratio")
	b.ReportMetric((md-ml)/(4*(150+2))*1e3, "ms-added/job") // 4 studies of 150 trials and 2 test evaluations
}

// startBench starts the CLI as a process for a benchmark.
func startBench(b *testing.B, args ...string) *proc {
	b.Helper()
	p := &proc{cmd: command(context.Background(), "", args...), done: make(chan struct{}), stderr: &syncBuffer{}}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	return p
}

// median of xs (not empty).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}
