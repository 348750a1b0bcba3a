// Package optimizer is the contract every optimizer shares: a Problem (space,
// evaluator, train/val/test splits), a Budget, Trials and a Result, the
// ask/tell Study for black-box use, the seeded random-search baseline, and a
// registry of optimizers by name.
//
// Two ways to drive an optimizer:
//
//   - Optimize(ctx, problem, budget): the optimizer evaluates candidate teams
//     itself (through Problem.Evaluator) until the budget is spent; the best
//     assignment on the validation split is then scored once on test.
//   - Ask/Tell on a Study: the caller evaluates, as with Optuna's ask-and-tell
//     interface; the study keeps the history a Sampler learns from.
//
// Reproducibility: a Sampler draws trial n from a generator seeded with
// (seed, n) and the finished trials before it, so the same seed gives the
// same trials, and a resumed study continues exactly where it stopped.
package optimizer
