package sim

import (
	"math"
	"strconv"
	"sync"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
)

// The competence model. See the package documentation for the story.
const (
	hardSlope  = 0.9 // competence lost per unit of hardness above hardCenter
	hardCenter = 2
	tempLin    = 0.3 // temperature penalty = tempLin·T + tempQuad·T²
	tempQuad   = 0.15

	// The error draw is a sum of three logistic draws whose weights' squares
	// add up to 1: one per question (shared by all models and prompts), one
	// per (model, question) and one per full prompt (and sample).
	wQuestion = 0.7416 // √0.55
	wModel    = 0.4472 // √0.20
	wPrompt   = 0.5    // √0.25

	confBase  = 0.8 // stated confidence = sigmoid(confBase + confSlope·margin + bias + noise)
	confSlope = 0.7
	confNoise = 2.2 // noise is triangular on [-confNoise, +confNoise] (sd ≈ 0.9)

	unknownMargin = -4.0 // the margin of an answer to a question the model cannot parse
	copyMargin    = 3    // the margin of an answer copied from a demo of the same question

	moveScale  = 4   // weight of the plurality's pull in the move logit
	confResist = 1.0 // weight of the agent's own confidence logit against moving

	// zipfMax caps the distractors used; their weights are 1, 1/4, 1/9, ...
	zipfMax = 8
)

// unknownAnswer is the reply to a question the model cannot parse.
const unknownAnswer = "unknown"

// Salts separate the draws taken from one hash state.
const (
	saltQuestion = 0x51_7565_7374
	saltModel    = 0x4d_6f64_656c
	saltWrong    = 0x57_726f_6e67
	saltConf     = 0x43_6f6e_6600
	saltMove     = 0x4d_6f76_6500
)

// tempPenalty is the competence lost to sampling at temperature t.
func tempPenalty(t float64) float64 { return tempLin*t + tempQuad*t*t }

// sampleKey is mixed into the draws when sampling, so each sample index
// (and temperature) gives an independent draw.
func sampleKey(req *lm.Request) uint64 {
	return math.Float64bits(req.Temperature) ^ uint64(req.Sample+1)*k2
}

// question is what the model reads off a question text once.
type question struct {
	hash uint64
	ok   bool // a built-in family solved it
	datasets.Solution
	ansHash    uint64   // normHash of Answer
	wrong      []string // the answers it gives when wrong: distractors, or "unknown"
	wrongHash  []uint64
	wrongCum   []float64 // cumulative Zipf weights of wrong, last = 1
	draw       float64   // wQuestion · the per-question logistic draw
	modelDraws []float64 // wModel · the per-(model, question) draw, by profile index
}

// competence returns the logit z of answering q right.
func competence(pr *profile, sys *sysInfo, q *question, temperature float64) float64 {
	return pr.skill(q.Family) - hardSlope*(q.Hardness-hardCenter) + sys.instrQ + sys.rules +
		sys.demoEffect(q.Family) + roleFit(sys.role, q.Family) - tempPenalty(temperature)
}

// pickWrong picks the index of a wrong answer with Zipf-like weights.
func (q *question) pickWrong(h uint64) int {
	u := uniform(h)
	for i, c := range q.wrongCum {
		if u < c {
			return i
		}
	}
	return len(q.wrongCum) - 1
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
	hashes []uint64
}

var scratches = sync.Pool{New: func() any {
	return &scratch{p: prompt.Prompt{Peers: make([]prompt.Peer, 0, 16)}, hashes: make([]uint64, 0, 16)}
}}

func (s *scratch) release() {
	clear(s.p.Peers) // do not pin the call's message
	s.p = prompt.Prompt{Peers: s.p.Peers[:0]}
	s.hashes = s.hashes[:0]
	scratches.Put(s)
}

