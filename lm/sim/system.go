package sim

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm/prompt"
)

// ReferenceInstruction is the instruction of the calibration table: a
// profile's Skill is the competence of a solver given this instruction,
// and prompt gains are measured from it.
const ReferenceInstruction = "Solve the problem step by step and give the final answer."

// Family indices of the per-family tables; famOther is any other family.
const (
	famIArithmetic = iota
	famIMultihop
	famILogic
	famOther
	numFamilies
)

var familyNames = [numFamilies]string{famArithmetic, famMultihop, famLogic, ""}

func familyIndex(family string) int {
	switch family {
	case famArithmetic:
		return famIArithmetic
	case famMultihop:
		return famIMultihop
	case famLogic:
		return famILogic
	}
	return famOther
}

// Effects of rules and demos on the competence logit.
const (
	ruleWeight = 0.4 // effect of the best (or worst) rule per unit of quality
	ruleDecay  = 0.6 // each further distinct rule counts this much less
	// modeGain is the competence a rule naming an error mode adds on the
	// questions where that mistake is the one the agent would make.
	modeGain = 0.7

	demoGain        = 0.5  // ceiling of the gain from relevant correct demos
	demoRate        = 0.45 // gain = demoGain·(1-exp(-demoRate·n)), n the weighted count
	demoWrongLoss   = 0.6  // ceiling of the loss from relevant wrong demos
	demoWrongRate   = 0.6
	demoOffTopic    = 0.03 // loss per demo of another family, up to demoOffTopicMax
	demoOffTopicMax = 0.15
)

// sysInfo is what the model reads off a system message once.
type sysInfo struct {
	// content hashes what the system message says, normalised: task, role,
	// instruction, the set of rules and of demos, as squashed text. It keys
	// the per-prompt draw, so ids, white space, case and punctuation do not
	// change an answer at temperature 0.
	content uint64
	agent   uint64 // hash of the raw agent id: only sampling tells agents apart
	task    prompt.Task
	role    string
	// gain is the prompt's competence change by profile index and family,
	// from instruction, rules and demos, before saturation; role fit and
	// rule modes are added per call.
	gain  [][numFamilies]float64
	modes uint32 // error modes (bits of modeIndex) the rules name
	// reasoning multiplies the reply's reasoning tokens.
	reasoning float64
	nDemos    int
	copies    []demoCopy
	// demoFamilies counts the demos by family index, for proposals'
	// grounding.
	demoFamilies [numFamilies]int
}

// demoCopy lets the model copy a demo's answer when asked its question.
type demoCopy struct {
	qhash  uint64
	answer string
	right  bool
}

