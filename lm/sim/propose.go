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
		"without skipping steps", "as an expert would", "briefly"}
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

// instructionText composes candidate instruction h for role.
func instructionText(role string, h uint64) string {
	ls, ok := leads[role]
	if !ok {
		ls = leads[roleSolver]
	}
	return pickPhrase(ls, h, 1) + " " + pickPhrase(manners, h, 2) + pickPhrase(checks, h, 3) + "." + pickPhrase(finishes, h, 4)
}

// ruleText composes candidate rule h.
func ruleText(h uint64) string {
	return pickPhrase(openers, h, 5) + " " + pickPhrase(conditions, h, 6) + ", " + pickPhrase(actions, h, 7) + "."
}

// bestOf returns the candidate of highest Quality among k.
func bestOf(k int, base uint64, compose func(uint64) string) string {
	best, bestQ := "", 0.0
	for j := range k {
		t := compose(mix(base, uint64(j)+1))
		if q := Quality(t); best == "" || q > bestQ {
			best, bestQ = t, q
		}
	}
	return best
}

// propose is the reply to a TaskProposeInstruction or TaskAdvise call: the
// best of k candidate texts, k growing with the proposer's skill and with
// how much its input tells it.
func (m *Model) propose(pr *profile, sys *sysInfo, user string, extra uint64, req *lm.Request) string {
	base := mix(mix(m.seed^pr.hash, sys.hash^extra), hashString(user, k0))
	if req.Temperature > 0 {
		base = mix(base, sampleKey(req))
	}
	k := pr.proposals
	if sys.task == prompt.TaskAdvise {
		var p prompt.Prompt
		if prompt.ParseUser(user, &p) == nil && strings.TrimSpace(p.Better) != strings.TrimSpace(p.Worse) {
			k += adviceCandidates
		}
		return "Rule: " + bestOf(k, base, ruleText)
	}
	k += min(sys.nDemos/demosPerCandidate, maxDemoCandidates)
	return "Instruction: " + bestOf(k, base, func(h uint64) string { return instructionText(sys.role, h) })
}
