// Package beacon is BEACON's Bayesian optimiser: a Gaussian process on a
// space's encoding and an acquisition function, for any space.Space. It is
// registered as the ask/tell sampler "beacon" (`experiment ask --sampler
// beacon`) and as the optimizer "beacon", which searches a team space with
// it, each trial on the validation split. (The team compiler shaped like
// DSPy's MIPROv2, which searches per-agent instructions and demo sets on
// top of it, comes with the rest of issue 10.)
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
//     trial: gradient ascent with a backtracking step on the continuous
//     dimensions, alternating with an exhaustive search (up to 16 levels)
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
