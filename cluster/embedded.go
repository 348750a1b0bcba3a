package cluster

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedOptions configures an in-process NATS server.
type EmbeddedOptions struct {
	// Dir holds JetStream's data; required.
	Dir string
	// Port is the client port on 127.0.0.1; 0 picks a free one.
	Port int
	// Name names the server; "" means "mabeam".
	Name string
	// MaxPayload bounds a message; 0 means DefaultMaxPayload.
	MaxPayload int32
}

// DefaultMaxPayload is an embedded server's message limit: 8 MiB, room for
// a large batch's report with its call records (a separate server's
// default is 1 MiB; docs/cluster.md shows how to raise it).
const DefaultMaxPayload = 8 << 20

// StartEmbedded starts an in-process NATS server with JetStream on
// loopback (`--nats embedded`, and the tests): the same code path as a
// separate server. Stop it with Shutdown; its client URL is ClientURL().
func StartEmbedded(o EmbeddedOptions) (*server.Server, error) {
	if o.Dir == "" {
		return nil, fmt.Errorf("cluster: an embedded server needs a data directory")
	}
	port := o.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	name := o.Name
	if name == "" {
		name = "mabeam"
	}
	maxPayload := o.MaxPayload
	if maxPayload == 0 {
		maxPayload = DefaultMaxPayload
	}
	s, err := server.NewServer(&server.Options{
		ServerName: name, Host: "127.0.0.1", Port: port, MaxPayload: maxPayload,
		JetStream: true, StoreDir: o.Dir, NoSigs: true, NoLog: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: embedded server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("cluster: the embedded server was not ready within 10s")
	}
	return s, nil
}

// Connect connects to the NATS server at url with the options a run's
// processes share: a name, and reconnection forever (a server that
// restarts is waited for).
func Connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("cluster: connecting to %s: %w", url, err)
	}
	return nc, nil
}
