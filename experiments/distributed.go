package experiments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mabeam/mabeam/cluster"
	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/openai"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultQueue is the work queue of a distributed run and of its workers
// unless told otherwise: one queue serves every run, each reading its own
// results (its group, the experiment's name).
const DefaultQueue = "mabeam"

// configsBucket is the JetStream object store holding the runs' configs
// (their Bundles) for the workers, by id.
const configsBucket = "MABEAM_CONFIGS"

// keepConfigs is how long a run's config stays in the store after the run
// last published it (each run, and each resume, publishes it again).
const keepConfigs = 7 * 24 * time.Hour

// ClusterOptions configures the coordinator of a distributed run; the zero
// value is the defaults.
type ClusterOptions struct {
	// Queue is the work queue; "" means DefaultQueue. Workers must pull
	// from the same one.
	Queue string
	// Replicas is the replication factor of the queue's streams and the
	// configs' store: 3 in a three-server cluster, 0 means 1.
	Replicas int
	// AckWait is how long a job may go without its worker's heartbeat
	// before another gets it; 0 means 30s.
	AckWait time.Duration
	// MaxDeliver is how often a job is tried before its trial fails; 0
	// means 3.
	MaxDeliver int
	// Logger receives the queue's notices (a pause while JetStream has no
	// quorum); nil means slog.Default().
	Logger *slog.Logger
	// Cache, if set, is the run's LM cache (the store), which the
	// coordinator serves to the workers of a config with lm.cache on, so
	// that a distributed run pays for a call once, as a local one does.
	Cache lm.Cache
}

// Distribution is a run whose evaluations go to workers: the studies given
// to Distribute evaluate on the queue, and the coordinator keeps
// everything else (the optimizers, the store).
type Distribution struct {
	// Queue is the run's side of the work queue (its Stats are the run's
	// progress on the workers).
	Queue *cluster.Queue
	// ConfigID names the run's config in the configs' store, which the
	// workers compile (EvalJob.Config).
	ConfigID string

	cache      *cluster.CacheServer // nil without ClusterOptions.Cache
	studies    *cluster.Shared      // MABEAM_STUDIES, for Track
	trackers   []*tracker           // Close writes their last states
	closeOnce  sync.Once
	experiment string
	log        *slog.Logger
}

// manifest is what the configs' store holds for a run: the bundle, and the
// config hash of each study, which a worker checks it compiles alike.
type manifest struct {
	Bundle  *Bundle           `json:"bundle"`
	Studies map[string]string `json:"studies"`
}

// Distribute publishes the config of studies (all compiled from cfg) for
// the workers and routes each study's evaluations through the work queue:
// each evaluation becomes a job, answered by a worker (`experiment
// worker`, Work) that compiles the same config. Trials, scores and costs
// are those of a local run; analytics and baselines after a study, and an
// optimizer's own model calls, stay on the coordinator. Close the
// Distribution when the run is over.
func Distribute(ctx context.Context, nc *nats.Conn, cfg *Config, studies []*Study, o ClusterOptions) (*Distribution, error) {
	if o.Queue == "" {
		o.Queue = DefaultQueue
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	b, err := cfg.Bundle()
	if err != nil {
		return nil, err
	}
	man := manifest{Bundle: b, Studies: map[string]string{}}
	for _, st := range studies {
		man.Studies[st.Name] = st.ConfigHash
	}
	data, err := json.Marshal(man)
	if err != nil {
		return nil, fmt.Errorf("experiments: encoding the run's config: %w", err)
	}
	sum := sha256.Sum256(data)
	id := hex.EncodeToString(sum[:16])
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("experiments: JetStream: %w", err)
	}
	objs, err := configStore(ctx, js, o.Replicas)
	if err != nil {
		return nil, err
	}
	// Retried: just after its replicas changed, the store has no leader.
	if err := cluster.Retry(ctx, func(ctx context.Context) error { _, err := objs.PutBytes(ctx, id, data); return err }); err != nil {
		return nil, fmt.Errorf("experiments: publishing the run's config to the workers: %w", err)
	}
	q, err := cluster.OpenQueue(ctx, js, o.Queue, cluster.QueueOptions{
		Group: cfg.Name, Replicas: o.Replicas, AckWait: o.AckWait, MaxDeliver: o.MaxDeliver, Logger: o.Logger,
	})
	if err != nil {
		return nil, err
	}
	studiesKV, err := cluster.OpenShared(ctx, js, studiesBucket, o.Replicas)
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("experiments: the studies' bucket: %w", err)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	d := &Distribution{Queue: q, ConfigID: id, studies: studiesKV, experiment: cfg.Name, log: logger}
	if o.Cache != nil && cfg.LMCache() {
		if d.cache, err = cluster.ServeCache(ctx, nc, cacheSubject(o.Queue, cfg.Name), o.Cache); err != nil {
			q.Close()
			return nil, err
		}
	}
	for _, st := range studies {
		st.Problem.Evaluator = &cluster.Evaluator{Queue: q, Study: st.Name, Config: id, Local: st.Evaluator}
	}
	return d, nil
}

