// Package beacon is BEACON: a Bayesian optimiser for any space.Space (a
// Gaussian process and an acquisition function: Sampler, registered as the
// ask/tell sampler "beacon", `experiment ask --sampler beacon`), and the
// team compiler built on it (Compiler, registered as the optimizer
// "beacon").
//
// For a black-box space, give Sampler{} to optimizer.NewStudy and Ask and
// Tell; for a team, call (&Compiler{}).Optimize on an optimizer.Problem
// with a baseline, a train split and a Model for the instruction
// proposals (the package's examples show both).
//
// # The team compiler
//
// Shaped like DSPy's MIPROv2 (dspy/teleprompt/mipro_optimizer_v2.py), for
// every agent of a team:
//
//   - Trial 0 ("bootstrap", train) runs the baseline on the train split
//     with traces: each agent's last reply on an example it got right is a
//     demo candidate. A model (Problem.Model; ProposalModel, else the
//     baseline's first agent's) then proposes n − 1 instruction candidates
//     per agent (prompt.TaskProposeInstruction) grounded in a summary of
//     the data, the team, three of the agent's bootstrapped demos and a
//     random tip; candidate 0 is the agent's own instruction. The
//     proposals' calls are charged to trial 0 and stop where the budget
//     does, and its Data keeps the demo candidates and the instructions, so
//     a resumed study makes no call again.
//   - Each agent has n demo sets, DSPy's scheme: zero-shot, labelled only
//     (MaxLabeledDemos gold answers), the bootstrap in train order, then
//     shuffled bootstraps of random sizes up to MaxBootstrappedDemos.
//   - The GP searches the team space (its instruction and demo-count
//     variables fixed at the baseline's: the materials replace them) with,
//     per agent, a choice of instruction candidate and of demo set, active
//     with the agent. The first search trial is the baseline's parameters with
//     its own instructions and the labelled demo set (the pool's demos).
//   - With more than 50 validation examples, each search trial is scored on
//     a mini-batch of 35 (split "val-batch", which does not compete for the
//     best), and every 5 trials and at the end the configuration of best
//     mean mini-batch score not yet fully scored goes on the full split
//     ("full"); otherwise every trial is on the full split. The best full
//     validation score is the result.
//   - Presets light, medium, heavy: n = 6, 12, 18; the trials
//     max(2·M·log2 n, 1.5·n), M = 2 × the agents, under a trials budget,
//     and as many as the budget allows under a calls or cost budget. A
//     reserve for one full evaluation is kept.
//   - Every trial is stored with its program (instructions and demos
//     included) and its point of the search space (Trial.Data); a resumed
//     study replays its stored trials and continues exactly.
//
// # The Bayesian optimiser
//
// It follows Optuna 4's GPSampler (optuna/_gp), written anew on gonum:
//
//   - Inputs: the space's index encoding in [0, 1]^d (space.Encoder with
//     Index): numeric variables on their scale (log floats warped, grid
//     and int variables at the centres of their bins), choices, components
//     and bools one dimension each, compared by the Hamming distance (0 or
//     1) rather than one-hot; an inactive conditional variable sits at 0.5
//     in every trial, so it adds no distance between trials where it is
//     inactive. Outputs are standardised, signed so that larger is better.
//   - The kernel: scale × Matérn-5/2 of r² = Σ λ_i·d_i², one inverse
//     squared length scale λ_i per dimension, plus a noise variance of at
//     least 1e-6.
//   - Hyperparameters by maximum a posteriori under Optuna's priors:
//     −Σ(0.1/λ_i + 0.1·λ_i) on the length scales, Gamma(2, 1) on the scale,
//     Gamma(1.1, 30) on the noise; L-BFGS (gonum/optimize) on the analytic
//     gradient in log coordinates, to Optuna's gradient tolerance (1e-2)
//     or until the loss gains less than 1e-3 nats in two iterations. The
//     fit starts from the hyperparameters stored with the latest trial
//     that has them (Trial.Data), so every ask is a pure function of the
//     stored history, and `ask` in a fresh process rebuilds the same model.
//   - Acquisition: log expected improvement (default; computed stably far
//     below the incumbent, as Ament et al. 2023), UCB (μ + β·σ) or log
//     probability of improvement. It is screened on Owen-scrambled Halton
//     points (2,048, as Optuna screens Sobol points, while the model is small;
//     fewer, down to 512, as it grows, so an ask stays fast), then
//     improved by local searches from the best of them and from the best
//     trial: projected L-BFGS with a backtracking Armijo line search on
//     the continuous dimensions (as scipy's L-BFGS-B does for Optuna),
//     alternating with an exhaustive search (up to 16 levels)
//     or a sampled line search on each discrete one. Every point is snapped
//     to what it decodes to (grid values, categorical bins) and checked
//     against the constraints, so the GP is asked only about points it
//     could be told about.
//   - Cost-aware (CostAware): a second GP on the log nominal cost of the
//     complete trials; the acquisition is divided by the predicted cost
//     (its log less the predicted log cost), for team spaces whose
//     candidates differ in cost tenfold.
//   - The first max(5, d+1) complete trials are random (Startup). Failed
//     trials are left out; trials it did not propose (another sampler's,
//     a warm start from a store) count like its own. Running trials (asked
//     by concurrent workers, not told) enter the model with a lie: the
//     worst value seen (constant liar, the default) or the GP's mean
//     (kriging believer), so a batch of asks spreads out.
package beacon