// system returns what the model reads off a system message, parsing and
// scoring it on first sight.
func (m *Model) system(content string) *sysInfo {
	if s, ok := m.systems.get(content); ok {
		return s
	}
	var p prompt.Prompt
	if err := prompt.ParseSystem(content, &p); err != nil {
		// Not our format: a real model would read it all as an instruction.
		p = prompt.Prompt{Instruction: content}
	}
	s := &sysInfo{task: p.Task, role: p.Role, agent: hashString(p.Agent, k1)}
	if s.task == "" {
		s.task = prompt.TaskAnswer
	}
	if s.role == "" {
		s.role = roleSolver
	}
	instr := readFeatures(p.Instruction)
	s.reasoning = instr.reasoningFactor()

	// Distinct rules, by squashed text, in first-seen order.
	var rules []features
	var ruleKeys []string
	for _, r := range p.Rules {
		sq := squash(r)
		if len(sq) == 0 || slices.Contains(ruleKeys, sq) {
			continue
		}
		ruleKeys = append(ruleKeys, sq)
		f := readFeatures(r)
		rules = append(rules, f)
		s.modes |= f.modes
	}
	slices.Sort(ruleKeys)

	// Distinct demos, by squashed question.
	type demo struct {
		q     *question
		right bool
	}
	var demos []demo
	var demoKeys []string
	for _, d := range p.Demos {
		q := m.question(d.Question)
		right := q.ok && q.finalRight(d.Answer)
		s.copies = append(s.copies, demoCopy{qhash: q.hash, answer: strings.Clone(finalText(d.Answer)), right: right})
		sq := squash(d.Question)
		if slices.Contains(demoKeys, sq) {
			continue
		}
		demoKeys = append(demoKeys, sq)
		demos = append(demos, demo{q, right})
		if q.ok {
			s.demoFamilies[familyIndex(q.Family)]++
		}
	}
	s.nDemos = len(demos)
	slices.Sort(demoKeys)

	// The content key: what the message says, not how it is typed.
	var key strings.Builder
	key.WriteString(string(s.task))
	key.WriteByte(0)
	key.WriteString(s.role)
	key.WriteByte(0)
	sq := squash(p.Instruction)
	key.WriteString(sq)
	for _, r := range ruleKeys {
		key.WriteByte(1)
		key.WriteString(r)
	}
	for i, d := range demoKeys {
		key.WriteByte(2)
		key.WriteString(d)
		key.WriteString(strconv.FormatBool(demos[i].right))
	}
	s.content = hashString(key.String(), k2)

	// Gains per profile and family.
	s.gain = make([][numFamilies]float64, len(m.byIndex))
	qs := make([]float64, len(rules))
	for pi, pr := range m.byIndex {
		for fi, fam := range familyNames {
			g := instr.quality(pr.size, fam)
			for k := range rules {
				qs[k] = rules[k].quality(pr.size, fam)
			}
			g += rulesEffect(qs)
			var useful float64
			var wrong, off int
			for _, d := range demos {
				switch {
				case !d.q.ok || familyIndex(d.q.Family) != fi:
					off++
				case d.right:
					useful += demoUse(d.q.hash)
				default:
					wrong++
				}
			}
			g += demoGain*(1-math.Exp(-demoRate*useful)) - demoWrongLoss*(1-math.Exp(-demoWrongRate*float64(wrong))) -
				min(demoOffTopic*float64(off), demoOffTopicMax)
			s.gain[pi][fi] = g
		}
	}
	return m.systems.put(strings.Clone(content), s)
}

// rulesEffect is the competence change from rules of qualities qs (which it
// sorts): good rules help and bad ones hurt, each with diminishing weight
// (the best first, the worst first).
func rulesEffect(qs []float64) float64 {
	slices.Sort(qs)
	eff := 0.0
	w := ruleWeight
	for i := len(qs) - 1; i >= 0 && qs[i] > 0; i-- { // good rules, best first
		eff += w * qs[i]
		w *= ruleDecay
	}
	w = ruleWeight
	for i := 0; i < len(qs) && qs[i] < 0; i++ { // bad rules, worst first
		eff += w * qs[i]
		w *= ruleDecay
	}
	return eff
}

// demoUse is the weight of one correct demo, in [0.6, 1.4]: some worked
// examples teach more than others, so which demos are chosen matters.
func demoUse(questionHash uint64) float64 { return 0.6 + 0.8*uniform(mix(questionHash, 0xde305)) }

// question is what the model reads off a question text once.
type question struct {
	hash uint64
	ok   bool // a built-in family solved it
	datasets.Solution
	fam        int      // family index
	ansHash    uint64   // normHash of Answer
	wrong      []string // the answers it gives when wrong: distractors, or "unknown"
	wrongHash  []uint64
	wrongMode  []uint32  // the error mode bit of each wrong answer (0: none)
	wrongCum   []float64 // cumulative Zipf weights of wrong, last = 1
	draw       float64   // wQuestion · the per-question logistic draw
	modelDraws []float64 // wModel · the per-(model, question) draw, by profile index
}

