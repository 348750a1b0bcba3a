package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// WorkerOptions configures a worker; the zero value is the defaults.
type WorkerOptions struct {
	// Concurrency is how many jobs run at once; 0 means 1.
	Concurrency int
	// Name names the worker in its results; "" means host:pid.
	Name string
	// RetryDelay is how long a job whose handler failed waits before it
	// is delivered again; 0 means 1s.
	RetryDelay time.Duration
	// Logger receives what the worker cannot return (a result it could
	// not publish); nil means slog.Default().
	Logger *slog.Logger
}

const (
	// pullWait bounds one pull request, so a worker notices a queue that
	// was deleted and created again.
	pullWait = 5 * time.Second
	// bindRetry is how often a worker looks for a queue not yet opened.
	bindRetry = 500 * time.Millisecond
	// reportWait bounds the publication of a result.
	reportWait = 10 * time.Second
)

// Work serves the queue called name until ctx ends: it runs handle on up
// to o.Concurrency jobs at once, pulling a job only when it has a free
// slot (so a slow worker does not hoard jobs), and publishes each
// handler's output as the job's result before acknowledging the job.
// While a handler runs, the worker tells the server every AckWait/3 that
// the job is in progress, so a long job is not delivered again. A
// handler's error (or panic) is retried after o.RetryDelay, up to the
// queue's MaxDeliver; on the last delivery it becomes a failure result
// with the error's text. A queue not yet opened is waited for.
//
// When ctx ends, handlers see it; the worker waits for them, then returns
// nil. A job whose handler was still running when ctx ended is not
// reported nor acknowledged: it is delivered again after AckWait, as the
// jobs of a worker that died. Work returns an error only for a bad name.
func Work(ctx context.Context, js jetstream.JetStream, name string, o WorkerOptions, handle func(ctx context.Context, j Job) ([]byte, error)) error {
	if err := checkName(name); err != nil {
		return err
	}
	if handle == nil {
		panic("cluster: Work with a nil handler")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.Name == "" {
		host, _ := os.Hostname()
		o.Name = host + ":" + strconv.Itoa(os.Getpid())
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	w := &worker{js: js, name: name, o: o, handle: handle}
	cons, l, err := w.bind(ctx)
	if err != nil {
		return nil
	}
	// A slot is taken by sending; a job gives its slot back when done.
	slots := make(chan struct{}, o.Concurrency)
	var jobs sync.WaitGroup
	defer jobs.Wait()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		free := 1
	fill:
		for free < o.Concurrency {
			select {
			case slots <- struct{}{}:
				free++
			default:
				break fill
			}
		}
		started, err := w.pull(ctx, cons, free, func(m jetstream.Msg) {
			jobs.Go(func() {
				defer func() { <-slots }()
				w.run(ctx, m, l)
			})
		})
		for range free - started {
			<-slots
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.o.Logger.Warn("cluster: pulling jobs", "queue", name, "worker", o.Name, "err", err)
			if !sleep(ctx, bindRetry) {
				return nil
			}
			if cons, l, err = w.bind(ctx); err != nil {
				return nil
			}
		}
	}
}

// worker is one Work call's settings.
type worker struct {
	js     jetstream.JetStream
	name   string
	o      WorkerOptions
	handle func(ctx context.Context, j Job) ([]byte, error)
}

// lease is the workers' consumer's settings a job runs under.
type lease struct {
	ackWait time.Duration
}

// bind finds the workers' consumer of the queue, waiting for it to exist.
// It fails only when ctx ends.
func (w *worker) bind(ctx context.Context) (jetstream.Consumer, lease, error) {
	for {
		c, err := w.js.Consumer(ctx, jobsStream(w.name), consumerName)
		if err == nil {
			cfg := c.CachedInfo().Config
			return c, lease{ackWait: cfg.AckWait}, nil
		}
		if ctx.Err() != nil {
			return nil, lease{}, ctx.Err()
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			w.o.Logger.Warn("cluster: binding to a queue", "queue", w.name, "worker", w.o.Name, "err", err)
		}
		if !sleep(ctx, bindRetry) {
			return nil, lease{}, ctx.Err()
		}
	}
}

// pull asks for up to n jobs and starts each one as it arrives; it returns
// how many it started. A job that arrives after ctx ended is handed back.
func (w *worker) pull(ctx context.Context, cons jetstream.Consumer, n int, start func(jetstream.Msg)) (int, error) {
	fctx, cancel := context.WithTimeout(ctx, pullWait)
	defer cancel()
	batch, err := cons.Fetch(n, jetstream.FetchContext(fctx))
	if err != nil {
		return 0, err
	}
	started := 0
	for m := range batch.Messages() {
		if ctx.Err() != nil {
			m.Nak()
			continue
		}
		started++
		start(m)
	}
	err = batch.Error()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = nil
	}
	return started, err
}

