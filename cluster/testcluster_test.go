package cluster

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// streamLeader returns the index of the server leading stream, waiting
// up to 10s for one.
func streamLeader(t *testing.T, c *Cluster, stream string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i := range c.Len() {
			if s := c.Server(i); s != nil && s.JetStreamIsStreamLeader("$G", stream) {
				return i
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no leader for stream %s within 10s", stream)
	return -1
}

// waitCurrent waits up to 10s until server i has caught up on stream.
func waitCurrent(t *testing.T, c *Cluster, i int, stream string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s := c.Server(i); s != nil && s.JetStreamIsStreamCurrent("$G", stream) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server %d did not catch up on stream %s within 10s", i, stream)
}

func startCluster(t *testing.T, n int) *Cluster {
	t.Helper()
	c, err := StartCluster(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	if got := len(strings.Split(c.URLs(), ",")); got != n {
		t.Fatalf("URLs %q: %d URLs for %d servers", c.URLs(), got, n)
	}
	return c
}

// With one of three servers stopped, the bucket's stream leader, a
// replicas-3 bucket keeps working: four updaters incrementing a counter
// through the election lose no increment and apply none twice (a clean
// stop hands leadership over, so messages are rarely lost here;
// TestClusterLostMessages loses them on purpose). The
// server rejoins after Restart, catches up, and holds the value: with
// another server stopped in its place, the value is still there.
func TestClusterStopOne(t *testing.T) {
	c := startCluster(t, 3)
	s := openShared(t, c.URLs(), "run", 3)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if _, err := s.Update(ctx, "n", increment); err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 25
	var wg sync.WaitGroup
	var mid sync.WaitGroup // half the increments are done
	mid.Add(workers)
	for w := range workers {
		u := openShared(t, c.URLs(), "run", 3)
		wg.Go(func() {
			half := false
			defer func() {
				if !half {
					mid.Done()
				}
			}()
			for i := range each {
				if i == each/2 {
					half = true
					mid.Done()
				}
				if _, err := u.Update(ctx, "n", increment); err != nil {
					t.Errorf("updater %d, increment %d: %v", w, i, err)
					return
				}
			}
		})
	}
	mid.Wait()
	leader := streamLeader(t, c, "KV_run")
	c.Stop(leader)
	wg.Wait()
	if t.Failed() {
		return
	}
	want := 1 + workers*each
	if n := counter(t, s, "n"); n != want {
		t.Fatalf("counter = %d after %d increments across the failover", n, want)
	}

	if err := c.Restart(leader); err != nil {
		t.Fatal(err)
	}
	waitCurrent(t, c, leader, "KV_run")
	other := (leader + 1) % 3
	c.Stop(other)
	e, err := s.Update(ctx, "n", increment)
	if err != nil || string(e.Value) != strconv.Itoa(want+1) {
		t.Fatalf("with the restarted server and one other: %q, %v; want %d", e.Value, err, want+1)
	}
	if n := counter(t, s, "n"); n != want+1 {
		t.Errorf("Get = %d, want %d", n, want+1)
	}
}

// With two of three servers stopped the bucket has no quorum: Update
// fails with ErrUnavailable once its context ends, and works again once
// one server is back.
func TestClusterStopTwo(t *testing.T) {
	c := startCluster(t, 3)
	s := openShared(t, c.URLs(), "run", 3)
	if _, err := s.Update(t.Context(), "n", increment); err != nil {
		t.Fatal(err)
	}
	c.Stop(1)
	c.Stop(2)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.Update(ctx, "n", increment)
	elapsed := time.Since(start)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no quorum") {
		t.Fatalf("Update without a quorum: %v; want ErrUnavailable at the deadline", err)
	}
	if elapsed > 4*time.Second {
		t.Errorf("Update without a quorum took %v with a 3s context", elapsed)
	}
	t.Log(err)

	if err := c.Restart(1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	e, err := s.Update(ctx, "n", increment)
	if err != nil {
		t.Fatalf("Update after a server is back: %v", err)
	}
	// The refused write may still land: it may have reached a leader that
	// kept it and committed it once the quorum was back.
	if n, _ := strconv.Atoi(string(e.Value)); n != 2 && n != 3 {
		t.Errorf("counter = %s, want 2 (or 3)", e.Value)
	}
}

// Lost requests and acknowledgements on a replicas-3 bucket, where
// JetStream detects a resent write as a duplicate before it checks its
// revision (a single server checks the revision first).
func TestClusterLostMessages(t *testing.T) {
	c := startCluster(t, 3)
	testLostMessages(t, c.URLs(), 3)
}

func TestStartClusterErrors(t *testing.T) {
	if _, err := StartCluster("", 3); err == nil {
		t.Error("a cluster without a directory started")
	}
	if _, err := StartCluster(t.TempDir(), 0); err == nil {
		t.Error("a cluster of 0 servers started")
	}
}