// Close stops serving the run: it writes the studies' last shared
// states (Track), and stops serving the cache and reading results.
// Closing it again does nothing.
func (d *Distribution) Close() {
	d.closeOnce.Do(func() {
		for _, t := range d.trackers {
			t.close()
		}
		if d.cache != nil {
			d.cache.Close()
		}
		d.Queue.Close()
	})
}

// cacheSubject is where a run's coordinator serves its LM cache to the
// workers: one subject per queue and experiment.
func cacheSubject(queue, experiment string) string {
	sum := sha256.Sum256([]byte(experiment))
	return "mabeam.cache." + queue + "." + hex.EncodeToString(sum[:8])
}

// configStore creates or binds the configs' object store.
func configStore(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.ObjectStore, error) {
	objs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: configsBucket, Description: "the configs of distributed runs, for their workers",
		TTL: keepConfigs, Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("experiments: the configs' store %s: %w", configsBucket, err)
	}
	return objs, nil
}

// limitsBucket is the key-value bucket of the shared rate limits.
const limitsBucket = "MABEAM_LIMITS"

// SharedLimiter returns the rate limit that every process of a
// distributed run of cfg shares (cluster.Limiter), for NewLimitedModel:
// lm.requests_per_minute and lm.tokens_per_minute hold for the run, not
// for each worker. The limit belongs to the server (lm.base_url), so runs
// at once against one server share it too. It is nil, with no error, when
// the config sets no such limit.
func SharedLimiter(ctx context.Context, nc *nats.Conn, cfg *Config, replicas int) (openai.Limiter, error) {
	if cfg.Backend() != "openai" || cfg.LM.RequestsPerMinute == 0 && cfg.LM.TokensPerMinute == 0 {
		return nil, nil
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("experiments: JetStream: %w", err)
	}
	if replicas == 0 {
		replicas = 1
	}
	sh, err := cluster.OpenShared(ctx, js, limitsBucket, replicas)
	if err != nil {
		return nil, fmt.Errorf("experiments: the shared rate limit: %w", err)
	}
	sum := sha256.Sum256([]byte(cfg.LM.BaseURL))
	l, err := cluster.NewLimiter(sh, "server_"+hex.EncodeToString(sum[:8]), cfg.LM.RequestsPerMinute, cfg.LM.TokensPerMinute)
	if err != nil {
		return nil, fmt.Errorf("experiments: the shared rate limit: %w", err)
	}
	return l, nil
}

