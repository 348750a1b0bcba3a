package sim

import (
	"math"
	"strings"
)

// Instruction quality comes from features of the text: cues a reader would
// take as advice (a procedure, checking, the task's own vocabulary),
// harmful cues ("guess", "give the wrong answer"), length and redundancy,
// plus a small idiosyncratic remainder. The cues are matched on the
// squashed text (lower-case letters and digits only), so white space, case
// and punctuation do not change them; negation ("do not guess") is read off
// the words. The package doc has the story.

// cueClass groups cues that count together: the n-th distinct cue of a
// class adds half as much as the one before, so a class saturates at
// twice the first cue's worth, and repeating one cue counts once.
type cueClass uint8

const (
	cueProcedure  cueClass = iota // step by step, plan, show the work: helps larger models more, costs tokens
	cueVerify                     // check, verify, re-read
	cueFocus                      // the answer, the question, exactness
	cueArithmetic                 // the arithmetic family's vocabulary
	cueMultihop                   // the multihop family's vocabulary
	cueLogic                      // the logic family's vocabulary
	cueBrief                      // answer only, be concise: fewer tokens
	cueHarm                       // guess, wrong, random: hurts
	numCueClasses
)

// familyClass maps a family to its vocabulary class.
func familyClass(family string) (cueClass, bool) {
	switch family {
	case famArithmetic:
		return cueArithmetic, true
	case famMultihop:
		return cueMultihop, true
	case famLogic:
		return cueLogic, true
	}
	return 0, false
}

// A cue is a stem found anywhere in the squashed text, except inside one of
// its exclusions (the words a short stem hides in: "plan" in "explain"),
// with the weight of its first occurrence for harmful cues (positive
// classes use the class weight).
type cue struct {
	stem  string
	class cueClass
	not   []string
	harm  float64 // for cueHarm: the (negative) weight
}

// parseCue reads "stem/exclusion/exclusion".
func parseCue(s string, class cueClass, harm float64) cue {
	parts := strings.Split(s, "/")
	return cue{stem: parts[0], class: class, not: parts[1:], harm: harm}
}

// find returns the position of the first occurrence of stem in s that no
// exclusion covers, or -1.
func find(s, stem string, not []string) int {
	for from := 0; from <= len(s)-len(stem); {
		j := strings.Index(s[from:], stem)
		if j < 0 {
			return -1
		}
		pos := from + j
		if !excluded(s, pos, len(stem), not) {
			return pos
		}
		from = pos + 1
	}
	return -1
}

// each calls fn with the end of every occurrence of c's stem in s that no
// exclusion covers.
func (c *cue) each(s string, fn func(end int)) {
	for from := 0; ; {
		j := strings.Index(s[from:], c.stem)
		if j < 0 {
			return
		}
		pos := from + j
		from = pos + 1
		if !excluded(s, pos, len(c.stem), c.not) {
			fn(pos + len(c.stem))
		}
	}
}

// excluded reports whether s[pos:pos+n] lies inside an occurrence of one of
// the exclusions.
func excluded(s string, pos, n int, not []string) bool {
	for _, e := range not {
		for k := max(0, pos+n-len(e)); k <= pos && k+len(e) <= len(s); k++ {
			if s[k:k+len(e)] == e {
				return true
			}
		}
	}
	return false
}

var cues = func() []cue {
	var cs []cue
	add := func(class cueClass, stems ...string) {
		for _, s := range stems {
			cs = append(cs, parseCue(s, class, 0))
		}
	}
	add(cueProcedure, "stepbystep", "step", "inorder", "breakdown", "breakthe", "breakit", "plan/explain", "outline",
		"workthrough", "workout", "reason", "think", "showyour", "showeach", "showall", "showthe", "explain",
		"derive", "methodical", "systematic", "sequence", "intermediate", "subquestion", "subproblem", "onebyone")
	add(cueVerify, "check", "verif", "confirm", "validat", "reread", "careful", "mistake", "error/terror", "makesure",
		"ensure", "recompute", "secondway", "test/contest/greatest/latest/fastest/tallest/shortest/oldest/youngest/slowest/richest/poorest/protest", "againstthe", "doubt")
	add(cueFocus, "finalanswer", "answer", "question", "solve", "result", "precise", "exact", "accura", "correct")
	add(cueArithmetic, "arithmetic", "calculat", "comput", "number", "quantit", "math", "total", "operation",
		"multipl", "divid", "subtract", "addition", "percent", "fraction", "unit/community/opportunit", "count/country/account", "summ/assum/consum")
	add(cueMultihop, "context", "paragraph", "fact/manufact", "hop/shop/hope/bishop", "chain", "entit", "relation", "link/blink", "trace",
		"passage", "evidence", "source/resource", "cite/excite/recite", "name")
	add(cueLogic, "compar", "order/border/disorder", "rank/frank/crank", "position", "constraint", "deduc", "eliminat", "consisten",
		"logic", "taller", "shorter", "older", "younger", "faster", "slower", "richer", "poorer", "clue/include/conclude/exclude", "infer")
	add(cueBrief, "only", "brief", "concise", "short/shorter/shortest", "nothingelse", "justthe", "noexplanation", "immediately",
		"directly", "oneword")
	for _, h := range []struct {
		stem string
		w    float64
	}{
		{"wrong", -0.9}, {"incorrect", -0.9}, {"false", -0.6}, {"lie/earlier/applie/relie/multiplie/supplie/implie/lien/client/alien/familie/allie", -0.6}, {"lying/applying/relying/multiplying/supplying/implying", -0.6}, {"mislead", -0.7},
		{"random", -0.5}, {"guess", -0.5}, {"nonsense", -0.7}, {"invent", -0.4}, {"makeup", -0.4},
		{"makeitup", -0.4}, {"sabotage", -0.8}, {"deceiv", -0.8}, {"trick/strick", -0.3}, {"opposite", -0.5},
		{"skip", -0.25}, {"rush/brush/crush", -0.2}, {"hurry", -0.2}, {"withoutthinking", -0.4}, {"sloppy", -0.3},
	} {
		cs = append(cs, parseCue(h.stem, cueHarm, h.w))
	}
	return cs
}()

