package sim

import (
	"math"
	"slices"
	"strings"
)

// Quality spread: every instruction or rule text has a latent quality in
// [-QualitySpread, +QualitySpread], added to the competence logit.
const (
	QualitySpread = 0.6
	// QualityEmpty is the quality of an empty instruction: a little below
	// the average text, since any sensible instruction helps a bit.
	QualityEmpty = -0.1

	qualitySalt = 0x6d61_6265_616d_003a // chosen so the reference instruction sits mid-range
)

// Quality returns the latent quality of an instruction or rule text, in
// [-QualitySpread, +QualitySpread]. It is a hash of the text after folding
// case, collapsing white space and dropping trailing punctuation, mapped to a
// triangular distribution (the sum of two uniforms), so that extreme texts
// are rare and searching for good ones pays off gradually. The empty text
// has QualityEmpty.
func Quality(text string) float64 {
	norm := normalizeText(text)
	if norm == "" {
		return QualityEmpty
	}
	h := hashString(norm, qualitySalt)
	return QualitySpread * (uniform(h) + uniform(mix(h, k2)) - 1)
}

// normalizeText folds ASCII case, collapses runs of white space and trims
// trailing punctuation and space.
func normalizeText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			space = b.Len() > 0
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
	}
	return strings.TrimRight(b.String(), ".!;: ")
}

// Effects of rules and demos on the competence logit.
const (
	ruleWeight = 0.4 // effect of the best (or worst) rule per unit of quality
	ruleDecay  = 0.6 // each further rule counts this much less

	demoGain        = 0.5  // ceiling of the gain from relevant correct demos
	demoRate        = 0.45 // gain = demoGain·(1-exp(-demoRate·n)), n the weighted count
	demoWrongLoss   = 0.6  // ceiling of the loss from relevant wrong demos
	demoWrongRate   = 0.6
	demoOffTopic    = 0.03 // loss per demo of another family, up to demoOffTopicMax
	demoOffTopicMax = 0.15
)

// rulesEffect is the competence change from rules: good rules help and bad
// ones hurt, each with diminishing weight (the best first, the worst first).
func rulesEffect(rules []string) float64 {
	var pos, neg []float64
	for _, r := range rules {
		if q := Quality(r); q >= 0 {
			pos = append(pos, q)
		} else {
			neg = append(neg, q)
		}
	}
	slices.Sort(neg) // worst first
	slices.Sort(pos)
	slices.Reverse(pos) // best first
	eff := 0.0
	for _, qs := range [][]float64{pos, neg} {
		w := ruleWeight
		for _, q := range qs {
			eff += w * q
			w *= ruleDecay
		}
	}
	return eff
}

// demoUse is the weight of one correct demo, in [0.6, 1.4]: some worked
// examples teach more than others, so which demos are chosen matters.
func demoUse(questionHash uint64) float64 { return 0.6 + 0.8*uniform(mix(questionHash, 0xde305)) }

// demoStats summarises the demos of one family.
type demoStats struct {
	family string
	useful float64 // summed demoUse of correct demos
	wrong  int     // demos whose answer the model finds wrong
	count  int
	effect float64 // on a question of this family, before off-topic losses
}

func (d *demoStats) finish() {
	d.effect = demoGain*(1-math.Exp(-demoRate*d.useful)) - demoWrongLoss*(1-math.Exp(-demoWrongRate*float64(d.wrong)))
}
