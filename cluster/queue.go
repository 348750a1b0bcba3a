package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Job is one unit of work: its ID names it within the queue, and its
// payload is opaque to the queue.
type Job struct {
	// ID identifies the job within its queue ("study/trial/shard"); it is
	// the message's Nats-Msg-Id, so a job submitted twice runs once. It
	// must not be empty nor contain a line break.
	ID string
	// Payload is what the handler gets; nil is an empty payload.
	Payload []byte
}

// Result is what a worker made of a job.
type Result struct {
	// ID is the job's.
	ID string `json:"id"`
	// Payload is the handler's output; nil for a failure.
	Payload []byte `json:"payload,omitempty"`
	// Err is the reason of a failure, "" for a success: the handler's
	// error on the last delivery, or a note that every delivery was lost.
	Err string `json:"err,omitempty"`
	// Attempts is the delivery this result came from, 1 for the first.
	Attempts int `json:"attempts"`
	// Worker names the worker that produced the result; "" when the queue
	// itself gave up on the job (every delivery was lost).
	Worker string `json:"worker,omitempty"`
}

// QueueOptions configures a queue; the zero value is the defaults. The
// coordinator's options win: opening a queue updates an existing one.
type QueueOptions struct {
	// AckWait is how long a delivered job may go without news from its
	// worker (a result or a heartbeat) before it is delivered again; 0
	// means 30s. Workers heartbeat every AckWait/3.
	AckWait time.Duration
	// MaxLost is how many deliveries of a job may end without a result
	// (its worker died, or lost the server while it ran) before the job
	// fails; at least MaxDeliver, 0 means 10. A server outage can cost a
	// running job a delivery or two; a job that kills its worker each time
	// costs one a worker.
	MaxLost int
	// MaxDeliver is how many times a job is delivered before it fails; 0
	// means 3.
	MaxDeliver int
	// Duplicates is how long a submitted job's ID is remembered by the
	// server, so that submitting it again does nothing even before it has
	// a result; 0 means an hour. (A job with a result is never submitted
	// again by a queue that has read it.)
	Duplicates time.Duration
	// Replicas is the streams' replication factor in a NATS cluster; 0
	// means 1.
	Replicas int
	// Group names the jobs this queue submits and the only results it
	// reads: a run's coordinator reads its own results, not every result
	// the queue's other runs left in the stream. "" is a group too.
	Group string
	// KeepResults is how long the results stream keeps a result, so a
	// coordinator that restarts within it finds its jobs done; 0 means
	// seven days. (The coordinator's store keeps what it has read.)
	KeepResults time.Duration
	// Logger receives what the queue cannot return (an unreadable result);
	// nil means slog.Default().
	Logger *slog.Logger
}

// Queue is the coordinator's side of a work queue: it submits jobs and
// reads their results. Its methods are safe for concurrent use.
type Queue struct {
	js         jetstream.JetStream
	name       string
	group      string
	maxDeliver int
	maxLost    int
	jobs       jetstream.Stream
	cons       jetstream.Consumer
	reader     jetstream.ConsumeContext
	log        *slog.Logger

	mu          sync.Mutex // protects the following fields
	results     map[string]Result
	changed     chan struct{} // closed, and replaced, when a result is read
	read        uint64        // the last results-stream sequence read
	failed      int
	redelivered int
	duplicates  int
	perWorker   map[string]int
}

// Stats is a queue's progress.
type Stats struct {
	// Queued counts the jobs not yet delivered to a worker.
	Queued int
	// InFlight counts the jobs delivered and not yet finished: running, or
	// waiting to be retried.
	InFlight int
	// Done counts the jobs with a result, failures included.
	Done int
	// Failed counts the jobs whose result is a failure.
	Failed int
	// Redelivered counts the jobs whose result came from a later delivery
	// than the first.
	Redelivered int
	// Duplicates counts the results dropped because their job already had
	// one (a job delivered again and finished twice).
	Duplicates int
	// PerWorker counts the results by worker name (a failure the queue
	// gave up on counts under "").
	PerWorker map[string]int
}