// answer is the reply to a TaskAnswer call.
func (m *Model) answer(pr *profile, sys *sysInfo, user string, extra uint64, req *lm.Request) string {
	sc := scratches.Get().(*scratch)
	defer sc.release()
	p := &sc.p
	qtext, rest := user, ""
	if err := prompt.ParseUser(user, p); err == nil {
		qtext = p.Question
		const qh = "### Question\n"
		if n := len(qh) + len(qtext); len(user) >= n && user[:len(qh)] == qh && user[len(qh):n] == qtext {
			rest = user[n:]
		} else {
			rest = user
		}
	} else {
		p.Peers = p.Peers[:0] // not our format: the whole message is the question
	}
	q := m.question(qtext)

	// The agent's own belief depends on who it is (system message) and the
	// question, not on its peers: in later rounds it starts from the answer
	// it gave in round 0.
	own := mix(mix(m.seed^pr.hash, sys.hash^extra), q.hash)
	if req.Temperature > 0 {
		own = mix(own, sampleKey(req))
	}
	margin := unknownMargin
	if q.ok {
		z := competence(pr, sys, q, req.Temperature)
		margin = z - q.draw - q.modelDraws[pr.index] - wPrompt*logistic(own)
	}
	correct := margin > 0
	ans, ansHash := q.Answer, q.ansHash
	if !correct {
		i := q.pickWrong(mix(own, saltWrong))
		ans, ansHash = q.wrong[i], q.wrongHash[i]
	}
	for i := range sys.copies {
		if c := &sys.copies[i]; c.qhash == q.hash {
			ans, ansHash, margin = c.answer, c.ansHash, copyMargin
			correct = q.ok && ansHash == q.ansHash
			break
		}
	}
	conf := confidence(pr, margin, mix(own, saltConf))

	if len(p.Peers) > 0 {
		var restHash uint64
		if rest != "" {
			restHash = hashString(rest, k0)
		}
		for i := range p.Peers {
			sc.hashes = append(sc.hashes, normHash(p.Peers[i].Answer))
		}
		v := peerView{peers: p.Peers, hashes: sc.hashes}
		ans, conf = withPeers(pr, sys.role, q, &v, ans, ansHash, conf, correct, mix(own, restHash^saltMove))
	}
	return formatAnswer(ans, conf)
}

// withPeers revises the agent's own answer ans (confidence conf, correct
// or not) after reading its peers' answers, according to its role.
func withPeers(pr *profile, role string, q *question, v *peerView, ans string, ansHash uint64, conf float64, correct bool, h uint64) (string, float64) {
	best, total := v.plurality()
	if best.count == 0 {
		return ans, conf
	}
	bestAns := v.peers[best.first].Answer
	bestHash := v.hashes[best.first]
	share := best.weight / total
	switch role {
	case roleJudge:
		// A judge who knows the answer picks it when a peer offers it;
		// otherwise it goes with the weighted plurality.
		if correct {
			if t := v.support(q.ansHash); t.count > 0 {
				return v.peers[t.first].Answer, conf
			}
		}
		return bestAns, 0.5*conf + 0.5*best.meanConf()
	case roleCritic:
		// A critic who knows the answer flags a wrong plurality and
		// answers its own; otherwise it endorses the plurality.
		if correct {
			if bestHash == ansHash {
				conf = 1 - (1-conf)*(1-0.5*share)
			}
			return ans, conf
		}
		return bestAns, best.meanConf()
	}
	if bestHash == ansHash {
		return ans, 1 - (1-conf)*(1-0.5*share)
	}
	// Move to the plurality with a probability rising with its pull and the
	// agent's conformity, and falling with the agent's confidence.
	agree := v.support(ansHash).weight
	pull := best.weight / (best.weight + agree + conf)
	z := moveScale*(pull-0.5) + pr.conformityLogit - confResist*logit(conf)
	if uniform(h) < sigmoid(z) {
		return bestAns, 0.5*conf + 0.5*best.meanConf()
	}
	return ans, conf * (1 - 0.2*share)
}

// confLines[i] is the reply's confidence line for confidence i/100, as
// prompt.FormatAnswer writes it.
var confLines = func() (out [101]string) {
	for i := range out {
		out[i] = "\nConfidence: " + strconv.FormatFloat(float64(i)/100, 'f', 2, 64)
	}
	return out
}()

// formatAnswer is prompt.FormatAnswer(answer, conf rounded to 0.01), in one
// allocation.
func formatAnswer(answer string, conf float64) string {
	return "Answer: " + answer + confLines[int(math.Round(min(max(conf, 0), 1)*100))]
}
