// Package cluster holds the building blocks for spreading a run over NATS
// JetStream: an embedded server for one machine (StartEmbedded), a work
// queue of jobs with workers, shared variables in a replicated key-value
// bucket, and coordination rounds between processes. `experiment run
// --nats` and `experiment worker` are built on them (experiments.Distribute
// and experiments.Work); docs/cluster.md says how to run a cluster.
//
// # Work queue
//
// A run's evaluations go through a work queue. OpenQueue (on the
// coordinator) creates, or reopens, the queue for a run: a JetStream
// work-queue stream of jobs that all workers share through one durable
// consumer, and a stream of results. Submit publishes a job under its ID,
// so a job submitted again, for example by a coordinator that restarts,
// runs once. Await returns each job's first result; later duplicates from a
// job finished twice are dropped and counted in Stats. Work (on any number
// of machines, joining or leaving at any time) pulls only as many jobs as it
// has free slots. It heartbeats while a handler runs, so long jobs are not
// redelivered, and publishes the result before acknowledging the job. A
// worker that dies leaves its job to another after AckWait. A failing job is
// retried up to MaxDeliver times and then reported as a failure with its
// reason, as is a job whose deliveries ended without a result MaxLost
// times (its workers died; reported by the worker that gets its next
// delivery, without running it: no coordinator need be up). A worker that
// cannot publish a result while JetStream has no quorum keeps trying,
// heartbeating the job, so an outage costs a running job a delivery or
// two at most.
//
// # Studies on workers
//
// Evaluator is a study's program evaluator on the coordinator: each
// evaluation becomes a job (EvalJob: the study, the program, the example
// ids and the options, its id a hash of them, so a repeated evaluation is
// answered once), and the report comes back from a worker running
// EvalHandler with the same study's own evaluator; a study on workers
// finds the trials it finds locally.
//
// # The LM cache on workers
//
// The coordinator owns the run's LM cache (an lm.Cache, e.g. the store)
// and serves it with ServeCache on a subject; workers use a RemoteCache on
// the same subject behind lm.Cached, so an answer paid for once, by any
// process, is not paid for again, and a distributed run makes the model
// calls a local one makes. Gets and puts are NATS requests on SUBJECT.get
// and SUBJECT.put, answered concurrently (up to 64 at once) by one queue
// group. The cache is an optimisation: a worker that finds no coordinator
// (no responders, or no reply within its timeout) treats a get as a miss
// and skips the put, counting both in Stats; an error of the coordinator's
// cache is an error. Messages above the server's max payload are not sent,
// and counted.
//
// # One rate limit
//
// Limiter is a requests- and tokens-per-minute limit whose state lives in
// a Shared key, so every process of a run (the coordinator and each
// worker's openai client, through openai.Options.Limiter) draws on one
// allowance: a distributed run is limited as a local one is.
//
// # Shared variables and coordination
//
// Shared variables live in a replicated key-value bucket (OpenShared).
// Update is a compare-and-set loop on the revision, so concurrent processes
// lose no update and, with writes resent under their message id, apply none
// twice; Spend keeps a budget from going below zero and OfferBest keeps a
// best-so-far that does not depend on arrival order. A team variable marked
// shared is settled by Resolve with a coordination.Resolver, proposals in
// trial order, each resolution recorded in the stream BUCKET_RESOLUTIONS.
// Round holds a coordination round over request-reply: agents (Serve) bid,
// bids after the deadline are ignored, and the decision, the coordination
// package's for the bids in agent-id order, is published on
// SUBJECT.decision. StartCluster runs a JetStream cluster in-process for
// tests.
package cluster
