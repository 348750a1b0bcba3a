package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// TestClusterName is the cluster name of the servers StartCluster starts.
const TestClusterName = "mabeam-test"

// clusterWait bounds how long StartCluster and Restart wait for the
// cluster to form or to elect a JetStream meta leader.
const clusterWait = 20 * time.Second

// Cluster is a JetStream cluster of in-process servers on loopback, for
// tests that need replication and failures (a server stopped, restarted).
// Its methods are safe for concurrent use.
type Cluster struct {
	ops     sync.Mutex // serializes Stop, Restart and Shutdown
	mu      sync.Mutex // protects servers
	opts    []*server.Options
	servers []*server.Server // nil for a stopped server
}

// StartCluster starts n in-process JetStream servers on loopback, each
// with its store under dir (dir/s0, dir/s1, ...), routed to one another
// as the cluster TestClusterName, and returns once every server is routed
// to the others and JetStream has a meta leader that sees all n peers.
// The ports are fixed for the cluster's lifetime, so a restarted server
// comes back at its address. Stop it with Shutdown.
func StartCluster(dir string, n int) (*Cluster, error) {
	if dir == "" {
		return nil, errors.New("cluster: a test cluster needs a data directory")
	}
	if n < 1 {
		return nil, fmt.Errorf("cluster: a test cluster needs at least 1 server, not %d", n)
	}
	fresh := make([]bool, n) // stores this call creates, removed if it fails
	for i := range n {
		_, err := os.Stat(filepath.Join(dir, "s"+strconv.Itoa(i)))
		fresh[i] = errors.Is(err, fs.ErrNotExist)
	}
	var err error
	for range 3 { // a port reserved and released may be taken by another process meanwhile
		var c *Cluster
		if c, err = launch(dir, n); err == nil {
			return c, nil
		}
		for i := range n {
			if fresh[i] {
				os.RemoveAll(filepath.Join(dir, "s"+strconv.Itoa(i)))
			}
		}
	}
	return nil, err
}

func launch(dir string, n int) (*Cluster, error) {
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	routes := make([]string, n)
	for i := range n {
		routes[i] = "nats-route://127.0.0.1:" + strconv.Itoa(ports[n+i])
	}
	c := &Cluster{opts: make([]*server.Options, n), servers: make([]*server.Server, n)}
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("mabeam-test-%d", i),
			Host:       "127.0.0.1",
			Port:       ports[i],
			JetStream:  true,
			StoreDir:   filepath.Join(dir, "s"+strconv.Itoa(i)),
			NoSigs:     true,
			NoLog:      true,
			Cluster:    server.ClusterOpts{Name: TestClusterName, Host: "127.0.0.1", Port: ports[n+i]},
		}
		if n > 1 {
			o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		}
		c.opts[i] = o
	}
	for i := range n {
		s, err := startServer(c.opts[i])
		if err != nil {
			c.Shutdown()
			return nil, fmt.Errorf("cluster: starting server %d: %w", i, err)
		}
		c.servers[i] = s
	}
	if err := c.waitFormed(); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

// freePorts reserves k distinct loopback ports by listening on them at
// once, then releases them for the servers to take.
func freePorts(k int) ([]int, error) {
	ports := make([]int, 0, k)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range k {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cluster: reserving a port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func startServer(o *server.Options) (*server.Server, error) {
	s, err := server.NewServer(o)
	if err != nil {
		return nil, err
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("not ready for connections within 5s (port %d or %d taken?)", o.Port, o.Cluster.Port)
	}
	return s, nil
}

// running returns the servers that are up.
func (c *Cluster) running() []*server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	var up []*server.Server
	for _, s := range c.servers {
		if s != nil {
			up = append(up, s)
		}
	}
	return up
}

// waitFormed waits until the running servers are routed to one another
// and, if they are a majority, until one of them is the JetStream meta
// leader, sees every running server as a peer, and all are current.
func (c *Cluster) waitFormed() error {
	deadline := time.Now().Add(clusterWait)
	for {
		up := c.running()
		ok := true
		for _, s := range up {
			if s.NumRoutes() < len(up)-1 {
				ok = false
			}
		}
		if ok && 2*len(up) > len(c.opts) {
			ok = false
			for _, s := range up {
				if s.JetStreamIsLeader() && len(s.JetStreamClusterPeers()) >= len(up) {
					ok = true
				}
			}
			for _, s := range up {
				ok = ok && s.JetStreamIsCurrent()
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: the test cluster did not form (routes, JetStream meta leader) within %v", clusterWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// URLs returns the client URLs of all the servers, stopped ones included,
// comma-separated for nats.Connect (or Connect): a client reconnects to
// whichever is up.
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.opts))
	for i, o := range c.opts {
		urls[i] = (&url.URL{Scheme: "nats", Host: net.JoinHostPort(o.Host, strconv.Itoa(o.Port))}).String()
	}
	return strings.Join(urls, ",")
}

// Len returns the number of servers, running or stopped.
func (c *Cluster) Len() int { return len(c.opts) }

// Server returns server i, or nil if it is stopped.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.servers[i]
}

// Stop shuts server i down (its store is kept) and waits until it is
// down. Stopping a stopped server does nothing.
func (c *Cluster) Stop(i int) {
	c.ops.Lock()
	defer c.ops.Unlock()
	c.stop(i)
}

func (c *Cluster) stop(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.servers[i] = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// Restart starts the stopped server i again on its ports and store, and
// waits until it is routed to the running servers and, if the running
// servers are a majority, until JetStream has a meta leader again and
// every running server is current. Restarting a running server does
// nothing.
func (c *Cluster) Restart(i int) error {
	c.ops.Lock()
	defer c.ops.Unlock()
	c.mu.Lock()
	if c.servers[i] != nil {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	s, err := startServer(c.opts[i])
	if err != nil {
		return fmt.Errorf("cluster: restarting server %d: %w", i, err)
	}
	c.mu.Lock()
	c.servers[i] = s
	c.mu.Unlock()
	return c.waitFormed()
}

// Shutdown stops every running server.
func (c *Cluster) Shutdown() {
	c.ops.Lock()
	defer c.ops.Unlock()
	for i := range c.opts {
		c.stop(i)
	}
}
