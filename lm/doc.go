// Package lm defines the language-model interface every agent calls: a chat
// request goes in, text, token usage, cost and latency come out.
//
// Backends live in their own packages: lm/sim is the embedded surrogate model
// (the default, offline and deterministic); an OpenAI-compatible client comes
// later. Errors are typed (see Error and the Err* sentinels) so callers can
// retry the right ones.
package lm