// question returns what the model knows about a question text, solving it
// on first sight.
func (m *Model) question(text string) *question {
	if q, ok := m.questions.get(text); ok {
		return q
	}
	// Solve a copy: the solution may hold substrings of its input, and the
	// text itself may be cut from a larger message the cache must not pin.
	text = strings.Clone(text)
	q := &question{hash: hashString(text, k3)}
	q.Solution, q.ok = datasets.Solve(text)
	q.ansHash = normHash(q.Answer)
	q.fam = famOther
	if !q.ok {
		q.Solution = datasets.Solution{}
		q.ansHash = 0
	} else {
		q.fam = familyIndex(q.Family)
	}
	for i, d := range q.Distractors {
		if h := normHash(d); h != q.ansHash && h != 0 && len(q.wrong) < zipfMax {
			q.wrong = append(q.wrong, d)
			mode := ""
			if i < len(q.Modes) {
				mode = q.Modes[i]
			}
			q.wrongMode = append(q.wrongMode, modeBit(mode))
		}
	}
	if len(q.wrong) == 0 {
		q.wrong = []string{unknownAnswer}
		q.wrongMode = []uint32{0}
	}
	total := 0.0
	for i := range q.wrong {
		total += 1 / float64((i+1)*(i+1))
		q.wrongHash = append(q.wrongHash, normHash(q.wrong[i]))
	}
	acc := 0.0
	for i := range q.wrong {
		acc += 1 / float64((i+1)*(i+1))
		q.wrongCum = append(q.wrongCum, acc/total)
	}
	q.wrongCum[len(q.wrongCum)-1] = 1
	q.draw = wQuestion * logistic(mix(m.seed^saltQuestion, q.hash))
	q.modelDraws = make([]float64, len(m.byIndex))
	for i, pr := range m.byIndex {
		q.modelDraws[i] = wModel * logistic(mix(m.seed^pr.hash^saltModel, q.hash))
	}
	return m.questions.put(text, q)
}

// finalText is the final answer of a reply or worked example, read the way
// a team reads an answer (prompt.ParseAnswer: the last "Answer:" line, else
// the last line).
func finalText(s string) string {
	a, _, _ := prompt.ParseAnswer(s)
	return a
}

// finalRight reports whether a worked example's answer text ends on this
// question's right answer: its "Answer:" line (else its last line) equals
// the answer, or, read further, its last number (numeric answers) or the
// last of the question's candidate entities it names is the answer.
func (q *question) finalRight(text string) bool {
	a := finalText(text)
	if normHash(a) == q.ansHash {
		return true
	}
	if _, err := strconv.Atoi(q.Answer); err == nil {
		n, ok := lastNumber(a)
		return ok && n == q.Answer
	}
	la := strings.ToLower(a)
	best, bestAt := "", -1
	for _, c := range append([]string{q.Answer}, q.wrong...) {
		if i := strings.LastIndex(la, strings.ToLower(c)); i > bestAt || (i == bestAt && i >= 0 && len(c) > len(best)) {
			best, bestAt = c, i
		}
	}
	return bestAt >= 0 && best == q.Answer
}

// lastNumber is the last integer written in s ("$1,200" reads 1200), in
// canonical form.
func lastNumber(s string) (string, bool) {
	end := -1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] >= '0' && s[i] <= '9' {
			end = i + 1
			break
		}
	}
	if end < 0 {
		return "", false
	}
	start := end
	for start > 0 && (s[start-1] >= '0' && s[start-1] <= '9' || s[start-1] == ',' && start >= 2 && s[start-2] >= '0' && s[start-2] <= '9') {
		start--
	}
	digits := strings.ReplaceAll(s[start:end], ",", "")
	if start > 0 && s[start-1] == '.' { // a decimal tail: not an integer
		return "", false
	}
	if end < len(s)-1 && s[end] == '.' && s[end+1] >= '0' && s[end+1] <= '9' {
		return "", false
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return "", false
	}
	return strconv.Itoa(n), true
}