// negators turn the next cue around (one that starts within negScope
// squashed letters of the negator's end): "do not guess" is advice, "do not
// check" is not. Conditionals make a harmful cue that follows within
// condScope letters a condition, not an order: "if an answer is wrong, ..."
// does no harm. Both are stems with exclusions, like cues.
var (
	negators = []cue{parseCue("not/note/notic/notat/notabl/nothing/another/knot/denot/annot", 0, 0),
		parseCue("never/nevertheless", 0, 0), parseCue("dont", 0, 0), parseCue("avoid", 0, 0),
		parseCue("without", 0, 0), parseCue("cannot", 0, 0), parseCue("neither", 0, 0), parseCue("refrain", 0, 0)}
	conditionals = []cue{parseCue("whether", 0, 0), parseCue("unless", 0, 0), parseCue("incase", 0, 0),
		parseCue("if/verif/ampl/specif/modif/justif/identif/classif/clarif/simplif/quantif/certif/unif/notif/signif/differ/dif", 0, 0)}
)

const (
	negScope  = 16
	condScope = 22
)

// Weights of the features, in competence logits.
const (
	wProcedure = 0.40 // per class, scaled by the model's size factor
	wVerify    = 0.30
	wFocus     = 0.15
	wFamily    = 0.30 // the family's own vocabulary, on that family only
	wNegated   = 0.5  // a negated positive cue counts −wNegated of its weight; a negated harm +0.1 of its size

	lengthFree       = 50    // five-letter words before the length penalty starts
	lengthSlope      = 0.004 // per word beyond lengthFree
	lengthMax        = 0.3
	redundancyMax    = 0.6 // × the share of repeated six-letter windows
	redundancyWindow = 6
	harmFloor        = -1.5

	idioAmp = 0.12 // amplitude of the idiosyncratic remainder

	// QualityEmpty is the quality of an empty instruction (no cues, no
	// remainder).
	QualityEmpty = 0.0
)

// features is what an instruction or rule text offers, read once.
type features struct {
	class [numCueClasses]float64 // positive classes: saturating sum of distinct cues; cueHarm: summed (negative) weights
	rest  float64                // length, redundancy and the idiosyncratic remainder
	// modes is the set of error modes (bits of modeBits) a rule names.
	modes uint32
	empty bool
}

// quality is the competence change of text with features f for a model of
// size factor size on family.
func (f *features) quality(size float64, family string) float64 {
	if f.empty {
		return QualityEmpty
	}
	q := wProcedure*size*f.class[cueProcedure] + wVerify*f.class[cueVerify] + wFocus*f.class[cueFocus] +
		f.class[cueHarm] + f.rest
	if c, ok := familyClass(family); ok {
		q += wFamily * f.class[c]
	}
	return q
}

// sizeFactor scales how much a procedure helps: chain-of-thought gains grow
// with model scale (Wei et al. 2022).
func sizeFactor(baseSkill float64) float64 { return min(max(1+0.45*baseSkill, 0.3), 2) }

// squash returns the lower-case letters and digits of s (bytes from 0x80
// up kept as they are); everything else is dropped.
func squash(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c >= 0x80:
			b = append(b, c)
		}
	}
	return string(b)
}

