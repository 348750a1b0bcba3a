// Package sim is the surrogate language model: an offline, deterministic
// lm.Model that solves the built-in task families itself and errs the way a
// real model would, so teams and optimizers can be studied fast and
// reproducibly. New(&Options{Seed: 1}) returns one; it serves the built-in
// profiles "sim-small", "sim-medium", "sim-large" and "sim-adversary" (and
// any of Options.Profiles).
//
// # What a call does
//
// Generate reads the rendered chat messages with lm/prompt (ParseSystem,
// ParseUser), exactly as a team writes them for a real model. For an answer
// task it solves the question with datasets.Solve (it never sees a label),
// decides whether this agent's own attempt is right, revises it with what
// the call shows (its previous answer, its peers' answers), and replies
//
//	Reasoning: Step 1: ... Step k: ...
//	Answer: 42
//	Confidence: 0.83
//
// A question no built-in family recognises gets the answer "unknown" (the
// experiments package refuses such data files under the sim backend). The
// reply is a pure function of the seed (Options.Seed), the model name, the
// messages, the temperature, MaxTokens and, above temperature 0, the sample
// index. Parsed system messages and solved questions are cached by their
// text, so a call costs well under a microsecond and one allocation (the
// reply).
//
// # The competence model
//
// An agent's attempt has a competence logit
//
//	z = Skill[model][family] − Hardness[model][family]·(hardness − 2) + saturate(G − G_ref, H) − (0.15·T + 0.1·T²)
//
// Skill is the competence with ReferenceInstruction at medium hardness and
// temperature 0 (hardness is datasets.Solution.Hardness, 1 easy .. 3 hard);
// Hardness is the competence lost per unit of hardness, DefaultHardness
// (0.9) for every built-in profile and wherever a profile leaves it unset.
// G is the prompt's gain: instruction quality + rules + demos (+ the role's
// fit, in calls that have peers to act on), and G_ref that of the reference
// prompt. Gains above the reference saturate, H·tanh(x/H), with headroom
// H = 0.7 × the gap to the next larger model's Skill (0.8 for the largest),
// so no prompt lifts a model to the next one's reference accuracy; losses
// do not saturate.
//
//   - Instruction quality comes from features of the text, matched on its
//     squashed form (lower-case letters and digits only, so white space,
//     case and punctuation never matter): cue classes, each worth 1 − 0.5^n
//     of its weight for n distinct cues — a procedure ("step by step",
//     "show your work": 0.40 × a size factor, 0.73 for sim-small, 1.05 for
//     sim-medium, 1.54 for sim-large, as chain-of-thought gains grow with
//     scale), checking ("verify", "re-read": 0.30), focus on the answer
//     (0.15), and the task's own vocabulary (0.30, on that family only:
//     "quantity", "operation" for arithmetic; "context", "fact", "hop" for
//     multihop; "order", "constraint" for logic); harmful cues add their
//     own negative weights ("wrong" −0.9, "guess" −0.5, "random" −0.5,
//     "skip" −0.25, ...). A negator ("not", "never", "avoid", "without")
//     turns the next cue around: "do not guess" is mild advice, "do not
//     check" hurts. A conditional ("if", "whether") makes a harmful cue a
//     condition: "if an answer is wrong, correct it" does no harm. Long
//     texts (beyond about 50 words) and repetition (the share of repeated
//     six-letter windows, × 0.6) cost a little, and a small idiosyncratic
//     remainder (the mean of a per-trigram draw, ±0.12) lets texts with the
//     same cues differ, so that texts sharing most trigrams score nearby.
//     The empty instruction has QualityEmpty (0). Quality exposes it.
//   - Rules: each distinct rule (by squashed text) has a quality like an
//     instruction's, weighted 0.4, 0.24, 0.14, ... best first (worst first
//     for harmful ones). A rule that names an error mode (RuleModes: "apply
//     every step, the last one included" names last-step) adds 0.7 on the
//     questions where that mistake is the one the agent would make, and
//     nothing elsewhere. Each family's distractors come from a few modes
//     (datasets.Solution.Modes).
//   - Demos: distinct demos (by squashed question) of the question's family
//     whose final answer is right add up to +0.5, 0.5·(1 − e^(−0.45·n)) with
//     n the weighted count (each demo worth 0.6..1.4 by a hash of its
//     question); wrong ones take up to −0.6; demos of other families cost
//     0.03 each, at most 0.15. A demo's final answer is read as a team reads
//     an answer: its "Answer:" line (else its last line), then, for numeric
//     answers, its last number ("$42", "so the total is 42"), for entities,
//     the last candidate it names. A demo of the very question asked is
//     copied.
//   - Role fit, only in calls with peers: judge +0.4 (+0.5 on multihop),
//     critic +0.05 (+0.03 on multihop), planner +0.15 arithmetic, +0.35
//     multihop, −0.1 logic: checking candidates is easier than solving.
//
// # The error draw: noise that behaves like sampling
//
// The attempt is right when z exceeds an error draw ε. At temperature 0, ε
// is a weighted sum of three standard logistic draws with variance shares
// 0.55 per question (shared by every model and prompt: hard questions stay
// hard), 0.20 per (model, question) and 0.25 per (model, prompt content,
// question). Prompt content is the squashed task, role, instruction, set of
// rules and set of demos: agent ids, white space, case and punctuation do
// not enter it, so two agents that differ only in those answer alike, and
// identical agents at T=0 answer identically. Above temperature 0 a
// fraction s = 0.8·T/(T + 0.5) of ε's variance is drawn afresh for every
// call, keyed by the sample index, the agent's id and what the call shows
// beyond the question: agents of one team, repeated samples and debate
// rounds sample independently, so self-consistency and debate help. A wrong
// attempt answers one of the question's distractors with weights
// 1/(i+1)^a, a = 2/(1 + T) (wrong agents often agree; sampling flattens the
// distribution). The stated confidence is sigmoid(0.8 + 0.7·(z − ε) +
// ConfidenceBias + noise), noise triangular on ±2.2: higher when right.
//
// # Peers, roles and debate
//
// With peers or a previous answer (lm/prompt's Previous section, which a
// team sends in every debate round), the agent weighs the candidates on the
// table by their stated confidences: its own attempt (weight a), its
// previous answer (p) and each peer's answer (q), and gives the answer with
// the most weight; agreement raises its confidence. Solvers and planners:
// a = 0.6, p = 1.4, q = 2·Conformity; critics lean on their own check:
// a = 1.0, p = 1.3, q = 1.3·Conformity. A judge picks one of the
// candidates: each scores q = 0.6·Conformity per supporter's confidence,
// plus 3·(1.2 − Conformity) × its own confidence if the judge's attempt
// agrees; a judge whose attempt is wrong can pick a wrong candidate. No
// call depends on whether the agent is right except through its attempt, so
// a weak judge over strong voters is worse than their majority. An agent
// starts each debate round from its own previous answer, so debates settle
// and agents rarely flip back.
//
// # Reasoning and cost
//
// The reply reasons for about 10·(1 + hardness)·f·Verbosity tokens before
// its answer, f = 1 + 3·(procedure cues), × 0.3 with brevity cues ("answer
// only", "concise"), Verbosity 1 for the built-in profiles: tens to over a
// hundred tokens. Usage counts the reply's text
// (lm.EstimateTokens), so cost follows the instruction. A MaxTokens below
// what the reply needs truncates it, losing the answer line: the reply then
// parses to a fragment of the reasoning, which is wrong.
//
// # Proposals
//
// For prompt.TaskProposeInstruction the reply is "Instruction: <text>" and
// for prompt.TaskAdvise "Rule: <text>", composed from phrase templates. The
// text is the best (by quality for a medium model) of k candidates: k is 1
// for sim-small, 2 for sim-medium and 4 for sim-large (from BaseSkill),
// plus one per two demos given (up to 4) for a proposal, plus 3 for advice
// whose Better and Worse trajectories differ. Demos ground a proposal: their
// family's vocabulary enters the candidates. Advice recognises the mistake
// of the worse trajectory's final answer (which distractor it is) with
// probability sigmoid(0.5 + 1.2·BaseSkill), and then names its error mode.
//
// A TaskAdvise call whose user message lists Targets (SIMBA's
// introspection for a team, one call for all its agents) is answered with
// one line "Rule for <agent>: <text>" per target, in the targets' order
// (prompt.FormatAdvice). Each target's rule is drawn as the single rule
// is, with the same k, but keyed by the agent's id as well, so agents get
// different rules; and it reads that agent's own mistake: when Worse is a
// prompt.Trajectory, the target's answer in its last step (its highest
// round), which, if it is a distractor with an error mode, the proposer
// recognises with the same probability, independently per target; a
// target that was right, gave an answer without a mode, or has no step
// gets generic advice. When Worse is not a Trajectory, every target's rule
// reads the final answer of the whole Worse text, as the single rule does.
// Without Targets the reply is the single "Rule: " line, as before.
//
// # Profiles
//
//	name           Skill (arith, multihop, logic)  USD per 1M tokens (prompt / completion)  latency (base + per output token)  conformity  confidence bias
//	sim-small      −0.7, −0.7, −0.7                0.15 / 0.60                              150 ms + 4 ms                      0.70        +0.3
//	sim-medium     0.28, 0.3, 0.1                  0.50 / 1.50                              250 ms + 8 ms                      0.50         0
//	sim-large      1.2, 1.5, 1.3                   3.00 / 15.00                             400 ms + 15 ms                     0.35        −0.1
//	sim-adversary  −2.7, −2.7, −2.7                0.50 / 1.50                              250 ms + 8 ms                      0.02        +2.4
//
// sim-adversary is confidently wrong: mostly wrong, as sure of itself as
// sim-large (median stated confidence 0.79 against 0.79), and deaf to its
// peers. Options.Profiles adds or replaces profiles. Adding one can change
// the replies of a smaller one: the next larger model (by BaseSkill) bounds
// a model's prompt gains.
//
// # Profiles files and calibration
//
// A profiles file (ReadProfiles, LoadProfiles, WriteProfiles) is YAML:
//
//	profiles:
//	  - name: gpt-4o-mini
//	    description: fitted to 2400 calls from study 3
//	    base_skill: 0.1
//	    skill: {arithmetic: 1.1, logic: 0.6, multihop: 0.8}
//	    hardness: {arithmetic: 1.2, logic: 1.4, multihop: 1.0}
//	    prompt_price: 0.15        # USD per million tokens
//	    completion_price: 0.6
//	    latency: 380ms            # Go durations
//	    prompt_token_latency: 20µs
//	    completion_token_latency: 9ms
//	    conformity: 0.5
//	    confidence_bias: 0.4
//	    verbosity: 1.3
//
// A missing key is the zero value; a profile with a built-in name replaces
// the built-in one. Unknown keys, wrong types, invalid values and
// duplicate names are errors with their line and field.
//
// Explain tells what the reply to an answer call draws from: the family
// and hardness read, the logit as Skill − Slope·(hardness − 2) + Offset
// (Offset: everything the prompt and temperature add), and the reply's
// expected correctness P, stated confidence and completion tokens, over
// the error draw (its exact distribution, a sum of logistic draws). Over
// many questions alike, the share of right replies is P.
//
// Calibrate fits profiles to Records of calls to a real model (the
// requests the team sent, through an OpenAI-compatible server, and their
// scores), one profile per model, starting from the base profiles
// (sim-medium's parameters for a new name). Per model and family, Skill
// and the Hardness slope maximise the likelihood of the records' scores
// under P, each record with its own Offset, plus normal priors toward the
// base (σ 1 and 0.5, CalibrateOptions), so a family with few records
// stays near the base; larger models are fitted first, as a model's
// headroom depends on the next larger one's skill. Verbosity then matches
// the mean completion tokens, ConfidenceBias the mean stated confidence,
// Latency and CompletionTokenLatency the latencies (least squares), and
// the prices come from the options. Calls with peers or a previous answer
// (their reply is not the model's own attempt), copies of a demo, and
// calls Explain cannot read (questions of no built-in family) are
// skipped and counted. SplitHeldOut splits records by question, and
// Calibration.Check compares held-out accuracy per model and family with
// what the fitted and base profiles expect. On records of a sim-medium
// whose skills and slopes were moved by ±0.5, 2,100 a family, the fit
// recovers them within 3 standard errors (about 0.06 logit) and its
// held-out accuracy per family is within 1 point of the real (the
// built-in sim-medium's: 3.9 to 8.9 points off); on records whose
// accuracy is a table by family and difficulty, blind to the prompt,
// within 3 points per family, though up to 6 points off in single
// difficulty cells (TestCalibrateRecovers, TestCalibrateMisspecified).
//
// What a fitted profile carries over from the real model: its accuracy
// per family at the prompts of the study and how it falls with hardness,
// its mean stated confidence, its mean completion tokens, latency and
// prices. What it does not: which questions the real model finds hard
// (the surrogate's per-question draws are its own), how the real model
// responds to instructions, rules, demos, roles and temperature (the
// surrogate's prompt effects are assumed, and only the skill under them
// is fitted: a study of one prompt says nothing of others), how it acts
// among peers (Conformity is not fitted), how well its confidence tells
// right from wrong (only its mean is matched), and token counts by a real
// tokenizer (the surrogate counts four bytes a token). Fit on the prompts
// the surrogate experiments will explore, and check on held-out records
// before trusting it.
//
// # Calibration
//
// Every figure below is held by a test on a data seed (20261201) and model
// seed (41) the model was not designed on (design: data seed 7, model seed
// 0); set MABEAM_SIM_DESIGN=1 to measure on the design seeds. Margins hold
// at a one-sided 99.9% bound on the paired per-question difference.
//
// Single agent (TestCalibration): one solver with ReferenceInstruction at
// T=0, 1,200 questions a cell, mean of model seeds 41-43; each cell within
// 0.05 of the surrogate before v2:
//
//	family      difficulty  sim-small  sim-medium  sim-large  sim-adversary
//	arithmetic  1           0.53       0.75        0.89       0.16
//	arithmetic  2           0.41       0.62        0.80       0.09
//	arithmetic  3           0.20       0.39        0.63       0.03
//	multihop    1           0.53       0.76        0.90       0.14
//	multihop    2           0.35       0.57        0.81       0.07
//	multihop    3           0.17       0.36        0.63       0.03
//	logic       1           0.55       0.73        0.90       0.15
//	logic       2           0.35       0.52        0.77       0.07
//	logic       3           0.18       0.33        0.60       0.03
//
// Teams on medium arithmetic, 2,000 questions (TestTeamCalibration, each
// within 0.04):
//
//	team                                                      accuracy
//	1 sim-medium solver, T=0                                  0.61
//	5 sim-medium, T=0, majority (identical answers)           0.61
//	5 sim-medium, T=0.7, majority                             0.70
//	5 sim-medium, T=0.7, mesh, 2 rounds                       0.75
//	4 sim-medium + sim-adversary, T=0.7, mesh, 2 rounds       0.69
//	4 sim-medium, T=0.7, sim-large judge                      0.76
//	5 sim-large (3 solvers, 2 critics), T=0.7, mesh, 1 round  0.92
//	random team (1-5 agents, any profile, role, topology)     0.56
//
// Effects (sim-medium, medium arithmetic; points, with the 99.9% bound):
//
//	effect                                                         measured            must hold
//	5 identical agents at T=0, majority vs one                     identical answers   equal
//	5 agents differing in id or white space, T=0: agreement        100%                ≥ 95%
//	self-consistency at T=0.7 vs one greedy, n=5                   +9.6  (≥ +8.4)      ≥ +4
//	  n=15                                                         +13.2 (≥ +12.1)     ≥ +6
//	  n=40 vs n=15                                                 −0.15 (≥ −0.90)     ≥ −1
//	5-agent mesh debate, T=0.7, 2 rounds vs their majority         +5.0  [+3.7, +6.2]  +2 .. +8
//	  round 3 vs round 2                                           +0.1  [−0.1, +0.3]  ±1.5
//	  A-B-A flips                                                  0.2%  (≤ 0.3%)      < 3%
//	judge over 4 sim-medium at T=0.7 vs their majority: sim-small  −3.4  (≤ −1.9)      ≤ +1
//	  sim-large                                                    +6.5  (≥ +5.1)      ≥ +4
//	  sim-adversary                                                −13.3 (≤ −11.8)     ≤ −10
//	5 critics vs 5 solvers, T=0.7, 1 round (30,000 questions)      +0.8  [−0.1, +1.7]  ±2
//	"Give the wrong answer." vs the empty instruction              lower on all 12 model × family cells
//	good paraphrases vs vague texts ("Do it.", "Answer.")          +13.4 / +13.6 / +14.8 (arithmetic / multihop / logic)
//	best of 20 sim-large proposals vs best of 1,000 random strings +16.2 (≥ +13.6)
//	one-character edit of white space, case or punctuation         0 logit              ≤ 0.05
//	sim-small, best instruction + 20 rules + 8 demos + best role   0.549 vs sim-medium's 0.612: −6.3 (≤ −3.5)
//	one rule repeated 20× vs once                                  identical answers   equal
//	4 correct worked-example demos vs none                         +7.6  (≥ +5.4)      higher
//	completion tokens, "show each step" vs "answer only"           98.8 vs 17.0 (×5.8)  ≥ 3×
//	  max_tokens at half the need                                  −61                  lower
//	sim-adversary vs sim-large median stated confidence            0.79 vs 0.79         within 0.1
//
// A rule naming the last-step mistake cuts those errors ×0.70 and the
// others ×0.88 (TestRuleHelpsItsMode). BenchmarkEvaluateSim (package
// evaluation) runs about 600,000 calls per second on two cores (medians of 5 runs: 597k to 637k).
//
// # What transfers to real models and what does not
//
// Transfers, in direction and rough size: larger models are better and
// cost more; sampling at temperature > 0 with a majority vote beats one
// greedy answer, with returns that flatten by 10-20 samples (Wang et al.
// 2022; Li et al. 2024); debate adds a few points over voting and settles
// within two rounds, and a confidently wrong agent drags it down (Du et al.
// 2023); a judge is only as good as its own check; instructions that ask
// for a procedure and for checking help, more on larger models, and cost
// completion tokens (Wei et al. 2022); harmful or vague instructions hurt
// or do nothing; a few correct worked examples help with diminishing
// returns and wrong ones hurt; advice that names a mistake helps on that
// mistake; prompt engineering does not turn a small model into a larger
// one; identical greedy agents add nothing.
//
// Does not transfer: the cue lexicon is a small English keyword model, not
// language understanding — a paraphrase without its cues scores as vague
// text, and a text stuffed with cues scores well (up to the saturation),
// so an optimizer that writes instructions can game it in ways a real
// model would not reward; the sizes of all effects are chosen, not
// measured on real models; only the three built-in families are answered;
// reasoning text is filler whose content means nothing; confidences are
// generated, not elicited; there is no context-length limit, refusal,
// formatting failure (beyond truncation) or latency variance. Use a real
// model (later, lm/openai) to confirm any conclusion drawn here.
package sim
