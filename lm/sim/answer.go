package sim

import (
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
)

// The competence model. See the package documentation for the story.
const (
	hardSlope  = DefaultHardness // competence lost per unit of hardness above hardCenter, unless the profile says
	hardCenter = HardnessCentre
	tempLin    = 0.15 // temperature penalty = tempLin·T + tempQuad·T²
	tempQuad   = 0.1

	// The error draw at temperature 0 is a sum of three logistic draws
	// whose weights' squares add up to 1: one per question (shared by all
	// models and prompts), one per (model, question) and one per (model,
	// prompt content, question).
	wQuestion = 0.7416 // √0.55
	wModel    = 0.4472 // √0.20
	wPrompt   = 0.5    // √0.25
	// Sampling: at temperature T the draw is √(1−s)·(the draw at T=0) +
	// √s·(a per-sample draw), s = sampleMax·T/(T+sampleHalf).
	sampleMax  = 0.8
	sampleHalf = 0.5

	confBase  = 0.8 // stated confidence = sigmoid(confBase + confSlope·margin + bias + noise)
	confSlope = 0.7
	confNoise = 2.2 // noise is triangular on [-confNoise, +confNoise] (sd ≈ 0.9)

	unknownMargin = -4.0 // the margin of an answer to a question the model cannot parse
	copyMargin    = 3    // the margin of an answer copied from a demo of the same question

	// zipfMax caps the distractors used; their weights are 1, 1/4, 1/9, ...
	zipfMax = 8

	// largestHeadroom bounds the prompt gain of the largest model, which
	// has no larger model to stay below; minHeadroom is the least headroom
	// of the others.
	largestHeadroom = 0.8
	minHeadroom     = 0.05
	// headroomShare of the gap to the next larger model's reference
	// competence is the most a prompt can add.
	headroomShare = 0.7

	// Reasoning: a reply reasons for about reasonBase·(1+hardness)·factor
	// tokens before its answer, factor from the instruction.
	reasonBase = 10
)

// unknownAnswer is the reply to a question the model cannot parse.
const unknownAnswer = "unknown"

// Salts separate the draws taken from one hash state.
const (
	saltQuestion = 0x51_7565_7374
	saltModel    = 0x4d_6f64_656c
	saltWrong    = 0x57_726f_6e67
	saltConf     = 0x43_6f6e_6600
	saltSample   = 0x53_616d_706c
)

// tempPenalty is the competence lost to sampling at temperature t.
func tempPenalty(t float64) float64 { return tempLin*t + tempQuad*t*t }

// sampleShare is the share of the error draw's variance that is drawn
// afresh for every sample at temperature t.
func sampleShare(t float64) float64 { return sampleMax * t / (t + sampleHalf) }

// saturate bounds a prompt gain x (over the reference prompt) by the
// headroom h; losses are not bounded.
func saturate(x, h float64) float64 {
	if x <= 0 {
		return x
	}
	return h * math.Tanh(x/h)
}

// pickWrong picks the index of a wrong answer with Zipf-like weights
// 1/(i+1)^a: a = 2 at temperature 0, flatter when sampling (a = 2/(1+T)),
// as temperature flattens a real model's distribution over answers.
func (q *question) pickWrong(h uint64, temperature float64) int {
	u := uniform(h)
	if temperature == 0 || len(q.wrong) == 1 {
		for i, c := range q.wrongCum {
			if u < c {
				return i
			}
		}
		return len(q.wrongCum) - 1
	}
	a := 2 / (1 + temperature)
	var w [zipfMax]float64
	total := 0.0
	for i := range q.wrong {
		w[i] = math.Pow(float64(i+1), -a)
		total += w[i]
	}
	u *= total
	for i := range q.wrong {
		if u < w[i] {
			return i
		}
		u -= w[i]
	}
	return len(q.wrong) - 1
}

// confidence is the stated confidence for a latent margin, from draw h.
func confidence(pr *profile, margin float64, h uint64) float64 {
	noise := confNoise * (float64(h>>32) + float64(h&0xffffffff) - (1<<32 - 1)) / (1 << 32)
	c := sigmoid(confBase + confSlope*margin + pr.ConfidenceBias + noise)
	return min(max(c, 0.01), 0.99)
}

// scratch is the per-call working memory, recycled through a pool.
type scratch struct {
	p      prompt.Prompt
	prev   prompt.Peer // ParseUser's Previous, kept to save an allocation
	hashes []uint64
	cands  []candidate
}

var scratches = sync.Pool{New: func() any {
	s := &scratch{p: prompt.Prompt{Peers: make([]prompt.Peer, 0, 16)}, hashes: make([]uint64, 0, 16), cands: make([]candidate, 0, 16)}
	s.p.Previous = &s.prev
	return s
}}

