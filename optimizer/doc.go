// Package optimizer is the contract every optimizer shares: a Problem (space,
// evaluator, train/val/test splits), a Budget, Trials and a Result, the
// ask/tell Study for black-box use, the seeded random-search baseline, and a
// registry of optimizers by name. New(name, settings) builds a registered
// optimizer ("random" here; "simba", "beacon", "gptswarm" and "agentprune"
// once their packages are imported), and its Optimize(ctx, problem,
// budget) runs a study; TeamEvaluator scores a team space's points with a
// model. Register adds an optimizer of your own (ExampleRegister).
//
// Two ways to drive an optimizer:
//
//   - Optimize(ctx, problem, budget): the optimizer evaluates candidate teams
//     itself (through Problem.Evaluator) until the budget is spent; the best
//     assignment on the validation split is then scored once on test.
//   - Ask/Tell on a Study: the caller evaluates, as with Optuna's ask-and-tell
//     interface; the study keeps the history a Sampler learns from.
//
// Programs: a candidate is a Program, an assignment plus each agent's demos
// and rules. A ProgramEvaluator (TeamEvaluator) materialises the program an
// assignment selects from the shared pools and evaluates programs with a
// sample index, a temperature floor, traces and a budget limit; every trial
// records its program's materials, the split it was scored on, its parent,
// strategy and step, and only validation scores compete for the best. An
// optimizer's own LM calls (made with Problem.Model) go through a Meter and
// are charged to the trial they produced, so they count in the budget. An
// optimizer keeps its own record of a trial in Trial.Data (stored, and
// given back in Problem.History on resume); Run evaluates a TrialSpec (a
// program, its examples, options and lineage). TeamProgramEvaluator adds
// the team space and the metric for optimizers that read agents' answers
// and move in the team's structure (SIMBA).
//
// An optimizer that needs more of a problem than every one does (SIMBA:
// a baseline, a train split of one batch) implements Checker, which the
// experiment runner calls before any study starts.
//
// Budgets: a trial is given what is left of the call and cost budget; one
// that would pass it runs on a prefix of its batch and is Stopped.
//
// Reproducibility: a Sampler draws trial n from a generator seeded with
// (seed, n) and the finished trials before it, so the same seed gives the
// same trials, and a resumed study continues exactly where it stopped.
package optimizer
