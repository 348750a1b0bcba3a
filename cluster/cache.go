package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mabeam/mabeam/lm"
	"github.com/nats-io/nats.go"
)

// ErrRemoteCache is matched (errors.Is) by the errors of a RemoteCache
// whose coordinator answered with an error: its cache failed, or it could
// not read the request.
var ErrRemoteCache = errors.New("cluster: the coordinator's cache reported an error")

const (
	// cacheQueueGroup is the queue group of every ServeCache subscription.
	cacheQueueGroup = "mabeam-cache"
	// cacheConcurrency bounds the requests a CacheServer answers at once.
	cacheConcurrency = 64
	// defaultCacheTimeout is a RemoteCache's wait for a reply when none is
	// set.
	defaultCacheTimeout = 5 * time.Second
	// maxErrorReply caps an error message in a reply, so an error always
	// fits in one.
	maxErrorReply = 1024
)

// cacheGet and cachePut are the bodies of the requests; cacheReply is the
// body of every reply.
type (
	cacheGet struct {
		Key string `json:"key"`
	}
	cachePut struct {
		Key      string      `json:"key"`
		Request  lm.Request  `json:"request"`
		Response lm.Response `json:"response"`
	}
	cacheReply struct {
		Found    bool         `json:"found,omitempty"`
		Response *lm.Response `json:"response,omitempty"`
		Error    string       `json:"error,omitempty"`
		TooLarge int          `json:"too_large,omitempty"`
	}
)

func cacheGetSubject(subject string) string { return subject + ".get" }
func cachePutSubject(subject string) string { return subject + ".put" }

// checkCacheSubject reports whether subject can prefix a cache's subjects:
// dot-separated tokens without wildcards or white space.
func checkCacheSubject(subject string) error {
	if subject == "" {
		return errors.New("cluster: a cache needs a subject")
	}
	for tok := range strings.SplitSeq(subject, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return fmt.Errorf("cluster: cache subject %q: want dot-separated tokens without wildcards or white space", subject)
		}
	}
	return nil
}

// CacheServer answers a worker's cache requests from the coordinator's
// lm.Cache; see ServeCache.
type CacheServer struct {
	nc   *nats.Conn
	c    lm.Cache
	ctx  context.Context // for the cache's calls; never canceled
	sem  chan struct{}   // a slot per request being answered
	subs [2]*nats.Subscription

	mu        sync.Mutex // protects the following fields and the Add calls of wg
	closed    bool       // Close was called: no request is taken up
	stopAfter func() bool
	wg        sync.WaitGroup // the requests being answered
}

// ServeCache makes c, the run's LM cache on the coordinator, the cache of
// the workers whose RemoteCache uses the same subject: it answers gets on
// subject+".get" and puts on subject+".put" until ctx ends or Close is
// called. It returns once the server has its subscriptions, so a worker's
// request sent afterwards reaches it.
//
// The messages are JSON. A get's body is {"key": K}; a put's is {"key": K,
// "request": R, "response": P}, R an lm.Request and P an lm.Response in
// encoding/json's default form (Go field names, Latency in nanoseconds).
// The reply is {"found": true, "response": P} for a hit, {} for a miss or
// a stored put, {"error": E} when c failed or the request was unreadable,
// and {"too_large": N} when the hit's reply (N bytes) would exceed the
// server's max payload.
//
// Up to 64 requests are answered at once, each with its own call of c's Get
// or Put, so a slow store does not hold up the other workers; requests
// beyond that wait in the subscription. The calls get ctx's values but not
// its cancellation: when ctx ends the requests in hand are still answered.
//
// The subscriptions are in one queue group ("mabeam-cache"), so of several
// processes serving the same subject only one answers each request; serve
// a run's cache from one process, as two caches would each hold part of
// the run.
func ServeCache(ctx context.Context, nc *nats.Conn, subject string, c lm.Cache) (*CacheServer, error) {
	if err := checkCacheSubject(subject); err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("cluster: serve cache %s: the cache is nil", subject)
	}
	s := &CacheServer{nc: nc, c: c, ctx: context.WithoutCancel(ctx), sem: make(chan struct{}, cacheConcurrency)}
	for i, sub := range []struct {
		subject string
		answer  func(*nats.Msg) cacheReply
	}{{cacheGetSubject(subject), s.get}, {cachePutSubject(subject), s.put}} {
		var err error
		s.subs[i], err = nc.QueueSubscribe(sub.subject, cacheQueueGroup, func(m *nats.Msg) { s.take(m, sub.answer) })
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("cluster: serve cache %s: %w", subject, err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := nc.FlushWithContext(fctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("cluster: serve cache %s: %w", subject, err)
	}
	stop := context.AfterFunc(ctx, s.Close)
	s.mu.Lock()
	s.stopAfter = stop
	s.mu.Unlock()
	return s, nil
}

// take answers m in a goroutine of its own once a slot is free. It runs
// on the subscription's delivery goroutine, so waiting for a slot leaves
// later requests in the subscription.
func (s *CacheServer) take(m *nats.Msg, answer func(*nats.Msg) cacheReply) {
	if m.Reply == "" {
		return // not a request: nobody waits for the answer
	}
	s.sem <- struct{}{}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.sem
		return // the worker times out and sees no coordinator
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer func() { <-s.sem; s.wg.Done() }()
		respond(m, answer(m))
	}()
}