func (s *scratch) release() {
	clear(s.p.Peers) // do not pin the call's message
	s.prev = prompt.Peer{}
	s.p = prompt.Prompt{Peers: s.p.Peers[:0], Previous: &s.prev}
	s.hashes = s.hashes[:0]
	clear(s.cands)
	s.cands = s.cands[:0]
	scratches.Put(s)
}

// attempt is an agent's own solution in one call.
type attempt struct {
	answer  string
	hash    uint64
	margin  float64
	conf    float64
	noReply bool // the question is not one the model can read
}

// solve is the agent's own attempt at q: right when its competence beats
// the error draw. callKey tells samples apart (0 at temperature 0).
func (m *Model) solve(pr *profile, sys *sysInfo, q *question, temperature float64, withPeers bool, callKey uint64) attempt {
	key := mix(mix(m.seed^pr.hash, sys.content), q.hash)
	if temperature > 0 {
		key = mix(key, callKey^saltSample)
	}
	if !q.ok {
		return attempt{answer: unknownAnswer, hash: normHash(unknownAnswer), margin: unknownMargin,
			conf: confidence(pr, unknownMargin, mix(key, saltConf)), noReply: true}
	}
	for i := range sys.copies {
		if c := &sys.copies[i]; c.qhash == q.hash && c.answer != "" {
			return attempt{answer: c.answer, hash: normHash(c.answer), margin: copyMargin, conf: confidence(pr, copyMargin, mix(key, saltConf))}
		}
	}
	wi := q.pickWrong(mix(key, saltWrong), temperature)
	g := sys.gain[pr.index][q.fam] - pr.gainRef[q.fam]
	if sys.modes&q.wrongMode[wi] != 0 {
		g += modeGain
	}
	if withPeers {
		g += roleFit(sys.role, q.Family)
	}
	z := pr.skill(q.Family) - pr.slope(q.Family)*(q.Hardness-hardCenter) + saturate(g, pr.headroom[q.fam]) - tempPenalty(temperature)
	base := mix(mix(m.seed^pr.hash, sys.content), q.hash)
	e := q.draw + q.modelDraws[pr.index] + wPrompt*logistic(base)
	if temperature > 0 {
		s := sampleShare(temperature)
		e = math.Sqrt(1-s)*e + math.Sqrt(s)*logistic(key)
	}
	a := attempt{margin: z - e}
	if a.margin > 0 {
		a.answer, a.hash = q.Answer, q.ansHash
	} else {
		a.answer, a.hash = q.wrong[wi], q.wrongHash[wi]
	}
	a.conf = confidence(pr, a.margin, mix(key, saltConf))
	return a
}

// answer is the reply to a TaskAnswer call.
func (m *Model) answer(pr *profile, sys *sysInfo, user string, req *lm.Request) string {
	sc := scratches.Get().(*scratch)
	defer sc.release()
	p := &sc.p
	qtext := user
	if err := prompt.ParseUser(user, p); err == nil {
		qtext = p.Question
	} else {
		p.Peers = p.Peers[:0] // not our format: the whole message is the question
		p.Previous = nil
	}
	q := m.question(qtext)
	withPeers := len(p.Peers) > 0
	var callKey uint64
	if req.Temperature > 0 {
		// Every call samples afresh: keyed by the sample index, the agent
		// (its id) and what the call shows beyond the question.
		callKey = mix(sampleKey(req)^sys.agent, hashString(user, k0))
	}
	a := m.solve(pr, sys, q, req.Temperature, withPeers, callKey)
	ans, conf := a.answer, a.conf
	if withPeers || p.Previous != nil {
		for i := range p.Peers {
			sc.hashes = append(sc.hashes, normHash(p.Peers[i].Answer))
		}
		ans, conf = m.revise(pr, sys.role, sc, p, &a)
	}
	return m.reply(pr, sys, q, ans, conf, a.noReply)
}

// sampleKey tells apart the samples of a request at temperature > 0.
func sampleKey(req *lm.Request) uint64 {
	return math.Float64bits(req.Temperature) ^ uint64(req.Sample+1)*k2
}

// Weights of the evidence an agent weighs in a debate round or as a judge:
// its own attempt, its previous answer and its peers' answers, each by the
// stated confidence.
type weights struct{ attempt, previous, peer float64 }

func roleWeights(pr *profile, role string) weights {
	c := pr.Conformity
	switch role {
	case roleJudge:
		return weights{attempt: 3 * (1.2 - c), previous: 0, peer: 0.6 * c}
	case roleCritic:
		return weights{attempt: 1.0, previous: 1.3, peer: 1.3 * c}
	}
	return weights{attempt: 0.6, previous: 1.4, peer: 2 * c}
}

// candidate is one answer on the table in a revision.
type candidate struct {
	text    string
	hash    uint64
	score   float64
	confSum float64
	n       int
	order   int // 0 previous, 1 attempt, 2+ peers: breaks ties
}