// consumerName names the durable consumer all workers share.
const consumerName = "workers"

// defaultMaxDeliver is QueueOptions.MaxDeliver unless set.
const defaultMaxDeliver = 3

// maxDeliverHeader carries QueueOptions.MaxDeliver with each job.
const maxDeliverHeader = "Mabeam-Max-Deliver"

// defaultMaxLost is QueueOptions.MaxLost unless set.
const defaultMaxLost = 10

// maxLostHeader carries QueueOptions.MaxLost with each job.
const maxLostHeader = "Mabeam-Max-Lost"

// A queue called name is a work-queue stream of jobs, which its workers
// share through one consumer, and a stream of results.
func jobsStream(name string) string    { return "MABEAM_JOBS_" + name }
func resultsStream(name string) string { return "MABEAM_RESULTS_" + name }
func jobsSubject(name string) string   { return "mabeam.queue." + name + ".jobs" }
func resultsSubject(name, group string) string {
	return "mabeam.queue." + name + ".results." + groupToken(group)
}

// groupHeader carries a job's group (QueueOptions.Group) to its worker.
const groupHeader = "Mabeam-Group"

// groupToken is the subject token of a group: a hash, since a group name
// may hold characters a subject cannot; "_" for no group.
func groupToken(group string) string {
	if group == "" {
		return "_"
	}
	sum := sha256.Sum256([]byte(group))
	return hex.EncodeToString(sum[:8])
}

// checkName reports whether name can name a queue: it is part of stream
// names and subjects.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("cluster: a queue needs a name")
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("cluster: queue name %q: only letters, digits, '-' and '_' are allowed", name)
		}
	}
	return nil
}

