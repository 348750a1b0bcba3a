package datasets

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Metric scores a prediction against the gold answer, in [0, 1].
type Metric func(prediction, gold string) float64

// Normalize puts an answer in the canonical form the metrics compare:
// lower case; punctuation and symbols removed (so "don't" is "dont");
// the articles a, an and the dropped; runs of white space collapsed to one
// space and the ends trimmed; numbers written plainly, so "1,000", "$1000."
// and "1000.0" are all "1000" and "0.50" is "0.5".
//
// It returns s itself, without allocating, when s is already normal, and
// allocates once otherwise. Normalize(Normalize(s)) == Normalize(s).
func Normalize(s string) string {
	if isNormal(s) {
		return s
	}
	var stack [256]byte
	return string(appendNormalized(stack[:0], s))
}

// appendNormalized appends the normal form of s to buf.
func appendNormalized(buf []byte, s string) []byte {
	for s != "" {
		// Split off the next token at unicode white space.
		i := 0
		for i < len(s) {
			r, n := rune(s[i]), 1
			if r >= utf8.RuneSelf {
				r, n = utf8.DecodeRuneInString(s[i:])
			}
			if isSpace(r) {
				break
			}
			i += n
		}
		tok := s[:i]
		for i < len(s) {
			r, n := rune(s[i]), 1
			if r >= utf8.RuneSelf {
				r, n = utf8.DecodeRuneInString(s[i:])
			}
			if !isSpace(r) {
				break
			}
			i += n
		}
		s = s[i:]
		if tok != "" {
			buf = appendToken(buf, tok)
		}
	}
	return buf
}

// sameNormal reports whether Normalize(a) == Normalize(b); it does not
// allocate for strings of up to 128 bytes.
func sameNormal(a, b string) bool {
	var x, y [128]byte
	// A conversion compared directly does not allocate.
	switch na, nb := isNormal(a), isNormal(b); {
	case na && nb:
		return a == b
	case na:
		return a == string(appendNormalized(y[:0], b))
	case nb:
		return string(appendNormalized(x[:0], a)) == b
	}
	return string(appendNormalized(x[:0], a)) == string(appendNormalized(y[:0], b))
}

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
	}
	return unicode.IsSpace(r)
}

func isPunctOrSymbol(r rune) bool {
	if r < utf8.RuneSelf {
		return r > ' ' && r < 0x7f && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}
	return unicode.IsPunct(r) || unicode.IsSymbol(r)
}

func isArticle(t string) bool { return t == "a" || t == "an" || t == "the" }

