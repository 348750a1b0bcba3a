package cluster

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mabeam/mabeam/coordination"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Shared variables.
//
// A Shared is a JetStream key-value bucket the processes of a run share:
// a value per key with a revision (the stream sequence it was written
// at). Update is a compare-and-set loop on the revision, so concurrent
// updaters in many processes never lose an update; a write whose request
// or acknowledgement was lost (a server stopped, a leader elected) is
// sent again under the same message id and stored once, so none is
// applied twice either. Reads go to the bucket stream's leader, so a
// value a returned Update wrote is seen by every later Get. While the
// bucket has no leader (an election, a lost quorum) an operation retries
// for up to ten seconds or until its context ends, then fails with
// ErrUnavailable. On top of Update: a budget that never goes below zero
// (InitBudget, Spend) and a best-so-far that does not depend on the
// order offers arrive in (OfferBest).
//
// A team variable marked shared is settled from proposals: each trial
// proposes a value (Propose, kept in the bucket under "_proposals.KEY"),
// and Resolve settles them with a coordination.Resolver, the claims in
// trial order, and records the resolution in the stream
// BUCKET_RESOLUTIONS (subject BUCKET_RESOLUTIONS.KEY) unless the same
// proposals were resolved already; Resolutions lists a key's history.
// Keys beginning with "_" are reserved for this.

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotFound reports a key with no value.
	ErrNotFound = errors.New("cluster: key not found")
	// ErrUnavailable reports that JetStream could not serve an operation:
	// no leader for the bucket (a lost quorum, most servers down) or no
	// server reachable, for longer than an operation waits.
	ErrUnavailable = errors.New("cluster: JetStream unavailable (no leader or no quorum)")
	// ErrNoProposals reports Resolve on a key no trial proposed a value for.
	ErrNoProposals = errors.New("cluster: no proposals")
	// SkipUpdate, returned by an Update function, leaves the value as it
	// is: Update returns the current entry and no error. Like fs.SkipDir it
	// is a signal, not a failure.
	SkipUpdate = errors.New("cluster: skip this update")
)

const (
	// patience bounds how long an operation retries while JetStream
	// cannot serve it; a leader election takes a few seconds.
	patience = 10 * time.Second
	// attemptTimeout bounds one request, so a request lost with a
	// stopped server is sent again rather than waited for.
	attemptTimeout = time.Second
	// history is how many values per key the bucket keeps: a watcher that
	// falls further behind skips to newer values.
	history = 64
	// proposalsPrefix is where Propose keeps a key's proposals.
	proposalsPrefix = "_proposals."
)

// Entry is a key's value at one revision.
type Entry struct {
	Key   string
	Value []byte
	// Revision is the bucket's sequence number at which Value was
	// written; it grows with every write to the bucket. 0 means the key
	// has no value.
	Revision uint64
}

// Shared is a replicated key-value bucket of shared variables. It is safe
// for concurrent use.
type Shared struct {
	js      jetstream.JetStream
	kv      jetstream.KeyValue // for Watch
	stream  jetstream.Stream   // the bucket's stream, for reads with revisions
	records jetstream.Stream   // BUCKET_RESOLUTIONS
	prefix  string             // subject prefix of the bucket's keys, "$KV.BUCKET."
	recPre  string             // subject prefix of the resolution records, "BUCKET_RESOLUTIONS."

	// fault, if set (by tests), is asked before each write whether to
	// lose its request (not send it) or its acknowledgement (send it and
	// report no answer).
	fault func() fault
}

// A fault is a lost message, injected by tests.
type fault int

const (
	noFault fault = iota
	lostRequest
	lostAck
)