// revise weighs the agent's own attempt, its previous answer and its
// peers' answers by role and stated confidence, and returns the answer with
// the most weight and its new confidence. A judge picks one of its peers'
// answers; the others may keep their own.
func (m *Model) revise(pr *profile, role string, sc *scratch, p *prompt.Prompt, a *attempt) (string, float64) {
	w := roleWeights(pr, role)
	judge := role == roleJudge && len(p.Peers) > 0
	cs := sc.cands[:0]
	add := func(text string, h uint64, conf, weight float64, order int) {
		if h == 0 {
			return
		}
		conf = min(max(conf, 0), 1)
		for i := range cs {
			if cs[i].hash == h {
				cs[i].score += weight * max(conf, minPeerWeight)
				cs[i].confSum += conf
				cs[i].n++
				cs[i].order = min(cs[i].order, order)
				return
			}
		}
		cs = append(cs, candidate{text: text, hash: h, score: weight * max(conf, minPeerWeight), confSum: conf, n: 1, order: order})
	}
	for i := range p.Peers {
		add(p.Peers[i].Answer, sc.hashes[i], p.Peers[i].Confidence, w.peer, 2+i)
	}
	if judge {
		// The judge's attempt supports a candidate it matches; it adds none.
		for i := range cs {
			if cs[i].hash == a.hash {
				cs[i].score += w.attempt * a.conf
			}
		}
	} else {
		add(a.answer, a.hash, a.conf, w.attempt, 1)
		if pv := p.Previous; pv != nil {
			add(pv.Answer, normHash(pv.Answer), pv.Confidence, w.previous, 0)
		}
	}
	sc.cands = cs
	if len(cs) == 0 {
		return a.answer, a.conf
	}
	best, total := 0, 0.0
	for i := range cs {
		total += cs[i].score
		if cs[i].score > cs[best].score || (cs[i].score == cs[best].score && cs[i].order < cs[best].order) {
			best = i
		}
	}
	c := &cs[best]
	share := c.score / total
	conf := c.confSum / float64(c.n)
	if c.hash == a.hash {
		conf = max(conf, a.conf)
	}
	conf = 1 - (1-conf)*(1-0.5*share*float64(min(c.n-1, 3))/3)
	return c.text, min(max(conf, 0.01), 0.99)
}

// reasoning is the text a reply reasons in: numbered steps, cut to length.
var reasoning = func() string {
	var b strings.Builder
	verbs := []string{"Read what is given", "Note the quantities and names", "Work out the next part", "Combine it with the previous result",
		"Check the intermediate result", "Compare it with the question", "Carry the result forward", "Re-read the question"}
	for i := 1; b.Len() < 1<<15; i++ {
		b.WriteString("Step ")
		b.WriteString(strconv.Itoa(i))
		b.WriteString(": ")
		b.WriteString(verbs[(i*5+i/8)%len(verbs)])
		b.WriteString(". ")
	}
	return b.String()
}()

// reply writes the reply: a reasoning section of the length the
// instruction, the question's hardness and the profile's verbosity call
// for, then the answer and the stated confidence.
func (m *Model) reply(pr *profile, sys *sysInfo, q *question, ans string, conf float64, noReply bool) string {
	n := reasoningLen(q, sys.reasoning, pr.verbosity, noReply)
	return replyReasoning + reasoning[:n] + replyAnswer + ans + confLines[int(math.Round(min(max(conf, 0), 1)*100))]
}

// The fixed parts of a reply: before the reasoning, between it and the
// answer, and the length of the confidence line.
const (
	replyReasoning = "Reasoning: "
	replyAnswer    = "\nAnswer: "
	confLineLen    = len("\nConfidence: 0.00")
)

// reasoningLen is the length in bytes of a reply's reasoning on q, for an
// instruction of reasoning factor factor and a profile of the given
// verbosity.
func reasoningLen(q *question, factor, verbosity float64, noReply bool) int {
	h := q.Hardness
	if noReply || h == 0 {
		h = 1
	}
	// Bounded before the conversion, so that no verbosity overflows it.
	n := 4 * int(min(math.Round(reasonBase*(1+h)*factor*verbosity), float64(len(reasoning))))
	n = min(max(n, 8), len(reasoning))
	// Cut at a space so the reasoning ends on a whole word.
	if i := strings.LastIndexByte(reasoning[:n], ' '); i > 0 {
		n = i
	}
	return n
}

// confLines[i] is the reply's confidence line for confidence i/100, as
// prompt.FormatAnswer writes it.
var confLines = func() (out [101]string) {
	for i := range out {
		out[i] = "\nConfidence: " + strconv.FormatFloat(float64(i)/100, 'f', 2, 64)
	}
	return out
}()