// run runs the handler on the job m and reports the outcome.
func (w *worker) run(ctx context.Context, m jetstream.Msg, l lease) {
	log := w.o.Logger.With("queue", w.name, "worker", w.o.Name)
	md, err := m.Metadata()
	if err != nil {
		log.Warn("cluster: a job without metadata", "err", err)
		return
	}
	j := Job{ID: m.Headers().Get(jetstream.MsgIDHeader), Payload: m.Data()}
	if j.ID == "" {
		// Not submitted by a Queue: no one waits for its result.
		log.Warn("cluster: a job without an ID, dropped", "seq", md.Sequence.Stream)
		m.Term()
		return
	}
	maxDeliver := headerInt(m, maxDeliverHeader, defaultMaxDeliver)
	maxLost := max(maxDeliver, headerInt(m, maxLostHeader, defaultMaxLost))
	if int(md.NumDelivered) > maxLost {
		// Its every delivery ended without a result: its workers died
		// (perhaps of the job). A failure, reported by whoever gets it next.
		w.settle(ctx, m, l, Result{ID: j.ID, Attempts: maxLost,
			Err: fmt.Sprintf("cluster: job delivered %d times without a result (its workers stopped or lost contact)", maxLost)}, true)
		return
	}
	hctx, stop := context.WithCancel(ctx)
	beating := heartbeat(hctx, m, l.ackWait/3)
	out, herr := w.call(hctx, j)
	stop()
	<-beating
	if ctx.Err() != nil {
		return
	}
	r := Result{ID: j.ID, Attempts: int(md.NumDelivered), Worker: w.o.Name}
	if herr != nil {
		if r.Attempts < maxDeliver {
			if err := m.NakWithDelay(w.o.RetryDelay); err != nil {
				log.Warn("cluster: handing a failed job back", "job", j.ID, "err", err)
			}
			return
		}
		r.Err = herr.Error()
		if r.Err == "" {
			r.Err = fmt.Sprintf("cluster: the handler failed with an empty %T", herr)
		}
	} else {
		r.Payload = out
	}
	w.settle(ctx, m, l, r, herr != nil)
}

// headerInt reads a positive integer header of m; def without one.
func headerInt(m jetstream.Msg, key string, def int) int {
	n, err := strconv.Atoi(m.Headers().Get(key))
	if err != nil || n < 1 {
		return def
	}
	return n
}

// settle publishes r, the outcome of the job m, and then acknowledges m
// (terminates it, for a failure). A result too large for the server
// becomes a failure saying so. While JetStream cannot take the result (no
// quorum, no server), it keeps trying, heartbeating the job, until the
// worker stops: a result is worth keeping (a real model's calls cost
// money). If r cannot be published, m is left to be delivered again.
func (w *worker) settle(ctx context.Context, m jetstream.Msg, l lease, r Result, failed bool) {
	log := w.o.Logger.With("queue", w.name, "worker", w.o.Name)
	hctx, stop := context.WithCancel(ctx)
	beating := heartbeat(hctx, m, l.ackWait/3)
	group := m.Headers().Get(groupHeader)
	publish := func() error {
		return keepTrying(ctx, 0, func() error {
			// An attempt may finish after ctx's end: the job is over.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportWait)
			defer cancel()
			return publishResult(actx, w.js, w.name, group, r)
		}, nil)
	}
	err := publish()
	if errors.Is(err, nats.ErrMaxPayload) {
		// Too large to send, however often it runs: a failure, with why.
		r.Err = fmt.Sprintf("cluster: the result (%d bytes) exceeds the NATS server's max_payload (%d bytes): raise max_payload in the server's configuration, or evaluate smaller batches",
			len(r.Payload), w.js.Conn().MaxPayload())
		r.Payload, failed = nil, true
		err = publish()
	}
	stop()
	<-beating
	if err != nil {
		// Not acknowledged: the job is delivered again after AckWait.
		log.Warn("cluster: publishing a result", "job", r.ID, "err", err)
		return
	}
	if failed {
		err = m.Term()
	} else {
		err = m.Ack()
	}
	if err != nil {
		log.Warn("cluster: acknowledging a job", "job", r.ID, "err", err)
	}
}

// call runs the handler, turning a panic into an error so that one bad
// job fails alone instead of taking the worker and its other jobs down.
func (w *worker) call(ctx context.Context, j Job) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cluster: the handler panicked: %v", p)
			w.o.Logger.Error("cluster: the handler panicked", "queue", w.name, "worker", w.o.Name,
				"job", j.ID, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	return w.handle(ctx, j)
}

// heartbeat tells the server every period that m is in progress, until
// ctx ends; the channel is closed when it has stopped.
func heartbeat(ctx context.Context, m jetstream.Msg, period time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if period <= 0 {
			return
		}
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				m.InProgress()
			case <-ctx.Done():
				return
			}
		}
	}()
	return done
}

// sleep waits for d or the end of ctx, and reports whether ctx is alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