// OpenShared creates the bucket (with replicas copies: 1 on a single
// server, 3 in a cluster) and its resolutions stream, or binds to them if
// they exist (keeping their settings; a bucket made by
// jetstream.CreateKeyValue is read from any replica, not the leader).
func OpenShared(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (*Shared, error) {
	if !validName.MatchString(bucket) {
		return nil, fmt.Errorf("cluster: bucket name %q: use letters, digits, '-' and '_'", bucket)
	}
	if replicas < 1 || replicas > 5 {
		return nil, fmt.Errorf("cluster: bucket %s: replicas must be 1 to 5, not %d", bucket, replicas)
	}
	s := &Shared{js: js, prefix: "$KV." + bucket + ".", recPre: bucket + "_RESOLUTIONS."}
	// The bucket is a KV stream laid out as CreateKeyValue lays it out,
	// except that reads go to the leader (no direct get from a replica
	// that may lag behind).
	cfg := jetstream.StreamConfig{
		Name:              "KV_" + bucket,
		Subjects:          []string{s.prefix + ">"},
		MaxMsgsPerSubject: history,
		MaxBytes:          -1,
		MaxMsgSize:        -1,
		MaxMsgs:           -1,
		MaxConsumers:      -1,
		Storage:           jetstream.FileStorage,
		Replicas:          replicas,
		AllowRollup:       true,
		DenyDelete:        true,
		Duplicates:        2 * time.Minute,
		Discard:           jetstream.DiscardNew,
	}
	var err error
	if s.stream, err = createOrBind(ctx, js, cfg); err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", bucket, err)
	}
	if s.kv, err = js.KeyValue(ctx, bucket); err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", bucket, err)
	}
	rec := jetstream.StreamConfig{
		Name:       bucket + "_RESOLUTIONS",
		Subjects:   []string{s.recPre + ">"},
		Storage:    jetstream.FileStorage,
		Replicas:   replicas,
		Duplicates: 2 * time.Minute,
	}
	if s.records, err = createOrBind(ctx, js, rec); err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: resolutions stream: %w", bucket, err)
	}
	return s, nil
}

func createOrBind(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	var st jetstream.Stream
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		st, err = js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = js.Stream(ctx, cfg.Name)
		}
		return err
	})
	return st, err
}

var (
	validName = regexp.MustCompile(`^[-_a-zA-Z0-9]+$`)
	validKey  = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)
)

func checkKey(key string) error {
	if !validKey.MatchString(key) || key[0] == '.' || key[len(key)-1] == '.' || strings.Contains(key, "..") {
		return fmt.Errorf("cluster: key %q: use letters, digits, '-', '/', '_', '=' and '.' (not at either end, not twice in a row)", key)
	}
	return nil
}

