package datasets

import (
	"math/bits"
	"math/rand/v2"
	"strings"
)

func init() { Register(logicFamily{}) }

// logicFamily is the "logic" family: ordering puzzles ("Ada is taller than
// Bram. ... Who is the second tallest?") whose comparisons fix the asked
// position, though not always the whole order.
type logicFamily struct{}

func (logicFamily) Name() string { return "logic" }

func (logicFamily) Describe() string {
	return "ordering deduction puzzles over 5-7 people (who is the k-th tallest?), name answers"
}

// A logicDomain is one kind of ordering; "more" means higher in the order.
type logicDomain struct {
	group, activity string // "friends", "compare their heights"
	more, less      string // " is taller than ", " is shorter than "
	most, least     string // "tallest", "shortest"
}

var logicDomains = []logicDomain{
	{"friends", "compare their heights", " is taller than ", " is shorter than ", "tallest", "shortest"},
	{"cousins", "compare their ages", " is older than ", " is younger than ", "oldest", "youngest"},
	{"runners", "compare their speeds", " runs faster than ", " runs slower than ", "fastest", "slowest"},
	{"merchants", "compare their fortunes", " is richer than ", " is poorer than ", "richest", "poorest"},
}

var (
	countWords = []string{"", "", "", "Three", "Four", "Five", "Six", "Seven", "Eight"}
	ordinals   = []string{"", "", "second ", "third ", "fourth ", "fifth ", "sixth ", "seventh ", "eighth "}
	logicNames = []string{"Ada", "Bram", "Cleo", "Dov", "Eli", "Fay", "Gus", "Hal", "Iris", "Jude",
		"Kit", "Lou", "Mia", "Ned", "Opal", "Pia", "Quin", "Rex", "Sam", "Tess", "Uma", "Vic", "Wes", "Zoe"}
)

const logicMax = 8

// logicRel is "a is above b"; b < 0 means a is above everyone (or, with
// below set, below everyone).
type logicRel struct {
	a, b  int
	below bool
}

// closure returns, for each person, the set of people known to be below.
func closure(n int, rels []logicRel) (below [logicMax]uint16, ok bool) {
	all := uint16(1)<<n - 1
	for _, r := range rels {
		switch {
		case r.b >= 0:
			below[r.a] |= 1 << r.b
		case r.below:
			for i := 0; i < n; i++ {
				if i != r.a {
					below[i] |= 1 << r.a
				}
			}
		default:
			below[r.a] |= all &^ (1 << r.a)
		}
	}
	for k := 0; k < n; k++ {
		for i := 0; i < n; i++ {
			if below[i]&(1<<k) != 0 {
				below[i] |= below[k]
			}
		}
	}
	for i := 0; i < n; i++ {
		if below[i]&(1<<i) != 0 {
			return below, false // a cycle: no order fits
		}
	}
	return below, true
}

// positions returns the interval of 0-based positions from the top that
// person i can hold in some order consistent with below.
func positions(n int, below *[logicMax]uint16, i int) (lo, hi int) {
	above := 0
	for j := 0; j < n; j++ {
		if below[j]&(1<<i) != 0 {
			above++
		}
	}
	return above, n - 1 - bits.OnesCount16(below[i])
}

// fixedAt returns the person every consistent order puts at position k.
func fixedAt(n int, below *[logicMax]uint16, k int) int {
	for i := 0; i < n; i++ {
		if lo, hi := positions(n, below, i); lo == k && hi == k {
			return i
		}
	}
	return -1
}

func (f logicFamily) Generate(n int, seed uint64, difficulty int) []Example {
	checkGenerate(f.Name(), difficulty)
	out := make([]Example, 0, max(n, 0))
	for i := 0; i < n; i++ {
		lvl := levelOf(difficulty, i)
		q, ans := genLogic(exampleRand(f.Name(), seed, difficulty, i), lvl)
		out = append(out, Example{
			ID: exampleID(f.Name(), seed, i), Family: f.Name(),
			Question: q, Answer: ans, Difficulty: lvl,
		})
	}
	return out
}

