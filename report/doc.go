// Package report draws the plots of a study's team metrics (gonum/plot, PNG
// and SVG) and writes the self-contained HTML report ([Page.WriteHTML]).
//
// The plot inputs are plain data that the caller fills from the store; each
// has a Plot method returning a *plot.Plot, which [Save] writes as PNG or SVG
// and [SVG] renders for inlining in the HTML page:
//
//   - [History]: best-so-far validation score against LM calls (or nominal
//     cost), one line per optimizer: the median over seeds as a step line,
//     with a translucent band from the lowest to the highest seed.
//   - [Contributions]: per-agent contribution bars, one group per agent and
//     one colour per method (Shapley, leave-one-out, DyLAN importance), with
//     95% confidence intervals as error bars.
//   - [Topology]: the team as a directed graph, agents on a circle, node area
//     by the size of the agent's contribution (negative ones in another
//     colour) and edge width by the messages followed.
//   - [Pareto]: score against nominal cost over every trial of an
//     experiment, the Pareto front as a step line and each optimizer's best
//     as a marker in the legend.
//   - [Importance]: parameter importance as horizontal bars, largest first.
//   - [Steps]: SIMBA's step log, each step's candidate scores as dots and
//     the best so far as a line.
//
// Every plot has a title, axis labels (defaults when the caller gives none)
// and, where it has several series, a legend outside the data area on the
// right, so that no text lies over the data. Invalid input (nothing to draw,
// lengths that disagree, non-finite values) is reported as an error
// matching [ErrInvalid], never a panic.
package report