// WorkerOptions configures a worker (Work); the zero value is the
// defaults.
type WorkerOptions struct {
	// Queue is the work queue; "" means DefaultQueue.
	Queue string
	// Name names the worker in the queue's statistics; "" means host:pid.
	Name string
	// Concurrency is how many jobs (evaluations) run at once; 0 means
	// DefaultWorkerConcurrency. Each evaluates its examples as its config
	// says (workers, EvalWorkers).
	Concurrency int
	// Logger receives the worker's notices; nil means slog.Default().
	Logger *slog.Logger
	// OnJob, if set, is called after each job with its error (nil for a
	// success); it must be safe for concurrent use.
	OnJob func(id string, err error)
}

// DefaultWorkerConcurrency is a worker's jobs at once unless told otherwise.
const DefaultWorkerConcurrency = 4

// maxConfigs bounds the compiled configs a worker keeps.
const maxConfigs = 8

// Work runs a worker until ctx ends: it pulls evaluation jobs from the
// queue, compiles each job's config from the configs' store (once per
// config: the data travel with it, so the worker needs no files), runs
// the evaluation with the config's model and returns the report. A worker
// holds no state a run needs: it can join or leave at any time.
func Work(ctx context.Context, nc *nats.Conn, o WorkerOptions) error {
	if o.Queue == "" {
		o.Queue = DefaultQueue
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultWorkerConcurrency
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("experiments: JetStream: %w", err)
	}
	w := &worker{js: js, nc: nc, queue: o.Queue, configs: map[string]*compiledConfig{}}
	handle := cluster.EvalHandler(w.lookup)
	if o.OnJob != nil {
		inner := handle
		handle = func(ctx context.Context, j cluster.Job) ([]byte, error) {
			out, err := inner(ctx, j)
			if ctx.Err() == nil {
				o.OnJob(j.ID, err)
			}
			return out, err
		}
	}
	return cluster.Work(ctx, js, o.Queue, cluster.WorkerOptions{Name: o.Name, Concurrency: o.Concurrency, Logger: o.Logger}, handle)
}

// worker compiles the configs of its jobs.
type worker struct {
	js    jetstream.JetStream
	nc    *nats.Conn
	queue string

	mu      sync.Mutex
	configs map[string]*compiledConfig
	order   []string // ids, oldest first
}

// compiledConfig is one config's studies on a worker, compiled once.
type compiledConfig struct {
	once    sync.Once
	studies map[string]*cluster.Study
	err     error
}

func (w *worker) lookup(study, config string) (*cluster.Study, error) {
	if config == "" {
		return nil, fmt.Errorf("%w %s: its job names no config (not submitted by experiment run --nats?)", cluster.ErrUnknownStudy, study)
	}
	w.mu.Lock()
	c, ok := w.configs[config]
	if !ok {
		c = &compiledConfig{}
		w.configs[config] = c
		w.order = append(w.order, config)
		if len(w.order) > maxConfigs {
			delete(w.configs, w.order[0])
			w.order = w.order[1:]
		}
	}
	w.mu.Unlock()
	c.once.Do(func() { c.studies, c.err = w.compile(config) })
	if c.err != nil {
		return nil, c.err
	}
	st, ok := c.studies[study]
	if !ok {
		return nil, fmt.Errorf("%w %s: config %s has no such study", cluster.ErrUnknownStudy, study, config)
	}
	return st, nil
}

