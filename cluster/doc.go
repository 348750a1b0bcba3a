// Package cluster spreads a run over NATS JetStream: an embedded server
// for one machine (StartEmbedded), and, as the cluster issue lands, the
// work queue of evaluation jobs, workers, and shared variables in a
// replicated key-value bucket.
package cluster
