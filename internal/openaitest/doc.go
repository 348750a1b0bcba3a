// Package openaitest is an OpenAI-compatible chat completions server on
// loopback, for tests: answers come from an lm.Model, and faults (rate
// limits, server errors, malformed, truncated and slow replies, wrong
// answers) are drawn at given rates from a seeded source.
//
// It serves POST /v1/chat/completions and nothing else. Choice i of a
// request is the backend's reply to the request's model, messages,
// temperature (1 when absent, as in the OpenAI API), max_tokens (or
// max_completion_tokens) and Sample seed+i, where seed is the request's
// seed field or 0; so a server backed by sim.New(opts) answers what
// sim.New(opts) does. The reply's usage is the prompt tokens of the first
// choice's response and the completion tokens summed over the choices.
package openaitest