// Get returns key's value and revision; ErrNotFound if it has none.
func (s *Shared) Get(ctx context.Context, key string) (Entry, error) {
	if err := checkKey(key); err != nil {
		return Entry{}, err
	}
	e, ok, err := s.last(ctx, s.stream, s.prefix+key)
	if err != nil {
		return Entry{}, fmt.Errorf("cluster: get %s: %w", key, err)
	}
	if !ok {
		return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	e.Key = key
	return e, nil
}

// last reads the last message on subject from st's leader. ok is false if
// there is none or it is a delete marker; the revision is returned
// either way, as the one to compare and set on.
func (s *Shared) last(ctx context.Context, st jetstream.Stream, subject string) (e Entry, ok bool, err error) {
	var m *jetstream.RawStreamMsg
	err = retry(ctx, func(ctx context.Context) error {
		var err error
		m, err = st.GetLastMsgForSubject(ctx, subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			m, err = nil, nil
		}
		return err
	})
	if err != nil || m == nil {
		return Entry{}, false, err
	}
	e = Entry{Value: m.Data, Revision: m.Sequence}
	if op := m.Header.Get("KV-Operation"); op == "DEL" || op == "PURGE" || m.Header.Get(jetstream.MarkerReasonHeader) != "" {
		return Entry{Revision: m.Sequence}, false, nil
	}
	return e, true, nil
}

// Update sets key to fn(old, exists), where old is its current value
// (nil and exists false if it has none), as one atomic step: it writes
// only if the key is still at the revision fn saw, and otherwise calls fn
// again on the newer value. fn may thus run several times and must
// depend only on its arguments. If fn returns SkipUpdate, Update returns
// the current entry (Revision 0 if the key has none) and nil; any other
// error of fn is returned as it is. An Update that fails with
// ErrUnavailable may still take effect once the cluster recovers (its
// write reached a leader that lost its quorum before it could answer).
func (s *Shared) Update(ctx context.Context, key string, fn func(old []byte, exists bool) ([]byte, error)) (Entry, error) {
	if err := checkKey(key); err != nil {
		return Entry{}, err
	}
	subject := s.prefix + key
	for {
		cur, exists, err := s.last(ctx, s.stream, subject)
		if err != nil {
			return Entry{}, fmt.Errorf("cluster: update %s: %w", key, err)
		}
		cur.Key = key
		var old []byte
		if exists {
			old = cur.Value
		}
		v, err := fn(old, exists)
		if errors.Is(err, SkipUpdate) {
			if !exists {
				return Entry{Key: key}, nil
			}
			return cur, nil
		}
		if err != nil {
			return Entry{}, err
		}
		rev, err := s.publish(ctx, s.stream, subject, v, cur.Revision)
		if isConflict(err) {
			continue // someone wrote first: apply fn to their value
		}
		if err != nil {
			return Entry{}, fmt.Errorf("cluster: update %s: %w", key, err)
		}
		return Entry{Key: key, Value: v, Revision: rev}, nil
	}
}

// publish writes v to subject of st if the subject's last revision is
// still rev (0: it has none) and returns the new revision, or a conflict
// (isConflict) if another write came first. A request without an answer
// is sent again with the same message id, and stored once: a clustered
// stream answers it as a duplicate, while a single server checks the
// revision first, so a conflict after a lost answer is checked against
// the subject (did the lost write come first?) before it is believed.
func (s *Shared) publish(ctx context.Context, st jetstream.Stream, subject string, v []byte, rev uint64) (uint64, error) {
	id := newID()
	lost := false // an attempt went unanswered: it may have been stored
	var seq uint64
	err := retry(ctx, func(ctx context.Context) error {
		f := noFault
		if s.fault != nil {
			f = s.fault()
		}
		var ack *jetstream.PubAck
		err := nats.ErrTimeout
		if f != lostRequest {
			m := &nats.Msg{Subject: subject, Data: v, Header: nats.Header{}}
			ack, err = s.js.PublishMsg(ctx, m, jetstream.WithMsgID(id), jetstream.WithExpectLastSequencePerSubject(rev))
		}
		if err == nil && f == lostAck {
			err = nats.ErrTimeout
		}
		switch {
		case err == nil:
			seq = ack.Sequence
			return nil
		case transient(err):
			lost = true
			return err
		case isConflict(err) && lost:
			stored, at, werr := s.stored(ctx, st, subject, rev, id)
			if werr != nil {
				return werr
			}
			if stored {
				seq = at
				return nil
			}
		}
		return err
	})
	return seq, err
}

// errPending reports that nothing follows a lost write's revision yet:
// it may still be being stored, so it is sent again.
var errPending = errors.New("cluster: a write is still pending")

// stored reports whether the write with message id, made on subject
// expecting revision rev, was stored, and at which revision: it is the
// first message on subject after rev if it was.
func (s *Shared) stored(ctx context.Context, st jetstream.Stream, subject string, rev uint64, id string) (bool, uint64, error) {
	m, err := st.GetMsg(ctx, rev+1, jetstream.WithGetMsgSubject(subject))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, 0, errPending
	}
	if err != nil {
		return false, 0, err
	}
	if m.Header.Get(jetstream.MsgIDHeader) == id {
		return true, m.Sequence, nil
	}
	if m.Header.Get(jetstream.ExpectedLastSubjSeqHeader) == strconv.FormatUint(rev, 10) {
		return false, 0, nil // another write came right after rev
	}
	// m does not say what it followed; an earlier message on the subject
	// (ours?) can only be gone if the subject is at its history limit.
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return false, 0, err
	}
	if limit := info.Config.MaxMsgsPerSubject; limit <= 0 || info.State.Subjects[subject] < uint64(limit) {
		return false, 0, nil
	}
	return false, 0, fmt.Errorf("a write whose acknowledgement was lost (revision %d of %s) has since been overwritten %d times: whether it was stored is unknown",
		rev, subject, info.Config.MaxMsgsPerSubject)
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// isConflict reports a write refused because the subject had moved past
// the expected revision.
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// JetStream error codes of a cluster that cannot serve a request now.
const (
	codeClusterNotAvailable = 10008 // JetStream system temporarily unavailable
	codeNotLeader           = 10009 // JetStream cluster can not handle request
	codeStreamOffline       = 10118
	codeDuplicateInProcess  = 10158 // a message with this id is being stored
)

// transient reports an error worth retrying: the request was not
// answered, or the cluster could not serve it yet.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, errPending) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case codeClusterNotAvailable, codeNotLeader, codeStreamOffline, codeDuplicateInProcess:
			return true
		}
		return apiErr.Code == 503
	}
	return false
}

// Retry runs op until it succeeds or fails for good, while JetStream
// cannot serve it yet (no leader, for example just after a stream's
// replicas changed, or no quorum), for up to ten seconds; an error after
// that matches ErrUnavailable. Each attempt gets a second.
func Retry(ctx context.Context, op func(context.Context) error) error { return retry(ctx, op) }

