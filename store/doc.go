// Package store keeps studies, trials, per-agent and per-example results, the
// LM response cache and an event log in one SQLite file (schema: docs/schema.md).
// Open creates or opens the file; CreateStudy records a study, and
// FinishTrial commits each of its trials in one transaction.
package store
