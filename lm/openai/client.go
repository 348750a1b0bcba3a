package openai

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
	"golang.org/x/time/rate"

	"github.com/mabeam/mabeam/lm"
)

// Defaults of Options.
const (
	DefaultConcurrency = 16
	DefaultTimeout     = 60 * time.Second
	DefaultMaxRetries  = 6
	DefaultMinBackoff  = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
)

// reserveCompletion is the completion a request without MaxTokens reserves
// from TokensPerMinute.
const reserveCompletion = 256

// Options configures a Client. Only BaseURL is required; every other zero
// value is the default.
type Options struct {
	// BaseURL is the server's API root, http or https, e.g.
	// "http://127.0.0.1:8000/v1"; a trailing slash is dropped.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>"; empty sends none
	// (local servers need none). It is never shown.
	APIKey string
	// Models maps the team's model names to the server's; a name not in
	// it is sent as it is. Nil maps nothing.
	Models map[string]string
	// Prices are by server model name; a model without one costs 0.
	Prices map[string]lm.Price
	// Concurrency is the requests in flight at once; 0 means 16.
	Concurrency int
	// RequestsPerMinute and TokensPerMinute are the rates of two token
	// buckets every request waits on; 0 means no limit. With a Limiter
	// they only describe the limits, which the Limiter enforces.
	RequestsPerMinute, TokensPerMinute float64
	// Limiter is what every attempt waits on before it is sent; nil means
	// NewLocalLimiter(RequestsPerMinute, TokensPerMinute), this process's
	// own buckets. A Limiter shared by the processes of a distributed run
	// (cluster.NewLimiter) holds the whole run to one allowance.
	Limiter Limiter
	// Timeout bounds one attempt, from sending to the last byte of the
	// reply; 0 means 60 s.
	Timeout time.Duration
	// MaxRetries is the retries of a call after its first attempt; 0 means
	// 6, a negative number none.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the wait before a retry; 0 means
	// 500 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// HTTPClient sends the requests; nil means a client whose transport
	// keeps Concurrency connections to the server (the standard one keeps
	// two idle, so most calls would open a new connection).
	HTTPClient *http.Client
	// Seed seeds the backoff's jitter.
	Seed uint64
}

// String shows the options without the API key.
func (o Options) String() string {
	type plain Options // no String method
	p := plain(o)
	if p.APIKey != "" {
		p.APIKey = "[redacted]"
	}
	return fmt.Sprintf("%+v", p)
}

// GoString is String, for %#v.
func (o Options) GoString() string { return "openai.Options" + o.String() }

// Limiter spreads a client's requests over time under its limits.
type Limiter interface {
	// Wait blocks until one request of this many tokens may be sent under
	// the limits, or returns an error (ctx's end, or a limit that leaves
	// no time before ctx's deadline).
	Wait(ctx context.Context, tokens int) error
}

// NewLocalLimiter returns a Limiter of two token buckets in this process,
// requestsPerMinute and tokensPerMinute, each holding one second's worth
// (at least 1); a rate of 0 means no limit. A request of more tokens than
// its bucket holds waits for it in parts. It panics on a negative, NaN or
// infinite rate.
func NewLocalLimiter(requestsPerMinute, tokensPerMinute float64) Limiter {
	return &localLimiter{reqs: bucket("requestsPerMinute", requestsPerMinute), toks: bucket("tokensPerMinute", tokensPerMinute)}
}

// bucket is a token bucket of perMinute, nil for 0.
func bucket(name string, perMinute float64) *rate.Limiter {
	if !(perMinute >= 0) || math.IsInf(perMinute, 0) {
		panic(fmt.Sprintf("openai: NewLocalLimiter: %s %g is not a finite rate >= 0", name, perMinute))
	}
	if perMinute == 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(perMinute/60), max(1, int(perMinute/60)))
}

// localLimiter is NewLocalLimiter's Limiter.
type localLimiter struct {
	reqs, toks *rate.Limiter // nil: no limit
}