// compile reads config id from the configs' store and compiles its
// studies, checking that each compiles to the coordinator's config hash.
func (w *worker) compile(id string) (map[string]*cluster.Study, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	objs, err := w.js.ObjectStore(ctx, configsBucket)
	if err != nil {
		return nil, fmt.Errorf("experiments: the configs' store %s: %w", configsBucket, err)
	}
	data, err := objs.GetBytes(ctx, id)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("experiments: config %s is not in the configs' store (expired, or its run published none)", id)
	}
	if err != nil {
		return nil, fmt.Errorf("experiments: reading config %s: %w", id, err)
	}
	var man manifest
	if err := json.Unmarshal(data, &man); err != nil || man.Bundle == nil {
		return nil, fmt.Errorf("experiments: config %s is unreadable: %v", id, err)
	}
	cfg, err := ParseBundle(man.Bundle)
	if err != nil {
		return nil, fmt.Errorf("experiments: config %s: %w", id, err)
	}
	limit, err := SharedLimiter(ctx, w.nc, cfg, 0)
	if err != nil {
		return nil, fmt.Errorf("experiments: config %s: %w", id, err)
	}
	model, err := cfg.NewLimitedModel(limit)
	if err != nil {
		return nil, fmt.Errorf("experiments: config %s: %w", id, err)
	}
	if cfg.LMCache() {
		// The coordinator's cache: a call made by any worker, or by a
		// run before, is paid once.
		model = lm.Cached(model, cluster.NewRemoteCache(w.nc, cacheSubject(w.queue, cfg.Name), 0))
	}
	sts, err := cfg.Studies(model)
	if err != nil {
		return nil, fmt.Errorf("experiments: config %s: %w", id, err)
	}
	out := map[string]*cluster.Study{}
	for _, st := range sts {
		want, ok := man.Studies[st.Name]
		if !ok {
			continue
		}
		if st.ConfigHash != want {
			return nil, fmt.Errorf("experiments: config %s: this worker compiles study %s to config hash %s, its coordinator to %s: run one version of experiment on every machine", id, st.Name, st.ConfigHash, want)
		}
		out[st.Name] = &cluster.Study{Evaluator: st.Evaluator, Examples: examplesByID(st)}
	}
	return out, nil
}

// examplesByID indexes a study's examples.
func examplesByID(st *Study) map[string]datasets.Example {
	exs := map[string]datasets.Example{}
	for _, split := range [][]datasets.Example{st.Problem.Train, st.Problem.Val, st.Problem.Test} {
		for _, ex := range split {
			exs[ex.ID] = ex
		}
	}
	return exs
}

// studiesBucket holds each distributed study's shared state (StudyState),
// readable from any machine (`experiment status`).
const studiesBucket = "MABEAM_STUDIES"

// StudyState is what a distributed run shares of each of its studies, in
// the key-value bucket MABEAM_STUDIES under StudyKey: its budget, what it
// has spent and its best validation value so far, updated after every
// trial by its coordinator (the only writer), so any machine can follow
// the run (`experiment status`) or watch a key.
type StudyState struct {
	Study      string    `json:"study"`
	Experiment string    `json:"experiment"`
	Status     string    `json:"status"` // running or done
	Budget     Amounts   `json:"budget"`
	Spent      Amounts   `json:"spent"`
	Best       *float64  `json:"best,omitempty"` // nil until a validation trial completes
	BestTrial  *int      `json:"best_trial,omitempty"`
	Updated    time.Time `json:"updated"`
}

// Amounts are a study's budget, or what it spent: trials, model calls and
// nominal cost in USD (0 in a budget: no limit).
type Amounts struct {
	Trials int     `json:"trials"`
	Calls  int64   `json:"calls"`
	Cost   float64 `json:"cost"`
}

// StudyKey is a study's key in MABEAM_STUDIES.
func StudyKey(study string) string {
	sum := sha256.Sum256([]byte(study))
	return "study." + hex.EncodeToString(sum[:8])
}

