package sim

import (
	"strings"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
)

// Grounding of proposals: an instruction proposal draws one more candidate
// per demosPerCandidate demos (up to maxDemoCandidates more); advice draws
// adviceCandidates more when the better and worse trajectories differ.
const (
	demosPerCandidate = 2
	maxDemoCandidates = 4
	adviceCandidates  = 3
	// judgeSize is the size factor proposers judge their candidates by:
	// as a medium model would.
	judgeSize = 1
)

// Phrase templates: an instruction is lead + " " + manner + check + "." +
// finish; a rule is opener + " " + condition + ", " + action + ".".
var (
	leads = map[string][]string{
		roleSolver: {"Solve the problem", "Work out the answer", "Answer the question", "Find the answer",
			"Read the question closely and solve it", "Reason about the question"},
		roleCritic: {"Check the answers your peers gave", "Review the proposed answers", "Verify each candidate answer",
			"Look for mistakes in the other answers", "Test the majority answer against the question"},
		roleJudge: {"Compare the candidate answers", "Pick the best supported answer", "Weigh the candidate answers",
			"Decide which candidate answer is right", "Judge the candidate answers"},
		rolePlanner: {"Plan the solution before answering", "Break the task into sub-questions", "Outline the steps first",
			"Split the problem into parts", "Decide what must be found, then find it"},
	}
	manners = []string{"step by step", "carefully", "one step at a time", "methodically", "from first principles",
		"without skipping steps", "as an expert would", "briefly", "quickly"}
	checks = []string{"", " and check each intermediate result", " and verify the result against the question",
		" and double-check every number", " and keep track of each fact you use", " and re-read the question before answering",
		" and watch for distracting details"}
	finishes = []string{" Give the final answer only.", " State the final answer plainly.", " End with the final answer.",
		" Reply with the answer and nothing else.", " Be concise.", " Say how sure you are."}

	openers    = []string{"When", "If", "Whenever"}
	conditions = []string{"the question has several steps", "two facts look alike", "the numbers are large",
		"your peers disagree", "you are unsure", "the question mentions units", "a name appears twice",
		"the answer seems obvious", "the context is long", "a step depends on an earlier one"}
	actions = []string{"write each step down before combining them", "re-read the question", "check the arithmetic twice",
		"trace each hop back to the context", "prefer the answer you can verify", "do not copy a peer's answer without checking it",
		"compute the result a second way", "state only the final answer", "ignore facts that the question does not need",
		"restate what is asked before answering"}
)

func pickPhrase(xs []string, h uint64, salt uint64) string {
	return xs[mix(h, salt)%uint64(len(xs))]
}

// instructionText composes candidate instruction h for role, grounded in
// family fam (famOther: no grounding).
func instructionText(role string, fam int, h uint64) string {
	ls, ok := leads[role]
	if !ok {
		ls = leads[roleSolver]
	}
	return pickPhrase(ls, h, 1) + " " + pickPhrase(manners, h, 2) + pickPhrase(checks, h, 3) +
		pickPhrase(familyClauses[fam], h, 8) + "." + pickPhrase(finishes, h, 4)
}

// ruleText composes candidate rule h; mode >= 0 is the error mode it
// addresses, else it is generic advice.
func ruleText(h uint64, mode int) string {
	action := pickPhrase(actions, h, 7)
	if mode >= 0 {
		action = pickPhrase(errorModes[mode].advice, h, 7)
	}
	return pickPhrase(openers, h, 5) + " " + pickPhrase(conditions, h, 6) + ", " + action + "."
}

// familyClauses ground a proposal in the family its demos show.
var familyClauses = [numFamilies][]string{
	{" and keep track of every quantity and operation", " and recompute each number before the next step"},
	{" and trace each fact back to its paragraph in the context", " and follow the chain of facts one hop at a time"},
	{" and write the comparisons as one order before answering", " and check the order against every clue"},
	{""},
}

// bestOf returns the candidate of highest quality, for a model of size
// factor size on family, among k.
func bestOf(k int, base uint64, size float64, family string, compose func(uint64) string) string {
	best, bestQ := "", 0.0
	for j := range k {
		t := compose(mix(base, uint64(j)+1))
		f := readFeatures(t)
		if q := f.quality(size, family); best == "" || q > bestQ {
			best, bestQ = t, q
		}
	}
	return best
}

