package lm

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Chat message roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one chat message.
type Message struct {
	Role    string // RoleSystem, RoleUser or RoleAssistant
	Content string
}

// Request is one chat completion request.
type Request struct {
	// Model names the model, e.g. "sim-medium". It must not be empty.
	Model    string
	Messages []Message
	// Temperature is the sampling temperature; 0 means greedy (repeatable).
	Temperature float64
	// MaxTokens caps the completion; 0 means the backend's default.
	MaxTokens int
	// Sample distinguishes repeated samples of the same request when
	// Temperature > 0; backends that cannot honour it ignore it.
	Sample int
}

// Usage counts the tokens of one call.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// Price is what a model costs, in US dollars per million prompt and
// completion tokens.
type Price struct {
	Prompt, Completion float64
}

// Cost is the price of usage u.
func (p Price) Cost(u Usage) float64 {
	return (float64(u.PromptTokens)*p.Prompt + float64(u.CompletionTokens)*p.Completion) / 1e6
}

// Total is prompt plus completion tokens.
func (u Usage) Total() int { return u.PromptTokens + u.CompletionTokens }

// Add returns the element-wise sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{u.PromptTokens + v.PromptTokens, u.CompletionTokens + v.CompletionTokens}
}

// Response is the result of one call.
type Response struct {
	Text  string
	Usage Usage
	// Cost is the nominal price of the call in US dollars: what it costs
	// when made, also for a response served from a cache, so that budgets
	// and comparisons do not depend on the cache. Billed is what was paid.
	Cost float64
	// Latency is the (real or simulated) time the call took; 0 for a
	// cached response.
	Latency time.Duration
	// Cached reports that the response came from a cache: nothing was
	// billed.
	Cached bool
	// Retries counts the attempts that failed before this response (rate
	// limits, server errors, timeouts, unreadable replies); 0 for a cached
	// response.
	Retries int
}

// Billed is what the call was billed in US dollars: Cost, or 0 for a
// response served from a cache.
func (r Response) Billed() float64 {
	if r.Cached {
		return 0
	}
	return r.Cost
}

// Model is a language model. Implementations must be safe for concurrent use.
type Model interface {
	Generate(ctx context.Context, req Request) (Response, error)
}

// Sampler is implemented by models that can draw several samples of one
// request in a single call (the OpenAI API's n). GenerateSamples returns n
// responses: the i-th is the sample req.Sample+i, the reply Generate would
// give with that Sample. The usage and cost of the call are split over the
// samples so that their sum is the call's.
type Sampler interface {
	GenerateSamples(ctx context.Context, req Request, n int) ([]Response, error)
}

// GenerateSamples draws n >= 1 samples of req from m, the samples
// req.Sample .. req.Sample+n-1: in one call when m is a Sampler, else one
// Generate call each.
func GenerateSamples(ctx context.Context, m Model, req Request, n int) ([]Response, error) {
	if n < 1 {
		return nil, &Error{Kind: ErrBadRequest, Model: req.Model, Err: fmt.Errorf("%d samples requested", n)}
	}
	if s, ok := m.(Sampler); ok {
		return s.GenerateSamples(ctx, req, n)
	}
	out := make([]Response, n)
	for i := range out {
		r := req
		r.Sample = req.Sample + i
		resp, err := m.Generate(ctx, r)
		if err != nil {
			return nil, err
		}
		out[i] = resp
	}
	return out, nil
}

// Pricer is implemented by models whose prices are settings rather than
// part of their identity (a server's price table): Cost is the nominal
// price of usage u of the named model now. The cache prices its replies
// with it.
type Pricer interface {
	Cost(model string, u Usage) float64
}

// Identifier is implemented by models that can name the world they answer
// from: the backend, its seed and settings, its version. Two models with
// the same identity give the same response to the same request; the
// response cache keys on it, so a changed backend never serves another's
// answers.
type Identifier interface {
	Identity() string
}

// IdentityOf returns m's identity: m.Identity() for an Identifier, else
// the model's Go type (a weak identity: such a model should implement
// Identifier before its responses are cached across runs).
func IdentityOf(m Model) string {
	if id, ok := m.(Identifier); ok {
		return id.Identity()
	}
	return fmt.Sprintf("%T", m)
}

// ModelFunc adapts a function to the Model interface.
type ModelFunc func(ctx context.Context, req Request) (Response, error)

// Generate calls f.
func (f ModelFunc) Generate(ctx context.Context, req Request) (Response, error) { return f(ctx, req) }

// Sentinel errors, matched with errors.Is. Retry ErrRateLimited, ErrTimeout
// and ErrServer; do not retry ErrBadRequest, ErrUnknownModel or ErrAuth.
var (
	ErrRateLimited  = errors.New("lm: rate limited")
	ErrTimeout      = errors.New("lm: timeout")
	ErrBadRequest   = errors.New("lm: bad request")
	ErrUnknownModel = errors.New("lm: unknown model")
	// ErrServer is a failure on the server's side or on the way back: a
	// 5xx status, a network error, or an unreadable, malformed or
	// truncated reply.
	ErrServer = errors.New("lm: server error")
	// ErrAuth is a refused credential (HTTP 401 or 403).
	ErrAuth = errors.New("lm: authentication failed")
)

// Error is a failed call. Kind is one of the sentinels above; errors.Is(err,
// lm.ErrRateLimited) works on an *Error.
type Error struct {
	Kind  error  // one of the Err* sentinels
	Model string // the model that failed, if known
	// RetryAfter is the server's hint for rate-limited calls; 0 if none.
	RetryAfter time.Duration
	Err        error // the underlying cause, may be nil
}

func (e *Error) Error() string {
	msg := e.Kind.Error()
	if e.Model != "" {
		msg += " (model " + e.Model + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is e's kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether a call that failed with err may succeed if tried
// again: rate limits, timeouts (including context deadline on the call) and
// server errors.
func Retryable(err error) bool {
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrTimeout) || errors.Is(err, ErrServer)
}

// Fatal reports whether a call that failed with err says that no call can
// succeed until the set-up is fixed: a refused API key (ErrAuth) or a model
// the backend does not have (ErrUnknownModel). A study stops on such an
// error instead of failing trial after trial.
func Fatal(err error) bool {
	return errors.Is(err, ErrAuth) || errors.Is(err, ErrUnknownModel)
}

// Validate checks the fields every backend needs.
func (r *Request) Validate() error {
	if r.Model == "" {
		return &Error{Kind: ErrBadRequest, Err: errors.New("empty model name")}
	}
	if len(r.Messages) == 0 {
		return &Error{Kind: ErrBadRequest, Model: r.Model, Err: errors.New("no messages")}
	}
	if r.Temperature < 0 || r.Temperature > 2 {
		return &Error{Kind: ErrBadRequest, Model: r.Model, Err: fmt.Errorf("temperature %g outside [0, 2]", r.Temperature)}
	}
	if r.MaxTokens < 0 {
		return &Error{Kind: ErrBadRequest, Model: r.Model, Err: fmt.Errorf("max tokens %d is negative", r.MaxTokens)}
	}
	return nil
}

// EstimateTokens is the rough token count of text (about four bytes a token)
// used by backends that do not tokenize.
func EstimateTokens(text string) int { return (len(text) + 3) / 4 }