// Track returns p (which may be nil) wrapped so that every study's start,
// trial and finish also update its StudyState in MABEAM_STUDIES. The
// writes happen in the background, off the trials' path: each study's
// latest state is written once the previous write is done (states in
// between are skipped), and Close writes the last ones. A write the
// cluster cannot take within a few seconds is skipped (a later one writes
// the whole state again) and logged once per study.
func (d *Distribution) Track(p Progress) Progress {
	t := &tracker{p: p, d: d, states: map[string]*StudyState{}, dirty: map[string]bool{}, warned: map[string]bool{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	d.trackers = append(d.trackers, t)
	go t.writer()
	return t
}

type tracker struct {
	p      Progress
	d      *Distribution
	mu     sync.Mutex
	states map[string]*StudyState // each study's latest state
	dirty  map[string]bool        // the studies whose latest state is not written
	warned map[string]bool
	wake   chan struct{} // a state changed
	stop   chan struct{} // closed by close
	done   chan struct{} // closed when the writer has written the last states
}

func (t *tracker) Start(study string, b optimizer.Budget, done int) {
	if t.p != nil {
		t.p.Start(study, b, done)
	}
	st := &StudyState{Study: study, Experiment: t.d.experiment, Status: "running", Budget: Amounts{b.Trials, b.Calls, b.Cost}}
	st.Spent.Trials = done
	t.update(study, func(*StudyState) *StudyState { return st })
}

func (t *tracker) Trial(study string, tr optimizer.Trial, best float64, s optimizer.Spent) {
	if t.p != nil {
		t.p.Trial(study, tr, best, s)
	}
	t.update(study, func(st *StudyState) *StudyState {
		if st == nil {
			return nil
		}
		st.Spent = Amounts{s.Trials, s.Calls, s.Cost}
		if !math.IsNaN(best) && (st.Best == nil || *st.Best != best) {
			b, n := best, tr.Number
			st.Best, st.BestTrial = &b, &n
		}
		return st
	})
}

func (t *tracker) Finish(s Summary) {
	if t.p != nil {
		t.p.Finish(s)
	}
	t.update(s.Study, func(st *StudyState) *StudyState {
		if st == nil {
			st = &StudyState{Study: s.Study, Experiment: t.d.experiment}
		}
		st.Status = "done"
		st.Spent.Trials, st.Spent.Calls, st.Spent.Cost = s.Trials, s.LMCalls, s.CostUSD
		if s.BestValScore != nil {
			st.Best = s.BestValScore
		}
		return st
	})
}

// update changes a study's state with fn (given nil for a study not yet
// seen; nil back changes nothing) and wakes the writer.
func (t *tracker) update(study string, fn func(*StudyState) *StudyState) {
	t.mu.Lock()
	st := fn(t.states[study])
	if st != nil {
		st.Updated = time.Now().UTC()
		t.states[study], t.dirty[study] = st, true
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// writer writes the dirty states until close, and then the last ones.
func (t *tracker) writer() {
	defer close(t.done)
	for {
		select {
		case <-t.wake:
			t.flush()
		case <-t.stop:
			t.flush()
			return
		}
	}
}

// flush writes every dirty state.
func (t *tracker) flush() {
	t.mu.Lock()
	var batch []StudyState
	for study := range t.dirty {
		batch = append(batch, *t.states[study])
	}
	clear(t.dirty)
	t.mu.Unlock()
	for i := range batch {
		t.write(&batch[i])
	}
}

// close writes the last states and stops the writer.
func (t *tracker) close() {
	close(t.stop)
	<-t.done
}

func (t *tracker) write(st *StudyState) {
	v, err := json.Marshal(st)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err = t.d.studies.Update(ctx, StudyKey(st.Study), func([]byte, bool) ([]byte, error) { return v, nil })
		cancel()
	}
	if err != nil && !t.warned[st.Study] { // only the writer reads and writes warned
		t.warned[st.Study] = true
		t.d.log.Warn("experiments: sharing a study's state", "study", st.Study, "err", err)
	}
}

// StudyStates reads the state of every distributed study in the cluster
// (MABEAM_STUDIES), sorted by study name; none if no run made the bucket.
func StudyStates(ctx context.Context, nc *nats.Conn) ([]StudyState, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("experiments: JetStream: %w", err)
	}
	kv, err := js.KeyValue(ctx, studiesBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("experiments: the studies' bucket: %w", err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("experiments: the studies' bucket: %w", err)
	}
	var out []StudyState
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("experiments: the studies' bucket: %s: %w", k, err)
		}
		var st StudyState
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			return nil, fmt.Errorf("experiments: the studies' bucket: %s: %w", k, err)
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b StudyState) int { return strings.Compare(a.Study, b.Study) })
	return out, nil
}
