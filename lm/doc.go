// Package lm defines the language-model interface every agent calls: a chat
// request goes in, text, token usage, cost and latency come out. A caller
// sends Model.Generate a Request (a model name and the chat messages that
// lm/prompt renders); Cached puts a response cache in front of any Model.
//
// Backends live in their own packages: lm/sim is the embedded surrogate model
// (the default, offline and deterministic); lm/openai is a client for any
// OpenAI-compatible chat completions server, with retries, concurrency and
// rate limits. Errors are typed (see Error and the Err* sentinels) so callers
// can retry the right ones.
package lm
