// Package evaluation runs a program (a team) over a batch of examples
// concurrently and computes team and per-agent metrics: scores with a
// confidence interval, calls, tokens, cost, communication and agreement.
// Evaluate(ctx, program, examples, metric, opts) returns the Report.
package evaluation
