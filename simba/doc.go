// Package simba is SIMBA (Stochastic Introspective Mini-Batch Ascent) as
// DSPy 3.3 defines it (stanfordnlp/dspy, dspy/teleprompt/simba.py and
// simba_utils.py), extended from one program to a team of agents. It is
// registered as the optimizer "simba"; Settings' zero value is DSPy's
// defaults (batch 32, 6 candidates, 8 steps, 4 max demos, demo inputs cut
// at 100,000 bytes, both selection temperatures 0.2). Run it with
// (&SIMBA{}).Optimize, or optimizer.New("simba", settings), on an
// optimizer.Problem with a baseline and a train split of at least one
// batch; Check says what a problem lacks.
//
// # The algorithm
//
// The baseline program (Problem.Baseline, its materials from the pools) is
// scored on the first mini-batch at its own temperatures: trial 0. The
// train split is shuffled once and cut into batches, reshuffled when the
// next batch would run past its end. Each step:
//
//   - Rollouts. NumCandidates variants, each with its own sample index
//     (1..NumCandidates, lm.Request.Sample) and a temperature floor of
//     RolloutTemperature (1.0; agents at a lower temperature sample at
//     it). For every (variant, example) pair, variant-major, a program is
//     drawn by softmax over the pool's mean scores at
//     TemperatureForSampling among the top NumCandidates programs plus the
//     baseline. Every trajectory runs through the evaluation engine.
//   - Buckets. Each example's NumCandidates outcomes, best first (stable);
//     the buckets ordered by (max − min, max, max − mean), descending and
//     stable; the 10th and 90th percentiles of all scores (NumPy's linear
//     interpolation).
//   - Candidates. Bucket by bucket until NumCandidates + 1: a source
//     program by softmax at TemperatureForCandidates; D, the most demos
//     any agent of it has; k = min(max(Poisson(D/cap), 1 if D ≥ cap), D)
//     demo indices (cap MaxDemos) drawn with replacement and dropped from
//     every agent; then one strategy drawn with equal probability. A
//     strategy error drops the candidate (stored as a failed trial with
//     what its calls used); a skip keeps it (the source with its demos
//     dropped).
//   - Every candidate is scored on the batch; the first best is the step's
//     winner; every candidate joins the pool with its mean score. (Each
//     candidate is scored as soon as it is built, from the pool as the
//     step began, which is what DSPy's build-all-then-score computes; so
//     a budget that ends the step leaves no introspection call
//     uncharged.)
//
// At the end, of the winners (the baseline and one per step),
// NumCandidates + 1 evenly spaced indices, rounded half to even and
// deduplicated (0, 1, 3, 4, 5, 7, 8 for 9 winners), are scored on the full
// validation split; the best of those (the first on a tie) is the result.
//
// # Strategies
//
//   - append_demo: the bucket's best trajectory, skipped when its score is
//     at or below p10, gives every agent of the candidate whose own last
//     answer in it was right its last call as a demo: the question, the
//     gold answer and the agent's reply. Demos come from train examples
//     only, and an agent is never shown a demo of the question it is
//     answering (the team leaves it out of that call).
//   - append_rule: the best and worst trajectories of the bucket, skipped
//     when the best is at or below p10 or the worst at or above p90 (with
//     DSPy's rule for equal scores: the better side is shown as N/A), go to
//     one introspection call (Problem.Model, prompt.TaskAdvise, the model
//     AdviceModel or the baseline's first agent's) with the team, the
//     question, the gold answer and both scored trajectories; its advice
//     per agent is appended to that agent's rules. The call counts in the
//     budget and is charged to the candidate's trial.
//   - team_move: one change of the team drawn among those the bucket's
//     contrast suggests: drop an edge along which an agent's wrong answer
//     was taken up in the worst trajectory; add an edge from an agent right
//     in the worst trajectory to one that was wrong (and not yet heard
//     from); switch off the
//     optional agent whose wrong answers were taken up most (or, when the
//     worst trajectory was wrong and none was, switch on an inactive one at
//     random); one round fewer when answers went from right to wrong in
//     later rounds of the worst trajectory, one more when they went from
//     wrong to right in the best; weighted voting when the plurality was
//     wrong and an agent right that was more confident than the
//     plurality's voters on average; for the agent wrong most often in
//     the bucket, the next larger model among its choices (by price), a
//     lower temperature, or a lower vote weight (drawn among the lower
//     values; with weighted voting when the aggregation ignores weights,
//     since a weight counts only there). An edge whose own variable is off (a fixed topology) is moved
//     by switching to the explicit topology with the candidate edges of
//     the current graph. When the contrast suggests nothing legal, a
//     random legal change of one such variable.
//
// # Where this deviates from DSPy, and why
//
//   - The baseline is scored (trial 0) and competes by its mean; DSPy never
//     scores it (its mean is 0), which only forces it into every top-k.
//   - The final selection uses the validation split, not the train split
//     (users asked for it, dspy#9062), so the returned program's score is
//     not measured on the data it was fitted to.
//   - Programs are teams: demos, rules and moves are per agent, and
//     team_move is a strategy DSPy does not have.
//   - Random streams are split by purpose, step and bucket (the batch
//     order, each step's program picks, each candidate), so a resumed study
//     draws the same numbers; the distributions are DSPy's.
//   - The budget: every evaluation runs within what is left of the calls,
//     cost and trials less a reserve for the final selection (each of up to
//     NumCandidates + 1 winners on the validation split, at the highest
//     calls and cost per example of any program in the pool). When a step
//     would pass it, the steps end (a winner is kept among the candidates
//     scored so far) and the final selection runs, so a study that runs out
//     still returns a validation-scored program.
//
// # Trials, and resuming
//
// Every evaluation is a trial (optimizer.Trial) with its program, parent,
// strategy, step and split: trial 0 is "baseline" (step 0, train); each
// step's rollouts are "rollout" trials, one per (variant, program) with
// the examples that program ran, parent the program's trial, and their
// trajectories (every call's agent, round, answer, confidence and
// rightness, and each agent's last reply) in Trial.Data; the candidates
// are "append_demo", "append_rule" or "team_move" trials on the batch,
// parent the source program, with the bucket, the dropped demos and what
// the strategy did (or why it skipped) in Data; the final trials are
// "final" (validation, step MaxSteps + 1, parent the winner). So `best`
// prints a program that runs again, and a study can be replayed and
// plotted.
//
// Optimize replays Problem.History: each stored trial stands in for the
// evaluation it records, so the pool, the winners and the random streams
// are rebuilt from the store, never from memory, and a study killed at any
// moment and resumed ends with the same trial table as one never
// interrupted. Candidates of an interrupted step that were built but not
// stored are built again (their introspection calls were never charged).
// A stored trial that is not the one the replay reaches (other settings,
// data, or a budget that would have taken the study elsewhere; a trial the
// budget cut records the limit it ran under to tell) is an error matching
// optimizer.ErrHistoryMismatch: such a study runs again as a new
// experiment. A budget change that would not have changed its course (a
// study that finished its steps) replays to the same result.
package simba