// readFeatures reads the features of a text.
func readFeatures(text string) features {
	var f features
	s := squash(text)
	if s == "" {
		f.empty = true
		return f
	}
	// Harmful stems first; their bytes are then masked so "incorrect" does
	// not also count as "correct".
	masked := []byte(s)
	type hit struct {
		pos int
		c   *cue
	}
	var hits []hit
	for pass := 0; pass < 2; pass++ {
		ms := string(masked)
		for i := range cues {
			c := &cues[i]
			if (c.class == cueHarm) != (pass == 0) {
				continue
			}
			pos := find(ms, c.stem, c.not)
			if pos < 0 {
				continue
			}
			hits = append(hits, hit{pos, c})
			if c.class == cueHarm {
				for b := pos; b < pos+len(c.stem); b++ {
					masked[b] = '_'
				}
			}
		}
	}
	// Every occurrence of a negator turns around the first cue that starts
	// within negScope letters after it.
	negated := make([]bool, len(hits))
	cond := make([]bool, len(hits))
	for _, ng := range negators {
		ng.each(s, func(end int) {
			first := -1
			for h := range hits {
				if p := hits[h].pos; p >= end && p <= end+negScope && (first < 0 || p < hits[first].pos) {
					first = h
				}
			}
			if first >= 0 {
				negated[first] = true
			}
		})
	}
	for _, cd := range conditionals {
		cd.each(s, func(end int) {
			for h := range hits {
				if p := hits[h].pos; p >= end && p <= end+condScope {
					cond[h] = true
				}
			}
		})
	}
	var count [numCueClasses]int
	harm, turned := 0.0, 0.0
	for h, ht := range hits {
		c := ht.c
		switch {
		case c.class == cueHarm && cond[h]:
		case c.class == cueHarm && negated[h]:
			turned += -0.1 * c.harm
		case c.class == cueHarm:
			harm += c.harm
		case negated[h]:
			turned -= wNegated * classWeight(c.class)
		default:
			count[c.class]++
		}
	}
	for c := range numCueClasses {
		if c != cueHarm {
			f.class[c] = 1 - math.Pow(0.5, float64(count[c])) // 1 cue: 0.5, 2: 0.75, → 1
		}
	}
	f.class[cueHarm] = max(harm, harmFloor)

	// Length (in five-letter words of squashed text, so splitting or
	// joining words does not change it) and redundancy (the share of
	// six-letter windows seen before, so repeating words or phrases costs).
	n := len(s) / 5
	f.rest = turned - min(lengthSlope*float64(max(0, n-lengthFree)), lengthMax)
	if len(s) >= 2*redundancyWindow {
		seen := make(map[string]bool, len(s))
		repeats := 0
		for i := 0; i+redundancyWindow <= len(s); i++ {
			if w := s[i : i+redundancyWindow]; seen[w] {
				repeats++
			} else {
				seen[w] = true
			}
		}
		f.rest -= redundancyMax * float64(repeats) / float64(len(s)-redundancyWindow+1)
	}
	f.rest += idiosyncratic(s)
	f.modes = ruleModes(s)
	return f
}

// classWeight is the nominal weight of a positive class, for negation.
func classWeight(c cueClass) float64 {
	switch c {
	case cueProcedure:
		return wProcedure
	case cueVerify:
		return wVerify
	case cueFocus:
		return wFocus
	case cueBrief:
		return 0
	}
	return wFamily
}

// idiosyncratic is the remainder no feature explains: the mean of a
// per-trigram draw on [−idioAmp, +idioAmp] over the squashed text's
// trigrams, so that a text scores near a text it shares most trigrams with.
func idiosyncratic(s string) float64 {
	if len(s) < 3 {
		return idioAmp * (2*uniform(hashString(s, qualitySalt)) - 1) / 2
	}
	sum := 0.0
	for i := 0; i+3 <= len(s); i++ {
		sum += 2*uniform(hashString(s[i:i+3], qualitySalt)) - 1
	}
	return idioAmp * sum / float64(len(s)-2)
}

const qualitySalt = 0x6d61_6265_616d_003b

// Quality returns the latent quality of an instruction or rule text for a
// model of the given base skill (Profile.BaseSkill) on family: the change
// of the competence logit the text brings, before the saturation of prompt
// gains. The empty text has QualityEmpty.
func Quality(text string, baseSkill float64, family string) float64 {
	f := readFeatures(text)
	return f.quality(sizeFactor(baseSkill), family)
}

// reasoningFactor is how much reasoning the text asks for, multiplying the
// completion's reasoning tokens: a procedure ("step by step", "show your
// work") asks for more, brevity ("answer only") for much less.
func (f *features) reasoningFactor() float64 {
	if f.empty {
		return 1
	}
	r := 1 + 3*f.class[cueProcedure]
	if f.class[cueBrief] > 0 {
		r *= 0.3
	}
	return r
}