// isNormal reports whether Normalize(s) == s, cheaply.
func isNormal(s string) bool {
	for s != "" {
		i := strings.IndexByte(s, ' ')
		if i == 0 || i == len(s)-1 {
			return false
		}
		tok := s
		if i > 0 {
			tok, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if !isNormalToken(tok) {
			return false
		}
	}
	return true
}

func isNormalToken(tok string) bool {
	if isArticle(tok) {
		return false
	}
	digits, other := 0, 0
	for i := 0; i < len(tok); {
		c := tok[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			i++
		case c >= 'a' && c <= 'z':
			other++
			i++
		case c == '-' || c == '.':
			return isCanonicalNumber(tok)
		case c < utf8.RuneSelf:
			return false
		default:
			r, n := utf8.DecodeRuneInString(tok[i:])
			if r == utf8.RuneError || unicode.IsSpace(r) || isPunctOrSymbol(r) || unicode.ToLower(r) != r {
				return false
			}
			other++
			i += n
		}
	}
	// A number has no leading zeros.
	return other > 0 || tok[0] != '0' || len(tok) == 1
}

// isCanonicalNumber reports whether t is a number as appendNumber writes it.
func isCanonicalNumber(t string) bool {
	neg := t[0] == '-'
	if neg {
		t = t[1:]
	}
	intPart, frac, hasPoint := strings.Cut(t, ".")
	if !allDigits(intPart) || intPart[0] == '0' && len(intPart) > 1 {
		return false
	}
	if hasPoint {
		return allDigits(frac) && frac[len(frac)-1] != '0'
	}
	return !neg || intPart != "0" // "-0" is written "0"
}

// appendToken appends the normal form of one white-space-free token, after
// a separating space, unless it normalises to nothing or to an article.
func appendToken(buf []byte, tok string) []byte {
	mark := len(buf)
	if mark > 0 {
		buf = append(buf, ' ')
	}
	start := len(buf)
	if core, ok := numberCore(tok); ok {
		return appendNumber(buf, core)
	}
	for _, r := range tok {
		switch {
		case r == utf8.RuneError || isPunctOrSymbol(r):
		case r < utf8.RuneSelf:
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
			buf = append(buf, byte(r))
		default:
			buf = utf8.AppendRune(buf, unicode.ToLower(r))
		}
	}
	w := buf[start:]
	if len(w) == 0 || isArticle(string(w)) {
		return buf[:mark]
	}
	// Digits left once punctuation is gone ("0!0") are still a number.
	if allDigits(string(w)) && w[0] == '0' && len(w) > 1 {
		z := 0
		for z < len(w)-1 && w[z] == '0' {
			z++
		}
		n := copy(w, w[z:])
		buf = buf[:start+n]
	}
	return buf
}

// numberCore strips a token's surrounding punctuation and currency and
// reports whether what is left is a number: an optional minus sign, digits
// (optionally grouped by commas in threes), an optional fraction.
func numberCore(tok string) (string, bool) {
	// Leading: keep a sign or point that starts the number.
	for tok != "" {
		r, n := utf8.DecodeRuneInString(tok)
		if r >= '0' && r <= '9' {
			break
		}
		if (r == '-' || r == '+' || r == '.') && len(tok) > 1 && (tok[1] >= '0' && tok[1] <= '9' || r != '.' && tok[1] == '.') {
			break
		}
		if !isPunctOrSymbol(r) {
			return "", false
		}
		tok = tok[n:]
	}
	for tok != "" {
		r, n := utf8.DecodeLastRuneInString(tok)
		if r >= '0' && r <= '9' {
			break
		}
		if !isPunctOrSymbol(r) {
			return "", false
		}
		tok = tok[:len(tok)-n]
	}
	if tok == "" {
		return "", false
	}
	s := tok
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if hasPoint && (frac == "" || !allDigits(frac)) {
		return "", false
	}
	if intPart == "" {
		return tok, hasPoint
	}
	if strings.IndexByte(intPart, ',') < 0 {
		return tok, allDigits(intPart)
	}
	// Grouped: 1-3 digits, then groups of exactly 3 after each comma.
	first := strings.IndexByte(intPart, ',')
	if first == 0 || first > 3 || !allDigits(intPart[:first]) {
		return "", false
	}
	for g := intPart[first:]; g != ""; g = g[4:] {
		if len(g) < 4 || g[0] != ',' || !allDigits(g[1:4]) {
			return "", false
		}
	}
	return tok, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// appendNumber appends a number core from numberCore in plain form.
func appendNumber(b []byte, s string) []byte {
	neg := s[0] == '-'
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	frac = strings.TrimRight(frac, "0")
	// Leading zeros go; commas go.
	i := 0
	for i < len(intPart) && (intPart[i] == '0' || intPart[i] == ',') {
		i++
	}
	intPart = intPart[i:]
	if neg && (intPart != "" || frac != "") {
		b = append(b, '-')
	}
	if intPart == "" {
		b = append(b, '0')
	}
	for j := 0; j < len(intPart); j++ {
		if intPart[j] != ',' {
			b = append(b, intPart[j])
		}
	}
	if frac != "" {
		b = append(b, '.')
		b = append(b, frac...)
	}
	return b
}

// ExactMatch is 1 when prediction and gold are equal after Normalize, else 0.
func ExactMatch(prediction, gold string) float64 {
	if sameNormal(prediction, gold) {
		return 1
	}
	return 0
}

// NumericMatch returns a metric that compares the last number in the
// prediction with the last number in the gold answer: 1 when they differ by
// at most tol, absolutely or relative to the gold value. When either has no
// number it falls back to ExactMatch. A negative tol counts as 0.
func NumericMatch(tol float64) Metric {
	tol = max(tol, 0)
	return func(prediction, gold string) float64 {
		p, okp := lastNumber(Normalize(prediction))
		g, okg := lastNumber(Normalize(gold))
		if !okp || !okg {
			return ExactMatch(prediction, gold)
		}
		d := math.Abs(p - g)
		if d <= tol || d <= tol*math.Abs(g) {
			return 1
		}
		return 0
	}
}

// lastNumber parses the last token of a normalised string that is a number.
func lastNumber(s string) (float64, bool) {
	for s != "" {
		i := strings.LastIndexByte(s, ' ')
		tok := s[i+1:]
		if c := tok[0]; c == '-' || c >= '0' && c <= '9' {
			if x, err := strconv.ParseFloat(tok, 64); err == nil {
				return x, true
			}
		}
		if i < 0 {
			break
		}
		s = s[:i]
	}
	return 0, false
}

// TokenF1 is the SQuAD F1 score: the harmonic mean of precision and recall
// of the prediction's normalised tokens against the gold answer's, counted
// as multisets. Two empty answers score 1; one empty answer scores 0.
func TokenF1(prediction, gold string) float64 {
	var pb, gb [32]string
	pt := appendTokens(pb[:0], Normalize(prediction))
	gt := appendTokens(gb[:0], Normalize(gold))
	if len(pt) == 0 || len(gt) == 0 {
		if len(pt) == len(gt) {
			return 1
		}
		return 0
	}
	var usedBuf [32]bool
	var used []bool
	if len(gt) > len(usedBuf) {
		used = make([]bool, len(gt))
	} else {
		used = usedBuf[:len(gt)]
	}
	common := 0
	for _, p := range pt {
		for j, g := range gt {
			if !used[j] && g == p {
				used[j] = true
				common++
				break
			}
		}
	}
	if common == 0 {
		return 0
	}
	prec := float64(common) / float64(len(pt))
	rec := float64(common) / float64(len(gt))
	return 2 * prec * rec / (prec + rec)
}

func appendTokens(dst []string, s string) []string {
	for s != "" {
		var tok string
		tok, s, _ = strings.Cut(s, " ")
		dst = append(dst, tok)
	}
	return dst
}

// DefaultNumericTolerance is the tolerance of the metric named "numeric".
const DefaultNumericTolerance = 1e-6

// MetricByName returns the metric a config names: "exact" (also "em",
// "exact_match"), "f1" (also "token_f1"), "numeric" (tolerance
// DefaultNumericTolerance) or "numeric:TOL" such as "numeric:0.01".
func MetricByName(name string) (Metric, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "exact", "em", "exact_match":
		return ExactMatch, nil
	case "f1", "token_f1":
		return TokenF1, nil
	case "numeric":
		return NumericMatch(DefaultNumericTolerance), nil
	}
	if t, ok := strings.CutPrefix(strings.TrimSpace(name), "numeric:"); ok {
		tol, err := strconv.ParseFloat(t, 64)
		if err != nil || tol < 0 || math.IsNaN(tol) || math.IsInf(tol, 0) {
			return nil, fmt.Errorf("%w: %q: tolerance %q is not a non-negative number", ErrUnknownMetric, name, t)
		}
		return NumericMatch(tol), nil
	}
	return nil, fmt.Errorf("%w: %q (known: exact, numeric, numeric:TOL, f1)", ErrUnknownMetric, name)
}