func genLogic(r *rand.Rand, lvl int) (string, string) {
	n := lvl + 4
	dom := &logicDomains[r.IntN(len(logicDomains))]
	perm := r.Perm(len(logicNames))
	names := make([]string, n)
	for i := range names {
		names[i] = logicNames[perm[i]]
	}
	// rank[i] is person i's hidden position from the top.
	rank := r.Perm(n)
	byRank := make([]int, n)
	for i, p := range rank {
		byRank[p] = i
	}
	k := r.IntN(n)

	var cands []logicRel
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if rank[i] < rank[j] {
				cands = append(cands, logicRel{a: i, b: j})
			}
		}
	}
	// An extreme is a hint, never the answer itself.
	if k != 0 && r.IntN(3) == 0 {
		cands = append(cands, logicRel{a: byRank[0], b: -1})
	}
	if k != n-1 && r.IntN(3) == 0 {
		cands = append(cands, logicRel{a: byRank[n-1], b: -1, below: true})
	}
	r.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	var rels []logicRel
	for _, c := range cands {
		rels = append(rels, c)
		if below, _ := closure(n, rels); fixedAt(n, &below, k) >= 0 {
			break
		}
	}
	// Drop what is not needed, so the reader must chain the comparisons.
	for i := len(rels) - 1; i >= 0; i-- {
		trial := append(append([]logicRel(nil), rels[:i]...), rels[i+1:]...)
		if below, _ := closure(n, trial); fixedAt(n, &below, k) >= 0 {
			rels = trial
		}
	}
	// A few true but idle comparisons, as in real puzzles.
	for extra := between(r, 0, lvl-1); extra > 0; extra-- {
		c := cands[r.IntN(len(cands))]
		dup := false
		for _, x := range rels {
			dup = dup || x == c
		}
		if !dup {
			rels = append(rels, c)
		}
	}
	r.Shuffle(len(rels), func(i, j int) { rels[i], rels[j] = rels[j], rels[i] })

	var b strings.Builder
	b.Grow(64 + 32*len(rels))
	b.WriteString(countWords[n])
	b.WriteByte(' ')
	b.WriteString(dom.group)
	b.WriteString(", ")
	for i, name := range names {
		switch {
		case i == n-1:
			b.WriteString(" and ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(name)
	}
	b.WriteString(", ")
	b.WriteString(dom.activity)
	b.WriteByte('.')
	for _, c := range rels {
		b.WriteByte(' ')
		switch {
		case c.b < 0:
			b.WriteString(names[c.a])
			b.WriteString(" is the ")
			if c.below {
				b.WriteString(dom.least)
			} else {
				b.WriteString(dom.most)
			}
		case r.IntN(2) == 0:
			b.WriteString(names[c.a] + dom.more + names[c.b])
		default:
			b.WriteString(names[c.b] + dom.less + names[c.a])
		}
		b.WriteByte('.')
	}
	b.WriteString(" Who is the ")
	if fromTop := k + 1; fromTop <= n-k && (fromTop < n-k || r.IntN(2) == 0) {
		b.WriteString(ordinals[fromTop])
		b.WriteString(dom.most)
	} else {
		b.WriteString(ordinals[n-k])
		b.WriteString(dom.least)
	}
	b.WriteByte('?')
	return b.String(), names[byRank[k]]
}

type logicPuzzle struct {
	n     int
	names [logicMax]string
	rels  [32]logicRel
	nrels int
	k     int // asked position from the top, 0-based
}

func parseLogic(q string, p *logicPuzzle) bool {
	sent, rest := nextSentence(q)
	// "Five friends, Ada, Bram, Cleo, Dov and Eli, compare their heights."
	sp := strings.IndexByte(sent, ' ')
	if sp < 0 {
		return false
	}
	p.n = 0
	for i := 3; i < len(countWords); i++ {
		if countWords[i] == sent[:sp] {
			p.n = i
		}
	}
	if p.n == 0 {
		return false
	}
	sent = sent[sp+1:]
	var dom *logicDomain
	for i := range logicDomains {
		d := &logicDomains[i]
		if strings.HasPrefix(sent, d.group) && strings.HasSuffix(sent, d.activity+".") {
			dom = d
			break
		}
	}
	if dom == nil {
		return false
	}
	list, ok := strings.CutPrefix(sent[len(dom.group):len(sent)-len(dom.activity)-1], ", ")
	if !ok {
		return false
	}
	if list, ok = strings.CutSuffix(list, ", "); !ok {
		return false
	}
	init, last, ok := strings.Cut(list, " and ")
	if !ok {
		return false
	}
	for i := 0; i < p.n-1; i++ {
		var name string
		name, init, _ = strings.Cut(init, ", ")
		if !isCapWord(name) {
			return false
		}
		p.names[i] = name
	}
	if init != "" || !isCapWord(last) {
		return false
	}
	p.names[p.n-1] = last
	for i := 0; i < p.n; i++ {
		for j := 0; j < i; j++ {
			if p.names[i] == p.names[j] {
				return false
			}
		}
	}

	p.nrels = 0
	for rest != "" {
		sent, rest = nextSentence(rest)
		if rest == "" {
			break
		}
		if p.nrels == len(p.rels) {
			return false
		}
		body, ok := strings.CutSuffix(sent, ".")
		if !ok {
			return false
		}
		var rel logicRel
		if a, b, ok := strings.Cut(body, dom.more); ok {
			rel = logicRel{a: p.index(a), b: p.index(b)}
		} else if a, b, ok := strings.Cut(body, dom.less); ok {
			rel = logicRel{a: p.index(b), b: p.index(a)}
		} else if a, sup, ok := strings.Cut(body, " is the "); ok && (sup == dom.most || sup == dom.least) {
			rel = logicRel{a: p.index(a), b: -1, below: sup == dom.least}
		} else {
			return false
		}
		if rel.a < 0 || rel.b < -1 || rel.b == -1 && rel.a < 0 || rel.a == rel.b {
			return false
		}
		p.rels[p.nrels] = rel
		p.nrels++
	}
	// "Who is the second tallest?"
	ask, ok := strings.CutPrefix(sent, "Who is the ")
	if !ok {
		return false
	}
	if ask, ok = strings.CutSuffix(ask, "?"); !ok {
		return false
	}
	for o := 1; o <= p.n; o++ {
		if rest, ok := strings.CutPrefix(ask, ordinals[o]); ok {
			switch rest {
			case dom.most:
				p.k = o - 1
				return true
			case dom.least:
				p.k = p.n - o
				return true
			}
		}
	}
	return false
}

func (p *logicPuzzle) index(name string) int {
	for i := 0; i < p.n; i++ {
		if p.names[i] == name {
			return i
		}
	}
	return -2
}

func (logicFamily) Solve(q string) (Solution, bool) {
	var p logicPuzzle
	if !parseLogic(q, &p) {
		return Solution{}, false
	}
	below, ok := closure(p.n, p.rels[:p.nrels])
	if !ok {
		return Solution{}, false
	}
	ans := fixedAt(p.n, &below, p.k)
	if ans < 0 {
		return Solution{}, false
	}
	// Others by how close the asked position is to where they may stand.
	var order [logicMax]int
	var score [logicMax]int
	m := 0
	for i := 0; i < p.n; i++ {
		if i == ans {
			continue
		}
		lo, hi := positions(p.n, &below, i)
		gap := 0
		if p.k < lo {
			gap = lo - p.k
		} else if p.k > hi {
			gap = p.k - hi
		}
		mid2 := lo + hi - 2*p.k // twice the midpoint's offset
		if mid2 < 0 {
			mid2 = -mid2
		}
		score[i] = gap*64 + mid2
		j := m
		for j > 0 && score[order[j-1]] > score[i] {
			order[j] = order[j-1]
			j--
		}
		order[j] = i
		m++
	}
	// Distractors and modes share one allocation.
	k := min(m, 6)
	buf := make([]string, 2*k)
	for i := range k {
		buf[i] = p.names[order[i]]
		buf[k+i] = ModeMisread
		if score[order[i]] < 2*64 { // gap <= 1 (the tie-break is below 64): could stand next to p.k
			buf[k+i] = ModeNeighbour
		}
	}
	return Solution{
		Family:      "logic",
		Answer:      p.names[ans],
		Hardness:    clampHardness(float64(p.n - 4)),
		Distractors: buf[:k:k],
		Modes:       buf[k:],
	}, true
}