// propose is the reply to a TaskProposeInstruction or TaskAdvise call: the
// best of k candidate texts, k growing with the proposer's skill and with
// how much its input tells it. An instruction proposal grounded in demos
// of one family speaks that family's language; advice names the mistake
// the worse trajectory made, if the proposer recognises it: one rule, or
// with targets one rule per target for the mistake that agent made.
func (m *Model) propose(pr *profile, sys *sysInfo, user string, req *lm.Request) string {
	base := mix(mix(m.seed^pr.hash, sys.content), hashString(user, k0))
	if req.Temperature > 0 {
		base = mix(base, sampleKey(req)^sys.agent)
	}
	k := pr.proposals
	if sys.task == prompt.TaskAdvise {
		var p prompt.Prompt
		parsed := prompt.ParseUser(user, &p) == nil
		var q *question // read when the trajectories differ
		fam := ""
		if parsed && strings.TrimSpace(p.Better) != strings.TrimSpace(p.Worse) {
			k += adviceCandidates
			q = m.question(p.Question)
			fam = q.Family
		}
		if parsed && len(p.Targets) > 0 {
			return adviseTargets(pr, &p, q, base, k, fam)
		}
		mode := -1
		if q != nil {
			mode = adviceMode(pr, q, normHash(finalText(p.Worse)), base)
		}
		return "Rule: " + bestOf(k, base, judgeSize, fam, func(h uint64) string { return ruleText(h, mode) })
	}
	k += min(sys.nDemos/demosPerCandidate, maxDemoCandidates)
	fam := famOther
	for fi, n := range sys.demoFamilies {
		if n > 0 && (fam == famOther || n > sys.demoFamilies[fam]) {
			fam = fi
		}
	}
	return "Instruction: " + bestOf(k, base, judgeSize, familyNames[fam], func(h uint64) string { return instructionText(sys.role, fam, h) })
}

// saltTarget keys a target agent's id into the advice for it.
const saltTarget = 0x54_6172_6765_74

// adviceMode is the error mode (an index of errorModes) that advice on a
// worse answer of normHash w to q names, or -1 for generic advice: the
// mode of the distractor w is, if it has one and the proposer recognises
// it (by the draw keyed by key).
func adviceMode(pr *profile, q *question, w, key uint64) int {
	mode := -1
	if !q.ok || w == q.ansHash {
		return mode
	}
	for i, h := range q.wrongHash {
		if h == w && q.wrongMode[i] != 0 && uniform(mix(key, saltWrong)) < recognise(pr) {
			for b := range errorModes {
				if q.wrongMode[i] == 1<<b {
					mode = b
				}
			}
		}
	}
	return mode
}

// adviseTargets is the reply to a TaskAdvise call with targets: a line
// "Rule for <agent>: <rule>" per target, in order, each rule the best of k
// candidates keyed by base and the agent's id. A target's rule names the
// mistake of its answer in its last round of the worse trajectory (of the
// worse text's final answer, if Worse is not a prompt.Trajectory), as the
// single rule does the team's; a target without a step in it gets generic
// advice, as every target does when the trajectories do not differ (q is
// nil).
func adviseTargets(pr *profile, p *prompt.Prompt, q *question, base uint64, k int, fam string) string {
	tr, err := prompt.ParseTrajectory(p.Worse)
	whole := err != nil
	rules := make([]string, len(p.Targets))
	for i, id := range p.Targets {
		key := mix(base, hashString(id, saltTarget))
		mode := -1
		if q != nil {
			if whole {
				mode = adviceMode(pr, q, normHash(finalText(p.Worse)), key)
			} else if a, ok := lastAnswer(&tr, id); ok {
				mode = adviceMode(pr, q, normHash(a), key)
			}
		}
		rules[i] = bestOf(k, key, judgeSize, fam, func(h uint64) string { return ruleText(h, mode) })
	}
	return prompt.FormatAdvice(p.Targets, rules)
}

// lastAnswer is agent's answer in its last step of t: of the highest round,
// the latest such step.
func lastAnswer(t *prompt.Trajectory, agent string) (string, bool) {
	best := -1
	for i := range t.Steps {
		if t.Steps[i].Agent == agent && (best < 0 || t.Steps[i].Round >= t.Steps[best].Round) {
			best = i
		}
	}
	if best < 0 {
		return "", false
	}
	return t.Steps[best].Answer, true
}

// recognise is the chance a proposer names the mistake a wrong answer
// came from: larger models read trajectories better.
func recognise(pr *profile) float64 { return sigmoid(0.5 + 1.2*pr.BaseSkill) }
