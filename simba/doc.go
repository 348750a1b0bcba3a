// Package simba will hold SIMBA (Stochastic Introspective Mini-Batch
// Ascent, DSPy 3.3's dspy/teleprompt/simba.py) for agent teams. This first
// part is its selection arithmetic, written to match DSPy's step by step and
// pinned by tests: the top-k pool with the baseline forced in, softmax
// picks, NumPy's linear-interpolation percentiles, the order of the
// per-example buckets, the Poisson demo drop, and the evenly spaced final
// candidates. The optimizer loop, its strategies and its resume on top of
// optimizer.Program and optimizer.Meter come next (issue 9); nothing
// registers it as an optimizer yet.
package simba
