// Package team executes one candidate team of language-model agents on one
// example: prompts, message-passing rounds over the topology, aggregation of
// the final answers, and a trace of every call.
//
// A Spec describes the team concretely (agents, edges, rounds, aggregation,
// budget allocation); New validates it, builds each agent through the
// registry of agent kinds (RegisterKind, like database/sql drivers) and
// pre-renders every agent's fixed system message, so Run only renders the
// per-call user message.
//
// Run is sequential within one example (round by round, agents in spec
// order) and safe for concurrent use across examples; evaluation drives the
// concurrency. Round 0: each voting agent answers the question. Rounds 1..R:
// each agent sees its own answer and its in-neighbours' answers from the
// previous round (Input.Previous and Input.Peers; for the built-in lm agent
// the "### Previous" and "### Peers" sections of its prompt) and answers
// again, unless the budget allocation leaves its turn out. Then the
// aggregation protocol decides the team answer. Agents see the example's id
// and question, never its gold answer.
//
// # Aggregation
//
// The voters' final answers are compared after datasets.Normalize (an
// answer that normalises to "" abstains) and decided by a
// coordination.Consensus: AggMajority is plurality voting, AggSupermajority
// needs Threshold of the voters or else the most confident voter decides,
// AggWeighted counts each vote as AgentSpec.Weight (1 when nil; 0 silences the agent) × its stated
// confidence, and AggHierarchical votes under coordinators of FanOut agents
// (coordination.Hierarchy). The team answer is the original text of the
// decided answer's first voter in agent order. Under AggJudge a judge
// agent reads every final answer and answers for the team.
//
// # Budget allocation
//
// Spec.Budget says how the turns of the debate rounds 1..R are allotted;
// round 0 always runs in full. Before each debate round, the voters ask
// coordination.Budget for the tokens of one call each, an agent's demand
// being the tokens its last call used; the round's budget is what is left of
// TokenBudget divided by the rounds left (unspent tokens carry over), or,
// with no TokenBudget, the sum of the demands. A turn is indivisible: an
// agent granted its whole call speaks, the others give their share back,
// and what is left goes a whole call at a time to them in order. An agent
// that does not speak keeps its previous answer without a call, and its
// peers read that answer.
//
//   - BudgetEqual: every agent claims an equal share (max-min fair), and the
//     tokens given back go round-robin. With no TokenBudget every agent
//     speaks in every round: the default, and the team as without a budget
//     (no allocation is run).
//   - BudgetAuction: each agent bids the value of its turn, the share of the
//     confidence-weighted voices it reads (its own answer included) that
//     disagree with its answer: 0 when all its in-neighbours agree, near 1
//     for an unsure agent facing confident dissent; 1 if it abstained; 0 if
//     no in-neighbour answered, since its prompt would repeat. Agents whose
//     value does not exceed BidReserve do not bid and sit the round out;
//     the round's tokens go to the highest bids first (a uniform-price
//     auction; equal bids share), and tokens given back go by bid, then
//     agent order. An agent that agrees with every
//     in-neighbour has nobody to be argued out of its answer by (in the
//     surrogate model it keeps it), so with BidReserve 0 the auction saves
//     the calls where talking adds little, at nearly the same answers;
//     a higher reserve saves more, at some risk.
//   - BudgetMarket: bids as under the auction, but the bidders are endowed
//     with equal shares and trade at one clearing price; the tokens end where
//     the auction puts them, so the same agents speak.
//
// Result.Skipped counts the turns left out, and Result.Coordination the
// Overhead (rounds, messages, bids) the consensus and the budget splits
// report, which evaluation sums into its Report.
package team