// retry runs op, each attempt bounded by attemptTimeout, until it
// succeeds, fails for good, ctx ends, or patience runs out; the last two
// return an *unavailableError.
func retry(ctx context.Context, op func(context.Context) error) error {
	return keepTrying(ctx, patience, func() error {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		defer cancel()
		return op(actx)
	}, nil)
}

// keepTrying runs attempt until it succeeds or fails for good (an error
// that is not transient, returned as it is), waiting between attempts from
// 25 ms doubling up to 500 ms, while ctx lives and, if patience > 0, for
// up to patience; then it returns an *unavailableError. paused, if set, is
// called with the first transient error, before the first wait. Each
// attempt bounds its own time.
func keepTrying(ctx context.Context, patience time.Duration, attempt func() error, paused func(error)) error {
	start := time.Now()
	wait := 25 * time.Millisecond
	for {
		err := attempt()
		if err == nil || !transient(err) {
			return err
		}
		if ctx.Err() != nil {
			return &unavailableError{waited: time.Since(start), ctx: ctx.Err(), last: err}
		}
		if patience > 0 && time.Since(start) > patience {
			return &unavailableError{waited: time.Since(start), last: err}
		}
		if paused != nil {
			paused(err)
			paused = nil
		}
		sleep(ctx, wait)
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// unavailableError is an operation JetStream could not serve before
// patience ran out or its context ended. It matches ErrUnavailable, the
// context's error and the last error with errors.Is.
type unavailableError struct {
	waited time.Duration
	ctx    error // the context's error, nil if patience ran out
	last   error // the last attempt's error
}

func (e *unavailableError) Error() string {
	s := "JetStream unavailable (no leader or no quorum) for " + e.waited.Round(time.Millisecond).String()
	if e.ctx != nil {
		s += " (" + e.ctx.Error() + ")"
	}
	last := e.last.Error()
	if errors.Is(e.last, context.DeadlineExceeded) || errors.Is(e.last, nats.ErrTimeout) {
		last = "no answer within " + attemptTimeout.String()
	}
	return s + "; last attempt: " + last
}

func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

func (e *unavailableError) Unwrap() []error {
	if e.ctx == nil {
		return []error{e.last}
	}
	return []error{e.ctx, e.last}
}

// Watch delivers key's current value, if it has one, and then every new
// value, until ctx ends (the channel is then closed). A watcher that falls
// more than 64 values behind skips to newer ones.
func (s *Shared) Watch(ctx context.Context, key string) (<-chan Entry, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	w, err := s.kv.Watch(ctx, key, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("cluster: watch %s: %w", key, err)
	}
	out := make(chan Entry)
	go func() {
		defer close(out)
		stop := context.AfterFunc(ctx, func() { w.Stop() })
		defer stop()
		for e := range w.Updates() { // closed once the watcher stops
			if e == nil || ctx.Err() != nil {
				continue // nil marks the end of the initial values; keep draining once stopped
			}
			select {
			case out <- Entry{Key: key, Value: e.Value(), Revision: e.Revision()}:
			case <-ctx.Done():
			}
		}
	}()
	return out, nil
}

// Budget is what remains of a run's budget. A negative field means that
// dimension is not limited.
type Budget struct {
	// Calls is the number of model calls left.
	Calls int64 `json:"calls"`
	// Cost is the cost left, in the run's currency (USD).
	Cost float64 `json:"cost"`
}

// costSlack absorbs rounding: a spend that exceeds what is left by less
// than this is allowed and leaves 0.
const costSlack = 1e-9

// InitBudget sets key's budget to total unless it has one already, and
// returns what remains: every process of a run may call it at the start,
// and only the first one sets it.
func (s *Shared) InitBudget(ctx context.Context, key string, total Budget) (Budget, error) {
	if math.IsNaN(total.Cost) || math.IsInf(total.Cost, 0) {
		return Budget{}, fmt.Errorf("cluster: budget %s: cost %v is not finite", key, total.Cost)
	}
	var b Budget
	_, err := s.Update(ctx, key, func(old []byte, exists bool) ([]byte, error) {
		if exists {
			if err := json.Unmarshal(old, &b); err != nil {
				return nil, fmt.Errorf("cluster: budget %s: %w", key, err)
			}
			return nil, SkipUpdate
		}
		b = total
		return json.Marshal(total)
	})
	if err != nil {
		return Budget{}, err
	}
	return b, nil
}

// Spend takes calls and cost from key's budget and returns what remains
// with ok true, or, if either would go below zero, takes nothing and
// returns what remains with ok false. It is atomic across processes.
// A key with no budget is ErrNotFound.
func (s *Shared) Spend(ctx context.Context, key string, calls int64, cost float64) (remaining Budget, ok bool, err error) {
	if calls < 0 || !(cost >= 0) || math.IsInf(cost, 0) {
		return Budget{}, false, fmt.Errorf("cluster: spend %s: calls %d and cost %v must be finite and >= 0", key, calls, cost)
	}
	_, err = s.Update(ctx, key, func(old []byte, exists bool) ([]byte, error) {
		if !exists {
			return nil, fmt.Errorf("%w: budget %s", ErrNotFound, key)
		}
		var b Budget
		if err := json.Unmarshal(old, &b); err != nil {
			return nil, fmt.Errorf("cluster: budget %s: %w", key, err)
		}
		remaining, ok = b, false
		if b.Calls >= 0 && calls > b.Calls || b.Cost >= 0 && cost > b.Cost+costSlack {
			return nil, SkipUpdate
		}
		if b.Calls >= 0 {
			b.Calls -= calls
		}
		if b.Cost >= 0 {
			b.Cost = max(b.Cost-cost, 0)
		}
		remaining, ok = b, true
		return json.Marshal(b)
	})
	if err != nil {
		return Budget{}, false, err
	}
	return remaining, ok, nil
}

// Best is the best value offered so far and the trial that reached it.
type Best struct {
	Trial int     `json:"trial"`
	Value float64 `json:"value"`
}

// OfferBest offers trial's value for key's best-so-far: it becomes the
// best if it is better (higher when maximize, lower otherwise), or equal
// and from a lower trial number, so the best does not depend on the order
// offers arrive in. It returns the best after the offer and whether the
// offer is it.
func (s *Shared) OfferBest(ctx context.Context, key string, trial int, value float64, maximize bool) (best Best, improved bool, err error) {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return Best{}, false, fmt.Errorf("cluster: best %s: value %v of trial %d is not finite", key, value, trial)
	}
	offer := Best{Trial: trial, Value: value}
	_, err = s.Update(ctx, key, func(old []byte, exists bool) ([]byte, error) {
		if exists {
			var cur Best
			if err := json.Unmarshal(old, &cur); err != nil {
				return nil, fmt.Errorf("cluster: best %s: %w", key, err)
			}
			if !beats(offer, cur, maximize) {
				best, improved = cur, false
				return nil, SkipUpdate
			}
		}
		best, improved = offer, true
		return json.Marshal(offer)
	})
	if err != nil {
		return Best{}, false, err
	}
	return best, improved, nil
}

func beats(a, b Best, maximize bool) bool {
	if a.Value != b.Value {
		return a.Value > b.Value == maximize
	}
	return a.Trial < b.Trial
}

// Proposal is one trial's proposed value for a shared variable. Weight,
// Priority and Bid feed the Resolver's strategy (coordination.Claim's
// Amount, Priority and Bid).
type Proposal struct {
	Trial int    `json:"trial"`
	Value []byte `json:"value"`
	// Weight is the weight behind Value; 0 means 1.
	Weight float64 `json:"weight,omitempty"`
	// Priority ranks proposals under coordination.ByPriority.
	Priority int `json:"priority,omitempty"`
	// Bid is the proposal's bid under coordination.ByAuction, >= 0.
	Bid float64 `json:"bid,omitempty"`
}

// Propose records p as its trial's proposal for key, replacing the
// trial's earlier one.
func (s *Shared) Propose(ctx context.Context, key string, p Proposal) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := s.Update(ctx, proposalsPrefix+key, func(old []byte, exists bool) ([]byte, error) {
		var ps []Proposal
		if exists {
			if err := json.Unmarshal(old, &ps); err != nil {
				return nil, fmt.Errorf("cluster: proposals for %s: %w", key, err)
			}
		}
		i, found := slices.BinarySearchFunc(ps, p.Trial, func(q Proposal, t int) int { return cmp.Compare(q.Trial, t) })
		switch {
		case found && proposalEqual(ps[i], p):
			return nil, SkipUpdate
		case found:
			ps[i] = p
		default:
			ps = slices.Insert(ps, i, p)
		}
		return json.Marshal(ps)
	})
	return err
}

