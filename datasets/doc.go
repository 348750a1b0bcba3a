// Package datasets provides benchmark examples: built-in generated families
// with exact answers and solvers, JSONL loaders and writers, splits, and
// answer metrics.
package datasets