// OpenQueue creates the queue called name (its jobs stream, the workers'
// consumer, its results stream), or binds to it and updates its settings,
// and reads the results it already holds before returning, so a
// coordinator that restarts knows what is done. Close it when done.
func OpenQueue(ctx context.Context, js jetstream.JetStream, name string, o QueueOptions) (*Queue, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if o.AckWait == 0 {
		o.AckWait = 30 * time.Second
	}
	if o.MaxDeliver == 0 {
		o.MaxDeliver = defaultMaxDeliver
	}
	if o.Duplicates == 0 {
		o.Duplicates = time.Hour
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.KeepResults == 0 {
		o.KeepResults = 7 * 24 * time.Hour
	}
	if o.MaxLost < 0 {
		return nil, fmt.Errorf("cluster: queue %s: negative MaxLost %d", name, o.MaxLost)
	}
	if o.MaxLost == 0 {
		o.MaxLost = defaultMaxLost
	}
	o.MaxLost = max(o.MaxLost, o.MaxDeliver)
	if o.AckWait < 0 || o.MaxDeliver < 0 || o.Duplicates < 0 || o.Replicas < 0 || o.KeepResults < 0 {
		return nil, fmt.Errorf("cluster: queue %s: negative options %+v", name, o)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	// Each step is retried while the cluster cannot serve it: a stream
	// whose replicas just changed has no leader for a moment.
	var jobs, res jetstream.Stream
	var cons jetstream.Consumer
	err := retry(ctx, func(ctx context.Context) (err error) {
		jobs, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: jobsStream(name), Subjects: []string{jobsSubject(name)},
			Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
			Replicas: o.Replicas, Duplicates: o.Duplicates,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: queue %s: the jobs stream: %w", name, err)
	}
	err = retry(ctx, func(ctx context.Context) (err error) {
		cons, err = js.CreateOrUpdateConsumer(ctx, jobsStream(name), jetstream.ConsumerConfig{
			Durable: consumerName, AckPolicy: jetstream.AckExplicitPolicy,
			// The server delivers a job until a worker settles it; the worker
			// that gets a delivery past the job's MaxDeliver (maxDeliverHeader)
			// reports the job lost (its workers died each time), so no job is
			// left undelivered and unreported even while its coordinator is down.
			AckWait: o.AckWait, MaxDeliver: -1,
			// Workers pull only what they can start, so the server need not cap it.
			MaxAckPending: -1,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: queue %s: the workers' consumer: %w", name, err)
	}
	err = retry(ctx, func(ctx context.Context) (err error) {
		res, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: resultsStream(name), Subjects: []string{"mabeam.queue." + name + ".results.*"},
			Storage: jetstream.FileStorage, Replicas: o.Replicas, MaxAge: o.KeepResults,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: queue %s: the results stream: %w", name, err)
	}
	q := &Queue{
		js: js, name: name, group: o.Group, maxDeliver: o.MaxDeliver, maxLost: o.MaxLost, jobs: jobs, cons: cons, log: o.Logger,
		results: map[string]Result{}, changed: make(chan struct{}), perWorker: map[string]int{},
	}
	var last uint64 // the group's results to read before returning
	err = retry(ctx, func(ctx context.Context) error {
		m, err := res.GetLastMsgForSubject(ctx, resultsSubject(name, o.Group))
		if err == nil {
			last = m.Sequence
		}
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: queue %s: its results: %w", name, err)
	}
	if err := q.startReader(ctx); err != nil {
		return nil, err
	}
	if err := q.waitRead(ctx, last); err != nil {
		q.Close()
		return nil, fmt.Errorf("cluster: queue %s: reading its results: %w", name, err)
	}
	return q, nil
}

// startReader follows the results stream from its start.
func (q *Queue) startReader(ctx context.Context) error {
	c, err := q.js.OrderedConsumer(ctx, resultsStream(q.name), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{resultsSubject(q.name, q.group)},
	})
	if err != nil {
		return fmt.Errorf("cluster: queue %s: reading results: %w", q.name, err)
	}
	q.reader, err = c.Consume(q.onResult)
	if err != nil {
		return fmt.Errorf("cluster: queue %s: reading results: %w", q.name, err)
	}
	return nil
}

// waitRead waits until the reader has read the results stream up to seq.
func (q *Queue) waitRead(ctx context.Context, seq uint64) error {
	for {
		q.mu.Lock()
		read, changed := q.read, q.changed
		q.mu.Unlock()
		if read >= seq {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// onResult records the first result of each job.
func (q *Queue) onResult(m jetstream.Msg) {
	var r Result
	if err := json.Unmarshal(m.Data(), &r); err != nil || r.ID == "" {
		q.log.Warn("cluster: an unreadable result", "queue", q.name, "err", err)
		r = Result{}
	}
	md, err := m.Metadata()
	q.mu.Lock()
	defer q.mu.Unlock()
	if err == nil {
		q.read = md.Sequence.Stream
	}
	if r.ID != "" {
		q.add(r)
	}
	close(q.changed)
	q.changed = make(chan struct{})
}

// add records r unless its job already has a result. q.mu is held.
func (q *Queue) add(r Result) {
	if _, ok := q.results[r.ID]; ok {
		q.duplicates++
		return
	}
	q.results[r.ID] = r
	q.perWorker[r.Worker]++
	if r.Err != "" {
		q.failed++
	}
	if r.Attempts > 1 {
		q.redelivered++
	}
}

// publishResult adds r to the results of group in the queue called name.
func publishResult(ctx context.Context, js jetstream.JetStream, name, group string, r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = js.Publish(ctx, resultsSubject(name, group), b, jetstream.WithExpectStream(resultsStream(name)))
	return err
}

// Close stops reading results; the queue's streams stay on the server.
func (q *Queue) Close() {
	q.reader.Stop()
}

// Submit queues j, unless it has a result already or was submitted within
// QueueOptions.Duplicates: submitting a job again (a coordinator that
// restarts) does not run it again. While JetStream cannot take it (no
// leader, a lost quorum, no server), Submit waits, logging the pause and
// the recovery, until ctx ends.
func (q *Queue) Submit(ctx context.Context, j Job) error {
	if j.ID == "" || strings.ContainsAny(j.ID, "\r\n") {
		return fmt.Errorf("cluster: queue %s: job ID %q: empty or with a line break", q.name, j.ID)
	}
	q.mu.Lock()
	_, done := q.results[j.ID]
	q.mu.Unlock()
	if done {
		return nil
	}
	m := &nats.Msg{Subject: jobsSubject(q.name), Data: j.Payload, Header: nats.Header{}}
	m.Header.Set(groupHeader, q.group)
	m.Header.Set(maxDeliverHeader, strconv.Itoa(q.maxDeliver))
	m.Header.Set(maxLostHeader, strconv.Itoa(q.maxLost))
	// While there is no leader or no quorum (servers down), wait for the
	// cluster as long as ctx lets us; the job's ID keeps a resend from
	// running twice.
	var since time.Time // when JetStream stopped taking jobs
	err := keepTrying(ctx, 0, func() error {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		defer cancel()
		_, err := q.js.PublishMsg(actx, m, jetstream.WithMsgID(j.ID), jetstream.WithExpectStream(jobsStream(q.name)))
		return err
	}, func(err error) {
		since = time.Now()
		q.log.Warn("cluster: JetStream cannot take jobs (no leader or no quorum: servers down?); the run pauses until it can", "queue", q.name, "err", err)
	})
	if err != nil {
		return fmt.Errorf("cluster: queue %s: submitting job %s: %w", q.name, j.ID, err)
	}
	if !since.IsZero() {
		q.log.Info("cluster: JetStream takes jobs again; the run goes on", "queue", q.name, "paused", time.Since(since).Round(time.Millisecond))
	}
	return nil
}

// Await waits for the results of the jobs ids and returns them by ID:
// each job's first result, a later one being dropped. When ctx ends
// first it returns the results it has, and ctx's error.
func (q *Queue) Await(ctx context.Context, ids []string) (map[string]Result, error) {
	got := make(map[string]Result, len(ids))
	missing := slices.Clone(ids)
	for {
		q.mu.Lock()
		missing = slices.DeleteFunc(missing, func(id string) bool {
			r, ok := q.results[id]
			if ok {
				got[id] = r
			}
			return ok
		})
		changed := q.changed
		q.mu.Unlock()
		if len(missing) == 0 {
			return got, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return got, ctx.Err()
		}
	}
}

// Stats returns the queue's progress: the server's counts of queued and
// in-flight jobs, and the counts of the results read so far.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	ci, err := q.cons.Info(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("cluster: queue %s: stats: %w", q.name, err)
	}
	c := countsOf(ci)
	q.mu.Lock()
	defer q.mu.Unlock()
	return Stats{
		Queued: c.Queued, InFlight: c.InFlight,
		Done: len(q.results), Failed: q.failed, Redelivered: q.redelivered,
		Duplicates: q.duplicates, PerWorker: maps.Clone(q.perWorker),
	}, nil
}

// QueueCounts are a queue's jobs as its server counts them, for every run
// that uses it.
type QueueCounts struct {
	Queued   int `json:"queued"`    // not yet delivered to a worker
	InFlight int `json:"in_flight"` // delivered and not yet finished
	Workers  int `json:"waiting_workers"`
}

// QueueState reads the counts of the queue called name without opening it
// (no results are read); a queue no run has opened has none.
func QueueState(ctx context.Context, nc *nats.Conn, name string) (QueueCounts, error) {
	if err := checkName(name); err != nil {
		return QueueCounts{}, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return QueueCounts{}, fmt.Errorf("cluster: queue %s: %w", name, err)
	}
	c, err := js.Consumer(ctx, jobsStream(name), consumerName)
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrConsumerNotFound) {
		return QueueCounts{}, nil
	}
	if err != nil {
		return QueueCounts{}, fmt.Errorf("cluster: queue %s: %w", name, err)
	}
	ci, err := c.Info(ctx)
	if err != nil {
		return QueueCounts{}, fmt.Errorf("cluster: queue %s: %w", name, err)
	}
	return countsOf(ci), nil
}

// countsOf reads a queue's counts from its workers' consumer.
func countsOf(ci *jetstream.ConsumerInfo) QueueCounts {
	return QueueCounts{Queued: int(ci.NumPending), InFlight: ci.NumAckPending, Workers: ci.NumWaiting}
}