func proposalEqual(a, b Proposal) bool {
	return a.Trial == b.Trial && string(a.Value) == string(b.Value) && a.Weight == b.Weight &&
		a.Priority == b.Priority && a.Bid == b.Bid
}

// Resolution is a recorded settlement of a shared variable.
type Resolution struct {
	Key string `json:"key"`
	// Seq is the record's sequence in the BUCKET_RESOLUTIONS stream.
	Seq uint64 `json:"-"`
	// Revision is the revision of the proposals settled.
	Revision uint64 `json:"revision"`
	// Proposals are the proposals settled, by trial number; the claims
	// were made in this order, claim i by agent "trial-N" of Proposals[i].
	Proposals []Proposal `json:"proposals"`
	// Value is the settled value.
	Value []byte `json:"value"`
	// Outcome is the Resolver's full account (strategy, conflict, price,
	// coordinator's note).
	Outcome coordination.Resolution `json:"outcome"`
}

// Resolve settles the proposals for key with r (nil means the zero
// Resolver: by priority, then by weight, then the smaller value), the
// claims in trial order so the outcome does not depend on when or by
// which process they were proposed, and records the resolution. If the
// current proposals were resolved already, by this process or another,
// the recorded resolution is returned and nothing is recorded.
func (s *Shared) Resolve(ctx context.Context, key string, r *coordination.Resolver) (Resolution, error) {
	if err := checkKey(key); err != nil {
		return Resolution{}, err
	}
	if r == nil {
		r = &coordination.Resolver{}
	}
	subject := s.recPre + key
	for {
		pe, ok, err := s.last(ctx, s.stream, s.prefix+proposalsPrefix+key)
		if err != nil {
			return Resolution{}, fmt.Errorf("cluster: resolve %s: %w", key, err)
		}
		if !ok {
			return Resolution{}, fmt.Errorf("%w for %s", ErrNoProposals, key)
		}
		prev, err := s.lastRecord(ctx, subject)
		if err != nil {
			return Resolution{}, fmt.Errorf("cluster: resolve %s: %w", key, err)
		}
		if prev.Seq != 0 && prev.Revision >= pe.Revision {
			return prev, nil
		}
		var ps []Proposal
		if err := json.Unmarshal(pe.Value, &ps); err != nil {
			return Resolution{}, fmt.Errorf("cluster: proposals for %s: %w", key, err)
		}
		slices.SortStableFunc(ps, func(a, b Proposal) int { return cmp.Compare(a.Trial, b.Trial) })
		claims := make([]coordination.Claim, len(ps))
		for i, p := range ps {
			claims[i] = coordination.Claim{Agent: "trial-" + strconv.Itoa(p.Trial), Value: string(p.Value),
				Amount: p.Weight, Priority: p.Priority, Bid: p.Bid}
		}
		out, err := r.Settle(ctx, key, claims)
		if err != nil {
			return Resolution{}, fmt.Errorf("cluster: resolve %s: %w", key, err)
		}
		res := Resolution{Key: key, Revision: pe.Revision, Proposals: ps, Value: []byte(out.Value), Outcome: out}
		data, err := json.Marshal(res)
		if err != nil {
			return Resolution{}, fmt.Errorf("cluster: resolve %s: %w", key, err)
		}
		seq, err := s.publish(ctx, s.records, subject, data, prev.Seq)
		if isConflict(err) {
			continue // another process recorded a resolution first
		}
		if err != nil {
			return Resolution{}, fmt.Errorf("cluster: resolve %s: recording: %w", key, err)
		}
		res.Seq = seq
		return res, nil
	}
}