func (l *localLimiter) Wait(ctx context.Context, tokens int) error {
	if l.reqs != nil {
		if err := l.reqs.Wait(ctx); err != nil {
			return err
		}
	}
	for n := tokens; l.toks != nil && n > 0; {
		k := min(n, l.toks.Burst()) // a request larger than the bucket waits for it in parts
		if err := l.toks.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// Stats counts what a Client did.
type Stats struct {
	Calls        int64 // requests asked for, each with its retries
	Requests     int64 // HTTP requests sent: attempts
	Retries      int64 // attempts after the first of a call
	RateLimited  int64 // 429 replies
	ServerErrors int64 // 5xx replies and network errors
	Unreadable   int64 // malformed or truncated replies, replies without choices
	Timeouts     int64 // attempts that ran out of time
	Failed       int64 // calls that returned an error
}

// Client is an lm.Model on an OpenAI-compatible server. It is safe for
// concurrent use; one Client should serve every study of a run, so that
// its limits hold for the run. It is not an lm.Lister: a name outside
// Options.Models is sent as it is, and only the server knows its models.
type Client struct {
	api        *goopenai.Client
	base       string // the normalized BaseURL, password hidden: for messages
	identity   string
	key        secret // only to cut it out of servers' messages
	models     map[string]string
	prices     map[string]lm.Price
	sem        chan struct{} // a slot per request in flight
	limit      Limiter
	timeout    time.Duration
	maxRetries int
	minBackoff time.Duration
	maxBackoff time.Duration

	mu  sync.Mutex // protects rng
	rng *rand.Rand

	ignoresN atomic.Bool // the server answered n > 1 with fewer choices
	stats    struct {
		calls, requests, retries, rateLimited, serverErrors, unreadable, timeouts, failed atomic.Int64
	}
}

var (
	_ lm.Pricer     = (*Client)(nil)
	_ lm.Model      = (*Client)(nil)
	_ lm.Sampler    = (*Client)(nil)
	_ lm.Identifier = (*Client)(nil)
	_ Limiter       = (*localLimiter)(nil)
)

// New returns a client for the server at opts.BaseURL. It checks the
// options and names the first bad field.
func New(opts *Options) (*Client, error) {
	if opts == nil {
		return nil, errors.New("openai: nil Options: BaseURL is required")
	}
	o := *opts
	base, shown, err := normalizeURL(o.BaseURL)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Concurrency < 0:
		return nil, fmt.Errorf("openai: Concurrency %d is negative", o.Concurrency)
	case !(o.RequestsPerMinute >= 0) || math.IsInf(o.RequestsPerMinute, 0):
		return nil, fmt.Errorf("openai: RequestsPerMinute %g is not a finite rate >= 0", o.RequestsPerMinute)
	case !(o.TokensPerMinute >= 0) || math.IsInf(o.TokensPerMinute, 0):
		return nil, fmt.Errorf("openai: TokensPerMinute %g is not a finite rate >= 0", o.TokensPerMinute)
	case o.Timeout < 0:
		return nil, fmt.Errorf("openai: Timeout %v is negative", o.Timeout)
	case o.MinBackoff < 0:
		return nil, fmt.Errorf("openai: MinBackoff %v is negative", o.MinBackoff)
	case o.MaxBackoff < 0:
		return nil, fmt.Errorf("openai: MaxBackoff %v is negative", o.MaxBackoff)
	}
	o.Concurrency = cmpOr(o.Concurrency, DefaultConcurrency)
	o.Timeout = cmpOr(o.Timeout, DefaultTimeout)
	o.MinBackoff = cmpOr(o.MinBackoff, DefaultMinBackoff)
	o.MaxBackoff = cmpOr(o.MaxBackoff, DefaultMaxBackoff)
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = DefaultMaxRetries
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.MinBackoff > o.MaxBackoff {
		return nil, fmt.Errorf("openai: MinBackoff %v is above MaxBackoff %v", o.MinBackoff, o.MaxBackoff)
	}
	models := make(map[string]string, len(o.Models))
	for team, srv := range o.Models {
		if team == "" || srv == "" {
			return nil, fmt.Errorf("openai: Models maps %q to %q; neither may be empty", team, srv)
		}
		models[team] = srv
	}
	prices := make(map[string]lm.Price, len(o.Prices))
	for m, p := range o.Prices {
		if !(p.Prompt >= 0) || !(p.Completion >= 0) || math.IsInf(p.Prompt+p.Completion, 0) {
			return nil, fmt.Errorf("openai: Prices[%q] = %+v; want finite prices >= 0", m, p)
		}
		prices[m] = p
	}

	hc := o.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = max(t.MaxIdleConns, o.Concurrency)
		t.MaxIdleConnsPerHost = o.Concurrency
		t.MaxConnsPerHost = o.Concurrency
		hc = &http.Client{Transport: t}
	}
	c := &Client{
		base:       shown,
		identity:   fmt.Sprintf("openai base=%s models=%s", shown, hashModels(models)),
		key:        secret(o.APIKey),
		models:     models,
		prices:     prices,
		sem:        make(chan struct{}, o.Concurrency),
		timeout:    o.Timeout,
		maxRetries: o.MaxRetries,
		minBackoff: o.MinBackoff,
		maxBackoff: o.MaxBackoff,
		rng:        rand.New(rand.NewPCG(o.Seed, 0x6261636b6f6666)),
		limit:      o.Limiter,
	}
	if c.limit == nil {
		c.limit = NewLocalLimiter(o.RequestsPerMinute, o.TokensPerMinute)
	}
	cfg := goopenai.DefaultConfig(o.APIKey)
	cfg.BaseURL = base
	cfg.HTTPClient = &doer{hc: hc, sent: &c.stats.requests}
	c.api = goopenai.NewClientWithConfig(cfg)
	return c, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// secret is the API key, which prints as "[redacted]" even inside a
// struct printed whole.
type secret string

func (secret) String() string   { return "[redacted]" }
func (secret) GoString() string { return "[redacted]" }

// normalizeURL checks a base URL and returns it without a trailing slash,
// and the same with any password hidden.
func normalizeURL(raw string) (base, shown string, err error) {
	if raw == "" {
		return "", "", errors.New("openai: BaseURL is required, e.g. http://127.0.0.1:8000/v1")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("openai: BaseURL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("openai: BaseURL %q is not an http or https URL", u.Redacted())
	case u.Host == "":
		return "", "", fmt.Errorf("openai: BaseURL %q has no host", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return "", "", fmt.Errorf("openai: BaseURL %q has a query or fragment", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), u.Redacted(), nil
}

// hashModels is a short hash of the sorted mapping.
func hashModels(m map[string]string) string {
	h := sha256.New()
	var n [8]byte
	for _, team := range slices.Sorted(maps.Keys(m)) {
		for _, s := range []string{team, m[team]} {
			binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
			h.Write(n[:])
			h.Write([]byte(s))
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Identity implements lm.Identifier: the server and the model mapping,
// never the key. It cannot see the server's weights: when a server model
// changes behind the same name, so must the cache.
func (c *Client) Identity() string { return c.identity }

// String names the client's server.
func (c *Client) String() string { return "openai.Client(" + c.base + ")" }

// Stats returns what the client has done so far.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		Calls: s.calls.Load(), Requests: s.requests.Load(), Retries: s.retries.Load(),
		RateLimited: s.rateLimited.Load(), ServerErrors: s.serverErrors.Load(),
		Unreadable: s.unreadable.Load(), Timeouts: s.timeouts.Load(), Failed: s.failed.Load(),
	}
}

// serverModel is the server's name for a team's model name.
func (c *Client) serverModel(team string) string {
	if s, ok := c.models[team]; ok {
		return s
	}
	return team
}

// Generate implements lm.Model.
func (c *Client) Generate(ctx context.Context, req lm.Request) (lm.Response, error) {
	rs, err := c.complete(ctx, req, 1)
	if err != nil {
		return lm.Response{}, err
	}
	return rs[0], nil
}

// GenerateSamples implements lm.Sampler: one request for the n samples, or
// one request each when the server ignores n.
func (c *Client) GenerateSamples(ctx context.Context, req lm.Request, n int) ([]lm.Response, error) {
	if n < 1 {
		return nil, &lm.Error{Kind: lm.ErrBadRequest, Model: req.Model, Err: fmt.Errorf("%d samples requested", n)}
	}
	if n == 1 || c.ignoresN.Load() {
		return c.oneEach(ctx, req, nil, n)
	}
	rs, err := c.complete(ctx, req, n)
	if err != nil || len(rs) == n {
		return rs, err
	}
	c.ignoresN.Store(true)
	return c.oneEach(ctx, req, rs, n)
}

// oneEach draws the samples after those in have, one request each, at
// once; the first error cancels the others.
func (c *Client) oneEach(ctx context.Context, req lm.Request, have []lm.Response, n int) ([]lm.Response, error) {
	out := make([]lm.Response, n)
	copy(out, have)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for i := len(have); i < n; i++ {
		wg.Go(func() {
			r := req
			r.Sample = req.Sample + i
			resp, err := c.Generate(ctx, r)
			if err != nil {
				once.Do(func() { first = err; cancel() })
				return
			}
			out[i] = resp
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}

// complete asks for n samples of req in one request, with retries, and
// returns the samples of the reply: n, or fewer if the server sent fewer.
func (c *Client) complete(ctx context.Context, req lm.Request, n int) ([]lm.Response, error) {
	c.stats.calls.Add(1)
	rs, err := c.try(ctx, req, n)
	if err != nil {
		c.stats.failed.Add(1)
	}
	return rs, err
}

func (c *Client) try(ctx context.Context, req lm.Request, n int) ([]lm.Response, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	model := c.serverModel(req.Model)
	creq := goopenai.ChatCompletionRequest{
		Model:       model,
		Messages:    make([]goopenai.ChatCompletionMessage, len(req.Messages)),
		Temperature: float32(req.Temperature),
		MaxTokens:   req.MaxTokens,
	}
	for i, m := range req.Messages {
		creq.Messages[i] = goopenai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	if n > 1 {
		creq.N = n
	}
	if req.Temperature > 0 {
		seed := req.Sample
		creq.Seed = &seed
	}
	prompt := promptTokens(req.Messages)
	reserve := (prompt + cmpOr(req.MaxTokens, reserveCompletion)) * n

	start := time.Now()
	var waited time.Duration // on the client's own limits: not the model's latency
	for attempt := 0; ; attempt++ {
		w, err := c.acquire(ctx, req.Model, reserve)
		waited += w
		if err != nil {
			return nil, err
		}
		reply, err := c.send(ctx, &creq, req.Model)
		<-c.sem
		if err == nil {
			return c.responses(reply, model, prompt, n, time.Since(start)-waited, attempt), nil
		}
		if ctx.Err() != nil {
			return nil, ctxError(req.Model, ctx.Err())
		}
		var le *lm.Error
		if !lm.Retryable(err) || !errors.As(err, &le) {
			return nil, err
		}
		if attempt == c.maxRetries {
			return nil, &lm.Error{Kind: le.Kind, Model: le.Model, RetryAfter: le.RetryAfter,
				Err: fmt.Errorf("gave up after %d attempts; the last: %w", attempt+1, le.Err)}
		}
		c.stats.retries.Add(1)
		if err := c.backoff(ctx, attempt, le.RetryAfter); err != nil {
			return nil, ctxError(req.Model, err)
		}
	}
}

// promptTokens estimates the prompt's tokens.
func promptTokens(msgs []lm.Message) int {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Content)
	}
	return lm.EstimateTokens(b.String())
}

// acquire takes a request slot and waits on the rate limits, returning how
// long it waited. On success the caller releases the slot.
func (c *Client) acquire(ctx context.Context, model string, tokens int) (time.Duration, error) {
	start := time.Now()
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return time.Since(start), ctxError(model, ctx.Err())
	}
	if err := c.limit.Wait(ctx, tokens); err != nil {
		<-c.sem
		if ctx.Err() != nil {
			return time.Since(start), ctxError(model, ctx.Err())
		}
		return time.Since(start), &lm.Error{Kind: lm.ErrTimeout, Model: model,
			Err: fmt.Errorf("waiting on the rate limit: %w", err)}
	}
	return time.Since(start), nil
}

// backoff sleeps before retry attempt+1: a uniform draw between MinBackoff
// and min(MaxBackoff, MinBackoff·2^(attempt+1)), and at least after.
func (c *Client) backoff(ctx context.Context, attempt int, after time.Duration) error {
	ceil := c.maxBackoff
	if attempt+1 < 62 && c.minBackoff < c.maxBackoff>>(attempt+1) {
		ceil = c.minBackoff << (attempt + 1)
	}
	c.mu.Lock()
	d := c.minBackoff + time.Duration(c.rng.Int64N(int64(ceil-c.minBackoff)+1))
	c.mu.Unlock()
	t := time.NewTimer(max(d, after))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ctxError reports a call cut short by its context: a deadline is an
// lm.ErrTimeout (retryable); a cancellation is returned as is.
func ctxError(model string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &lm.Error{Kind: lm.ErrTimeout, Model: model, Err: err}
	}
	return err
}

// responses turns a reply into at most n samples, splitting its usage
// over them.
// Cost implements lm.Pricer: the price of usage u of the team's model
// name, by the price table of the server model it maps to.
func (c *Client) Cost(team string, u lm.Usage) float64 { return c.cost(c.serverModel(team), u) }

// cost prices usage u of a server model.
func (c *Client) cost(server string, u lm.Usage) float64 { return c.prices[server].Cost(u) }

func (c *Client) responses(reply goopenai.ChatCompletionResponse, model string, prompt, n int, latency time.Duration, retries int) []lm.Response {
	k := min(len(reply.Choices), n)
	lens := make([]int, k)
	sum := 0
	for i := range k {
		lens[i] = lm.EstimateTokens(reply.Choices[i].Message.Content)
		sum += lens[i]
	}
	usage := lm.Usage{PromptTokens: reply.Usage.PromptTokens, CompletionTokens: reply.Usage.CompletionTokens}
	if usage == (lm.Usage{}) && reply.Usage.TotalTokens == 0 {
		usage = lm.Usage{PromptTokens: prompt, CompletionTokens: sum}
	}
	out := make([]lm.Response, k)
	done, cum := 0, 0
	for i := range k {
		// Shares by cumulative rounding, so they add up to the total.
		cum += lens[i]
		share := usage.CompletionTokens * (i + 1) / k
		if sum > 0 {
			share = int(int64(usage.CompletionTokens) * int64(cum) / int64(sum))
		}
		u := lm.Usage{CompletionTokens: share - done}
		done = share
		if i == 0 {
			u.PromptTokens = usage.PromptTokens
		}
		out[i] = lm.Response{
			Text:    reply.Choices[i].Message.Content,
			Usage:   u,
			Cost:    c.cost(model, u),
			Latency: latency,
		}
	}
	out[0].Retries = retries
	return out
}
