// Package space defines search spaces: typed variables, conditions,
// constraints and assignments, with seeded sampling, a vector encoding for
// Bayesian optimization, the CLI's JSON space format, and the multi-agent
// team space every optimizer searches. Team{...}.Compile builds a team's
// space (TeamSpace.Space is what optimizers search, Decode the way back);
// New (or ParseJSON) builds any other, and Sample draws a seeded point.
//
// # Variables and assignments
//
// A Space is an ordered list of Vars. Each has a Kind and takes, in an
// Assignment (a map from name to value), a value of one Go type:
//
//	float      float64 in [Low, High], optionally Log-scaled and/or on a Step grid
//	int        int in [Low, High], on a Step grid (default 1), optionally Log-scaled
//	choice     string, one of Choices (Weights bias sampling)
//	bool       bool
//	component  string, the Name of one of Components (each with capability
//	           tags and a cost, so constraints can require a capability)
//	composite  float64, int, string or bool computed from the others by a Go
//	           function; never searched
//
// A variable is searched unless it is Fixed (pinned to one value) or
// composite. A variable may be conditional (Conds, built with When): it is
// active only when its parent is active and takes one of the listed values,
// e.g. a supermajority threshold that only exists when aggregation is
// supermajority; several conditions must all hold. Inactive variables are absent from an assignment; fixed
// and composite ones are present whenever active, so an assignment returned
// by Sample or Decode is complete and self-describing. Constraints are named
// predicates over whole assignments, for what conditions cannot say (at
// least two agents active, min <= max, a model that can judge).
//
// New and ParseJSON validate a definition and Space.Validate an assignment;
// errors are *VarError (naming the variable and the broken rule, e.g.
// `space: variable "temperature": value 3.5 above high 2`) or
// *ConstraintError, and match rule sentinels such as ErrRange and class
// sentinels ErrInvalidSpace and ErrInvalidAssignment with errors.Is.
//
// Sample draws from a *rand.Rand, so a seed reproduces a draw. An Encoder
// maps assignments to vectors in [0, 1]^d for optimizers that need numbers
// and back; Dims says which dimensions are categorical. Assignment.Key is a
// canonical string for deduplication and caching.
//
// # Team spaces and the naming scheme
//
// A Team lists agents, each with local variables (model, temperature,
// max_tokens, instruction, demos, rules, anything else), and team-level
// variables: topology, rounds, aggregation, budget, and extras. Agents can
// be optional, making team composition searchable under MinActive and
// MaxActive; with SearchEdges each candidate edge of the explicit topology
// is a searched bool, as in GPTSwarm's edge optimization. Team.Compile turns
// it into one flat Space with these names:
//
//	agent/<id>/<local>            an agent's local variable, e.g. agent/a1/temperature
//	team/topology                 choice among chain, star, ring, tree, mesh, explicit
//	team/rounds                   int: message-passing rounds after the first answers
//	team/aggregation              choice among majority, supermajority, weighted, hierarchical, judge
//	team/budget                   choice among equal, auction, market
//	team/<name>                   any other team variable
//	team/active/<id>              bool: optional agent <id> is in the team
//	team/edge/<from>/<to>/<type>  bool: candidate edge is used (active when the
//	                              topology is explicit and both ends are active)
//
// An undeclared topology, rounds, aggregation or budget is fixed to its
// default (mesh, 1, majority, equal). A fixed value such as a model pinned to
// sim-large is a fixed variable: in every assignment, never in the encoding.
// A local variable of an optional agent is conditional on the agent's
// team/active bool. TeamSpace.Decode turns a flat assignment back into a
// TeamAssignment: agents with their local values under local names, and
// the coordination graph of the topology over the active agents (see Edge,
// TopologyEdges).
package space
