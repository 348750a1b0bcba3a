// Package openai is an lm.Model for any OpenAI-compatible chat completions
// server (OpenAI, vLLM, Ollama, llama.cpp, LiteLLM and the like), built on
// github.com/sashabaranov/go-openai. New(&Options{BaseURL: ...}) returns
// the Client; share one among every study of a run.
//
// # Configuration
//
// The lm section of an experiment config maps onto Options: lm.base_url is
// BaseURL, lm.models is Models (the team's model names to the server's; a
// name not in it is sent as it is), lm.prices is Prices (USD per million
// tokens by server model name), and lm.concurrency, lm.requests_per_minute,
// lm.tokens_per_minute, lm.timeout and lm.max_retries are the fields of the
// same names. The API key is not in the config: the caller reads it from
// the environment variable named by lm.api_key_env and passes it as
// APIKey. The key is sent only in the Authorization header; it appears in
// no error, Identity or String, and is cut out of any message a server
// sends back. Nor is Options.Limiter in the config: a distributed run
// passes a Limiter its processes share (cluster.NewLimiter), so that the
// per-minute limits hold for the run rather than for each process;
// without one, the Client keeps its own buckets (NewLocalLimiter). The
// package logs nothing.
//
// # Limits
//
// One Client is meant to be shared by every study of a run, so that its
// limits hold for the run: at most Concurrency requests are in flight at
// once, and two token buckets, RequestsPerMinute and TokensPerMinute,
// spread the requests over time. A request reserves its estimated tokens:
// lm.EstimateTokens of its messages plus MaxTokens (256 when 0), times the
// samples asked for. The buckets hold one second's worth, so a run starts
// without a burst of a minute's requests (servers enforce per-minute limits
// at a finer grain). An Options.Limiter, when set, does this waiting
// instead: each attempt calls its Wait with the attempt's reserved tokens.
// Concurrency is always the Client's own.
//
// # Retries
//
// An attempt that is rate limited (429, lm.ErrRateLimited), fails on the
// server's side (5xx, a network error, or an unreadable reply: malformed or
// truncated JSON, or no choices; lm.ErrServer) or takes longer than Timeout
// (lm.ErrTimeout) is retried up to MaxRetries times. The wait before retry
// i (from 0) is drawn uniformly between MinBackoff and
// min(MaxBackoff, MinBackoff·2^(i+1)) (exponential backoff, full jitter),
// and is never shorter than the server's Retry-After (seconds or an HTTP
// date) or retry-after-ms. A bad request (400 and other 4xx, lm.ErrBadRequest),
// a refused key (401, 403, lm.ErrAuth) and an unknown model (404,
// lm.ErrUnknownModel) fail at once. Every error is an *lm.Error naming the
// team's model; the one after the last retry says how many attempts were
// made and why the last failed. A cancelled context ends a call at once,
// in flight or between attempts, and is returned as the context's error; a
// context deadline is an lm.ErrTimeout that wraps it. A response's Latency
// is the call's time, retries and backoff included, less its waits on the
// client's own limits, which measure the run rather than the server.
//
// # Samples
//
// GenerateSamples asks for n samples in one request (the API's n). A
// server that answers with fewer choices is taken to ignore n: the choices
// it sent are kept and the rest are asked for one request each, and from
// then on every request of the Client asks for one sample. Sample i of a
// request is sent with seed req.Sample+i when the temperature is above 0,
// so that a server can tell samples apart. The reply's usage is split over
// the samples so that their sum is the reply's: the prompt tokens and the
// retries go on the first sample, the completion tokens are shared in
// proportion to the samples' lengths, and every sample has the call's
// latency.
//
// # Temperature
//
// go-openai sends the temperature as a float32 and leaves out a zero one,
// which a server would read as its default (1 for OpenAI); the Client puts
// the zero back, so that temperature 0 is greedy on every server.
// A temperature of up to six significant digits, such as 0.7, arrives
// exactly.
package openai