func (s *CacheServer) get(m *nats.Msg) cacheReply {
	var g cacheGet
	if err := json.Unmarshal(m.Data, &g); err != nil || g.Key == "" {
		return errorReply(fmt.Errorf("cluster: unreadable cache get (want {\"key\": ...}): %q", truncate(string(m.Data), 64)))
	}
	r, ok, err := s.c.Get(s.ctx, g.Key)
	switch {
	case err != nil:
		return errorReply(err)
	case !ok:
		return cacheReply{}
	}
	return cacheReply{Found: true, Response: &r}
}

func (s *CacheServer) put(m *nats.Msg) cacheReply {
	var p cachePut
	if err := json.Unmarshal(m.Data, &p); err != nil || p.Key == "" {
		return errorReply(fmt.Errorf("cluster: unreadable cache put (want {\"key\", \"request\", \"response\"}): %q", truncate(string(m.Data), 64)))
	}
	if err := s.c.Put(s.ctx, p.Key, p.Request, p.Response); err != nil {
		return errorReply(err)
	}
	return cacheReply{}
}

// respond sends r, or, when r is larger than the server's max payload, a
// reply saying so.
func respond(m *nats.Msg, r cacheReply) {
	data, err := json.Marshal(r)
	if err != nil { // e.g. a stored response with a NaN cost
		data, _ = json.Marshal(errorReply(fmt.Errorf("cluster: encoding the cache's reply: %w", err)))
	}
	if err := m.Respond(data); errors.Is(err, nats.ErrMaxPayload) {
		data, _ = json.Marshal(cacheReply{TooLarge: len(data)})
		m.Respond(data)
	}
}

func errorReply(err error) cacheReply { return cacheReply{Error: truncate(err.Error(), maxErrorReply)} }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Close stops serving: it unsubscribes, waits for the requests being
// answered, and returns. Requests not yet taken up are not answered; their
// workers time out and carry on without the cache. The cache c is not
// used after Close returns. Close may be called more than once.
func (s *CacheServer) Close() {
	s.mu.Lock()
	s.closed = true
	stop := s.stopAfter
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	for _, sub := range s.subs {
		if sub != nil {
			sub.Unsubscribe()
		}
	}
	s.wg.Wait()
}

// RemoteCache is a worker's lm.Cache: the coordinator's, over NATS
// request-reply (ServeCache on the same subject), so that workers share
// one cache and a distributed run makes the model calls a local one makes.
// Put lm.Cached(model, remote) in front of the worker's model.
//
// The cache is an optimisation, so a coordinator that cannot be reached
// (no process serves the subject, or none replies within the timeout)
// does not fail the worker's calls: a get is a miss, and the worker calls
// the model itself; a put returns nil, and the answer is not cached, so
// another worker asking the same may pay for it again. Both are counted
// in Stats.Unreachable. The coordinator's own cache failing is an error,
// as it would be locally.
//
// A message cannot exceed the server's max payload (nc.MaxPayload(), 1 MB
// by default): a put whose encoding is larger is not sent and returns nil,
// and a get whose stored response is too large to send back is a miss;
// both are counted in Stats.TooLarge, and the model is called again each
// time such a request is made. Raise the server's max_payload if that is
// common.
//
// Its methods are safe for concurrent use.
type RemoteCache struct {
	nc      *nats.Conn
	subject string
	timeout time.Duration

	hits, misses, puts, unreachable, tooLarge atomic.Int64
}

var _ lm.Cache = (*RemoteCache)(nil)