// lastRecord returns the last resolution recorded on subject; Seq 0 if
// there is none.
func (s *Shared) lastRecord(ctx context.Context, subject string) (Resolution, error) {
	e, ok, err := s.last(ctx, s.records, subject)
	if err != nil || !ok {
		return Resolution{}, err
	}
	var res Resolution
	if err := json.Unmarshal(e.Value, &res); err != nil {
		return Resolution{}, fmt.Errorf("resolution record %d: %w", e.Revision, err)
	}
	res.Seq = e.Revision
	return res, nil
}

// Resolutions returns every resolution recorded for key, oldest first.
func (s *Shared) Resolutions(ctx context.Context, key string) ([]Resolution, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	subject := s.recPre + key
	var out []Resolution
	for seq := uint64(1); ; {
		var m *jetstream.RawStreamMsg
		err := retry(ctx, func(ctx context.Context) error {
			var err error
			m, err = s.records.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
			return err
		})
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cluster: resolutions of %s: %w", key, err)
		}
		var res Resolution
		if err := json.Unmarshal(m.Data, &res); err != nil {
			return nil, fmt.Errorf("cluster: resolution record %d: %w", m.Sequence, err)
		}
		res.Seq = m.Sequence
		out = append(out, res)
		seq = m.Sequence + 1
	}
}
