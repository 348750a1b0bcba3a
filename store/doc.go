// Package store keeps studies, trials, per-agent and per-example results, the
// LM response cache and an event log in one SQLite file (schema: docs/schema.md).
package store
