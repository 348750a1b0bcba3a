// Package edges is the multi-agent literature's topology optimizers, as
// baselines for SIMBA and BEACON: GPTSwarm's edge learning (Zhuge et al.,
// ICML 2024; registered as the optimizer "gptswarm") and AgentPrune's
// one-shot pruning (Zhang et al., ICLR 2025; "agentprune"). Run one as
// (&Optimizer{Method: GPTSwarm}).Optimize, or build it by name with
// optimizer.New, on a team Problem with a baseline and a train split.
//
// Both need a team space whose topology can be explicit with searched
// edges (team.search_edges in a config): every candidate edge between
// agents active in the baseline is an independent Bernoulli(σ(θ_e)), θ = 0
// at the start (p = 0.5). The topology is explicit, and the other
// variables stay at the baseline's values unless Settings.SampleOthers
// ("sample_others" in a config) says to sample them too: then each sampled
// graph draws them at random from the space (Space.Sample), every edge of
// the team is a candidate, an edge whose agents are not both on a graph's
// team is off in it and takes no part in its REINFORCE term, and the
// result takes the other variables of the sampled graph with the best
// mini-batch score (the first of equals).
//
// Each iteration draws Graphs graphs (4) and scores each on the same
// mini-batch of the train split (Minibatch, 16 examples, drawn afresh
// each iteration); each sampled graph is a trial (split train, strategy
// "sample", step the iteration) whose Data holds θ before the update and
// the edges drawn, so the learning curve of each edge can be plotted.
// θ then moves by REINFORCE on the mini-batch scores with Adam (learning
// rate 0.1):
//
//   - gptswarm subtracts a moving-average baseline (the mean score of the
//     past iterations, decay 0.9, starting at the first iteration's mean)
//     and runs until the budget (less a reserve for the final evaluation)
//     or Iterations; its result is the most probable graph, the edges with
//     θ > 0.
//   - agentprune runs Iterations (10) with no baseline, as AgentPrune
//     does, then prunes the Prune share (25%) of candidate edges with the
//     lowest θ in one shot, skipping an edge whose removal would split the
//     team's graph (undirected) into more pieces; its result is the graph
//     of the edges left.
//
// The result is scored on the validation split (strategy "final"): it is
// the study's best. Calls count in the budget like any optimizer's. A
// resumed study replays its stored trials (the edges drawn and the scores
// they got), so θ and everything after are as in an uninterrupted run.
package edges
