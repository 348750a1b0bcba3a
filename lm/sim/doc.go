// Package sim is the surrogate language model: an offline, deterministic
// lm.Model that solves the built-in task families itself and errs the way a
// real model would, so teams and optimizers can be studied fast and
// reproducibly.
//
// # What a call does
//
// Generate reads the rendered chat messages with lm/prompt (ParseSystem,
// ParseUser), exactly as a team writes them for a real model. For an
// answer task it solves the question with datasets.Solve (it never sees a
// label), decides whether this agent gets it right, and replies with
// prompt.FormatAnswer text ("Answer: ...\nConfidence: 0.83"). A question no
// built-in family recognises gets the answer "unknown": use a real model for
// other data. The reply is a pure function of the seed (Options.Seed), the
// model name, the messages, the temperature, MaxTokens, and the sample index
// when the temperature is above 0. Parsed system messages and solved
// questions are cached by their text, so a call costs a few hundred
// nanoseconds and one allocation (the reply).
//
// # The competence model
//
// Each answer call has a competence logit
//
//	z = skill[model][family] − 0.9·(hardness − 2) + q(instruction) + rules + demos + role fit − temperature penalty
//
// where hardness is datasets.Solution.Hardness (1 easy .. 3 hard) and
//
//   - q(instruction) = Quality(text), a hash of the normalised instruction
//     mapped to a triangular spread on ±0.6; the empty instruction has
//     QualityEmpty. Different texts matter and must be searched for.
//   - rules: each rule's Quality, weighted 0.4, 0.24, 0.14, ... (best first
//     for good rules, worst first for bad ones), so extra rules help less.
//   - demos: demos of the question's family whose answer the model finds
//     right (it solves the demo's question) add up to +0.5 with diminishing
//     returns, each worth 0.6..1.4 of a demo by a hash of its question;
//     demos with wrong answers take up to −0.6; demos of other families cost
//     0.03 each (at most 0.15). A demo of the very question asked is copied.
//   - role fit (solver 0; planner +0.15 arithmetic, +0.35 multihop, −0.1
//     logic; critic +0.1; judge +0.2, +0.35 on multihop).
//   - temperature penalty 0.3·T + 0.15·T².
//
// The agent is right when z exceeds an error draw ε, a weighted sum of three
// standard logistic draws with shares of variance 0.55 per question (the
// same for every model and prompt: hard examples stay hard), 0.20 per
// (model, question) (different models err on different questions) and 0.25
// per full prompt (the system message, hence the agent, and the sample
// index when T > 0). So the accuracy is close to sigmoid(z), but errors are
// correlated and voting has limits. The per-prompt draw leaves out the peers'
// answers, so in a debate round an agent starts from its round-0 answer.
//
// A wrong agent answers one of the question's distractors, chosen with
// weights 1, 1/4, 1/9, ... (wrong agents often agree). The stated confidence
// is sigmoid(0.8 + 0.7·(z − ε) + ConfidenceBias + noise), noise triangular on
// ±2.2: higher when right, on average near the accuracy.
//
// # Peers and roles
//
// When the user message has a Peers section, the agent compares its own
// answer with the peers' plurality (weighted by their stated confidence). A
// solver or planner that disagrees moves to the plurality with probability
// sigmoid(4·(pull − 0.5) + logit(Conformity) − logit(own confidence)), where
// pull is the plurality's weight against its own answer's support (its own
// confidence plus the peers who agree): debate helps when most peers are
// right and hurts when a confident wrong answer dominates. A critic that is
// right (by its own competence) flags a wrong plurality and keeps its answer,
// else endorses the plurality. A judge that is right picks the right
// candidate among the peers' answers when one is present, else it takes the
// weighted plurality.
//
// # Proposals
//
// For prompt.TaskProposeInstruction the reply is "Instruction: <text>" and
// for prompt.TaskAdvise "Rule: <text>", composed from phrase templates. The
// text is the best by Quality of k candidates: k is 1 for sim-small, 2 for
// sim-medium and 4 for sim-large (from BaseSkill), plus one per two demos
// given (up to 4) for a proposal, plus 3 for advice whose Better and Worse
// trajectories differ.
//
// # Profiles
//
//	name           skill (arith, multihop, logic)  USD per 1M tokens (prompt / completion)  latency (base + per output token)  conformity  confidence bias
//	sim-small      −0.8, −0.8, −0.8                0.15 / 0.60                              150 ms + 4 ms                      0.70        +0.3
//	sim-medium     0.18, 0.2, 0.0                  0.50 / 1.50                              250 ms + 8 ms                      0.50         0
//	sim-large      1.1, 1.4, 1.2                   3.00 / 15.00                             400 ms + 15 ms                     0.35        −0.1
//	sim-adversary  −2.8, −2.8, −2.8                0.50 / 1.50                              250 ms + 8 ms                      0.02        +4.5
//
// sim-adversary is confidently wrong: mostly wrong, very sure, and deaf to
// its peers. Options.Profiles adds or replaces profiles.
//
// # Calibration
//
// Single agent: accuracy of one solver with the reference instruction
// "Solve the problem step by step and give the final answer." at
// temperature 0, on 400 generated questions per cell (seed 7), held by
// TestCalibration to within 0.07:
//
//	family      difficulty  sim-small  sim-medium  sim-large  sim-adversary
//	arithmetic  1           0.52       0.77        0.88       0.15
//	arithmetic  2           0.39       0.59        0.79       0.09
//	arithmetic  3           0.23       0.35        0.63       0.03
//	multihop    1           0.54       0.74        0.90       0.14
//	multihop    2           0.33       0.56        0.79       0.07
//	multihop    3           0.20       0.39        0.64       0.02
//	logic       1           0.53       0.72        0.89       0.16
//	logic       2           0.36       0.52        0.78       0.05
//	logic       3           0.17       0.30        0.63       0.03
//
// Teams (package team, team's default instructions), medium arithmetic, 300
// questions, held by TestTeamCalibration:
//
//	team                                                  accuracy
//	1 sim-medium solver                                   0.60
//	5 sim-medium, majority                                0.68
//	5 sim-medium, mesh, 2 debate rounds                   0.72
//	4 sim-medium + 1 sim-adversary, mesh, 2 rounds        0.59
//	5 sim-large (3 solvers, 2 critics), mesh, 1 round     0.91
//	random team (1-5 agents, any profile, role, topology) 0.49
package sim
