// Package team executes one candidate team of language-model agents on one
// example: prompts, message-passing rounds over the topology, aggregation of
// the final answers, and a trace of every call.
//
// A Spec describes the team concretely (agents, edges, rounds, aggregation);
// New validates it, builds each agent through the registry of agent kinds
// (RegisterKind, like database/sql drivers) and pre-renders every agent's
// fixed system message, so Run only renders the per-call user message.
//
// Run is sequential within one example (round by round, agents in spec
// order) and safe for concurrent use across examples; evaluation drives the
// concurrency. Round 0: each voting agent answers the question. Rounds 1..R:
// each agent sees its in-neighbours' answers from the previous round and
// answers again. Then the aggregation protocol decides the team answer.
package team