// CacheStats counts a RemoteCache's requests. Each get is counted once, as
// a hit, a miss, unreachable or too large (or not at all when it failed);
// each put as stored, unreachable or too large.
type CacheStats struct {
	// Hits counts the gets the coordinator answered with a response.
	Hits int64
	// Misses counts the gets the coordinator answered without one.
	Misses int64
	// Puts counts the puts the coordinator stored.
	Puts int64
	// Unreachable counts the gets and puts that found no coordinator: no
	// responders on the subject, or no reply within the timeout. The gets
	// were misses and the puts not stored.
	Unreachable int64
	// TooLarge counts the puts not sent and the gets not answered because
	// the message exceeded the server's max payload.
	TooLarge int64
}

// NewRemoteCache returns the cache served by ServeCache on subject,
// reached through nc; each request waits up to timeout for the
// coordinator's reply (<= 0 means 5 s). The subject is checked by the
// first request.
func NewRemoteCache(nc *nats.Conn, subject string, timeout time.Duration) *RemoteCache {
	if timeout <= 0 {
		timeout = defaultCacheTimeout
	}
	return &RemoteCache{nc: nc, subject: subject, timeout: timeout}
}

// Stats returns the counts of the requests made so far.
func (r *RemoteCache) Stats() CacheStats {
	return CacheStats{
		Hits: r.hits.Load(), Misses: r.misses.Load(), Puts: r.puts.Load(),
		Unreachable: r.unreachable.Load(), TooLarge: r.tooLarge.Load(),
	}
}

// Get implements lm.Cache: it asks the coordinator for the response
// stored under key. An unreachable coordinator, or a response too large to
// send, is a miss.
func (r *RemoteCache) Get(ctx context.Context, key string) (lm.Response, bool, error) {
	rep, reached, err := r.request(ctx, "get", cacheGetSubject(r.subject), key, cacheGet{Key: key})
	switch {
	case err != nil:
		return lm.Response{}, false, err
	case !reached:
		return lm.Response{}, false, nil
	case rep.TooLarge > 0:
		r.tooLarge.Add(1)
		return lm.Response{}, false, nil
	case !rep.Found:
		r.misses.Add(1)
		return lm.Response{}, false, nil
	case rep.Response == nil:
		return lm.Response{}, false, fmt.Errorf("cluster: cache %s: get %.12s: a hit without a response", r.subject, key)
	}
	r.hits.Add(1)
	return *rep.Response, true, nil
}

// Put implements lm.Cache: it sends resp to the coordinator to store under
// key and waits for the acknowledgement. It returns nil without storing
// when the coordinator is unreachable or the message too large.
func (r *RemoteCache) Put(ctx context.Context, key string, req lm.Request, resp lm.Response) error {
	_, reached, err := r.request(ctx, "put", cachePutSubject(r.subject), key, cachePut{Key: key, Request: req, Response: resp})
	if err != nil || !reached {
		return err
	}
	r.puts.Add(1)
	return nil
}

// request sends body on subject and decodes the reply. reached is false,
// with a nil error, when the request found no coordinator or did not fit
// in a message (both counted here); a reply with the cache's error is an
// error matching ErrRemoteCache.
func (r *RemoteCache) request(ctx context.Context, op, subject, key string, body any) (rep cacheReply, reached bool, err error) {
	fail := func(err error) (cacheReply, bool, error) {
		return cacheReply{}, false, fmt.Errorf("cluster: cache %s: %s %.12s: %w", r.subject, op, key, err)
	}
	if err := checkCacheSubject(r.subject); err != nil {
		return cacheReply{}, false, err
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fail(fmt.Errorf("encoding: %w", err))
	}
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	m, err := r.nc.RequestWithContext(rctx, subject, data)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return fail(ctx.Err()) // the caller gave up, not the coordinator
	case errors.Is(err, nats.ErrMaxPayload):
		r.tooLarge.Add(1)
		return cacheReply{}, false, nil
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrReconnectBufExceeded):
		r.unreachable.Add(1)
		return cacheReply{}, false, nil
	default:
		return fail(err) // e.g. the worker's connection is closed
	}
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return fail(fmt.Errorf("unreadable reply %q: %w", truncate(string(m.Data), 64), err))
	}
	if rep.Error != "" {
		return cacheReply{}, false, fmt.Errorf("%w: %s %.12s: %s", ErrRemoteCache, op, key, rep.Error)
	}
	return rep, true, nil
}
