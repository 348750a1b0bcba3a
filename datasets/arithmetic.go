package datasets

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

func init() { Register(arithmeticFamily{}) }

// arithmeticFamily is the "arithmetic" family: multi-step word problems
// about one person's stock of an item, with an integer answer.
type arithmeticFamily struct{}

func (arithmeticFamily) Name() string { return "arithmetic" }

func (arithmeticFamily) Describe() string {
	return "multi-step arithmetic word problems (GSM8K-like), 2-6 steps, integer answers"
}

type arithOp uint8

const (
	opAdd      arithOp = iota // x + n
	opSub                     // x - n
	opMul                     // x * n
	opDiv                     // x / n, exact
	opPercent                 // x - n% of x, exact
	opFraction                // x - n/m of x, exact
	opPacks                   // x + n*m
	opSellEach                // x * n dollars; only as the last step
	numOps
)

type arithTemplate struct {
	op       arithOp
	fixed    int // the operand when the text says it in words ("doubles"); 0 if {N}
	minLevel int
	t        template
}

var (
	arithStarts = []template{
		compile("{X} has {N} {I}."),
		compile("{X} starts the day with {N} {I}."),
		compile("{X} owns {N} {I}."),
	}
	arithAsks = []template{
		compile("How many {I} does {X} have now?"),
		compile("How many {I} does {X} have at the end?"),
	}
	arithAskMoney = compile("How many dollars does {X} earn?")

	arithSteps = []arithTemplate{
		{op: opAdd, minLevel: 1, t: compile("{P} buys {N} more {I}.")},
		{op: opAdd, minLevel: 1, t: compile("{P} finds {N} more {I}.")},
		{op: opAdd, minLevel: 1, t: compile("{F} gives {o} {N} more {I}.")},
		{op: opSub, minLevel: 1, t: compile("{P} gives {N} {I} to {F}.")},
		{op: opSub, minLevel: 1, t: compile("{P} sells {N} {I}.")},
		{op: opSub, minLevel: 1, t: compile("{P} loses {N} {I}.")},
		{op: opMul, fixed: 2, minLevel: 1, t: compile("{P} doubles {h} {I}.")},
		{op: opMul, fixed: 3, minLevel: 2, t: compile("{P} triples {h} {I}.")},
		{op: opMul, minLevel: 2, t: compile("{P} collects more {I} until {s} has {N} times as many as before.")},
		{op: opDiv, fixed: 2, minLevel: 1, t: compile("{P} keeps only half of {h} {I}.")},
		{op: opDiv, minLevel: 2, t: compile("{P} splits {h} {I} equally into {N} bags and keeps one bag.")},
		{op: opFraction, minLevel: 2, t: compile("{P} sells {N}/{M} of {h} {I}.")},
		{op: opPacks, minLevel: 2, t: compile("{P} buys {N} packs of {I} with {M} {I} in each pack.")},
		{op: opPercent, minLevel: 3, t: compile("{P} gives away {N}% of {h} {I}.")},
		{op: opSellEach, minLevel: 2, t: compile("{P} sells all of {h} {I} for ${N} each.")},
	}
)

type arithStep struct {
	op   arithOp
	n, m int
}

const arithMax = 100000 // parsed values stay well inside int

// apply returns the value after step s, and false if the step is not exact
// or leaves the quantity negative.
func (s arithStep) apply(x int) (int, bool) {
	var y int
	switch s.op {
	case opAdd:
		y = x + s.n
	case opSub:
		y = x - s.n
	case opMul, opSellEach:
		y = x * s.n
	case opDiv:
		if s.n == 0 || x%s.n != 0 {
			return 0, false
		}
		y = x / s.n
	case opPercent:
		if x*s.n%100 != 0 {
			return 0, false
		}
		y = x - x*s.n/100
	case opFraction:
		if s.m == 0 || x*s.n%s.m != 0 {
			return 0, false
		}
		y = x - x*s.n/s.m
	case opPacks:
		y = x + s.n*s.m
	}
	return y, y >= 0 && y <= arithMax*100
}

// misapply is the most common slip on step s: the wrong operation, or the
// part instead of the rest.
func (s arithStep) misapply(x int) (int, bool) {
	switch s.op {
	case opAdd:
		return arithStep{op: opSub, n: s.n}.apply(x)
	case opSub, opMul, opSellEach:
		return arithStep{op: opAdd, n: s.n}.apply(x)
	case opDiv:
		return arithStep{op: opMul, n: s.n}.apply(x)
	case opPercent:
		if x*s.n%100 != 0 {
			return 0, false
		}
		return x * s.n / 100, true
	case opFraction:
		if s.m == 0 || x*s.n%s.m != 0 {
			return 0, false
		}
		return x * s.n / s.m, true
	case opPacks:
		return x + s.n + s.m, true
	}
	return 0, false
}

type arithLevel struct {
	minSteps, maxSteps int
	startLo, startHi   int
	kLo, kHi           int // added or removed amounts
	mulMax, divMax     int
	fracMax            int
	packsMax, perPack  int
	priceMax           int
	moneyP             float64
	maxValue           int // intermediate values stay at or below it
}

var arithLevels = [4]arithLevel{
	1: {2, 2, 4, 20, 2, 9, 2, 2, 0, 0, 0, 0, 0, 100},
	2: {3, 4, 10, 60, 2, 25, 4, 5, 4, 6, 12, 9, 0.25, 1000},
	3: {5, 6, 20, 200, 5, 60, 5, 8, 8, 9, 20, 15, 0.3, 5000},
}

var arithPercents = []int{10, 20, 25, 30, 40, 50, 60, 75}

type person struct {
	name   string
	gender int8
}

var arithPeople = []person{
	{"Mara", 1}, {"Leo", 2}, {"Ines", 1}, {"Tomas", 2}, {"Priya", 1}, {"Omar", 2},
	{"Yuki", 1}, {"Felix", 2}, {"Nadia", 1}, {"Hugo", 2}, {"Zara", 1}, {"Arjun", 2},
	{"Lena", 1}, {"Kofi", 2}, {"Sofia", 1}, {"Mateo", 2}, {"Amara", 1}, {"Jonas", 2},
	{"Rosa", 1}, {"Idris", 2}, {"Elif", 1}, {"Bruno", 2}, {"Hana", 1}, {"Diego", 2},
}

var arithItems = []string{
	"apples", "marbles", "stickers", "books", "pencils", "cookies", "stamps",
	"seashells", "beads", "eggs", "oranges", "crayons", "balloons", "postcards",
	"baseball cards", "toy cars", "muffins", "plums", "buttons", "paper cranes",
}

func (f arithmeticFamily) Generate(n int, seed uint64, difficulty int) []Example {
	checkGenerate(f.Name(), difficulty)
	out := make([]Example, 0, max(n, 0))
	for i := 0; i < n; i++ {
		lvl := levelOf(difficulty, i)
		q, ans := genArithmetic(exampleRand(f.Name(), seed, difficulty, i), lvl)
		out = append(out, Example{
			ID: exampleID(f.Name(), seed, i), Family: f.Name(),
			Question: q, Answer: strconv.Itoa(ans), Difficulty: lvl,
		})
	}
	return out
}

func genArithmetic(r *rand.Rand, lvl int) (string, int) {
	p := arithLevels[lvl]
	who := pick(r, arithPeople)
	v := textVars{name: who.name, gender: who.gender, item: pick(r, arithItems)}
	var b strings.Builder
	b.Grow(320)
	x := between(r, p.startLo, p.startHi)
	v.n = x
	start := pick(r, arithStarts)
	start.render(&b, &v)

	steps := between(r, p.minSteps, p.maxSteps)
	money := false
	for s := 0; s < steps; s++ {
		last := s == steps-1
		var t *arithTemplate
		var st arithStep
		for try := 0; ; try++ {
			if try == 40 { // nothing exact fits x: plain addition always does
				t, st = &arithSteps[0], arithStep{op: opAdd, n: between(r, p.kLo, p.kHi)}
				break
			}
			if last && r.Float64() < p.moneyP {
				t = &arithSteps[len(arithSteps)-1]
			} else {
				t = &arithSteps[r.IntN(len(arithSteps)-1)]
			}
			if t.minLevel > lvl {
				continue
			}
			st = arithStep{op: t.op, n: t.fixed}
			switch t.op {
			case opAdd, opSub:
				st.n = between(r, p.kLo, p.kHi)
			case opMul:
				if st.n == 0 {
					st.n = between(r, 2, p.mulMax)
				}
			case opDiv:
				if st.n == 0 {
					st.n = between(r, 3, p.divMax)
				}
			case opPercent:
				st.n = pick(r, arithPercents)
			case opFraction:
				st.m = between(r, 2, p.fracMax)
				st.n = between(r, 1, st.m-1)
				if gcd(st.n, st.m) != 1 {
					continue
				}
			case opPacks:
				st.n, st.m = between(r, 2, p.packsMax), between(r, 2, p.perPack)
			case opSellEach:
				st.n = between(r, 2, p.priceMax)
			}
			if y, ok := st.apply(x); ok && y >= 1 && (y <= p.maxValue || t.op == opSellEach) {
				break
			}
		}
		x, _ = st.apply(x)
		money = t.op == opSellEach
		for {
			v.friend = pick(r, arithPeople).name
			if v.friend != v.name {
				break
			}
		}
		v.n, v.m = st.n, st.m
		b.WriteByte(' ')
		t.t.render(&b, &v)
	}
	b.WriteByte(' ')
	if money {
		arithAskMoney.render(&b, &v)
	} else {
		pick(r, arithAsks).render(&b, &v)
	}
	return b.String(), x
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// parseArithmetic reads a question into its start value and steps; steps
// is filled in place and must have room for 8.
func parseArithmetic(q string, steps *[8]arithStep) (start, n int, ok bool) {
	var v textVars
	sent, rest := nextSentence(q)
	matched := false
	for i := range arithStarts {
		if arithStarts[i].match(sent, &v) {
			matched = true
			break
		}
	}
	if !matched {
		return 0, 0, false
	}
	start = v.n
	for rest != "" {
		sent, rest = nextSentence(rest)
		if rest == "" { // the question
			if n > 0 && steps[n-1].op == opSellEach {
				return start, n, arithAskMoney.match(sent, &v)
			}
			for i := range arithAsks {
				if arithAsks[i].match(sent, &v) {
					return start, n, n >= 1
				}
			}
			return 0, 0, false
		}
		if n == len(steps) || n > 0 && steps[n-1].op == opSellEach {
			return 0, 0, false
		}
		matched = false
		for i := range arithSteps {
			t := &arithSteps[i]
			v.friend = ""
			if t.t.match(sent, &v) {
				st := arithStep{op: t.op, n: t.fixed}
				if st.n == 0 {
					st.n = v.n
				}
				if t.op == opFraction || t.op == opPacks {
					st.m = v.m
				}
				steps[n] = st
				n++
				matched = true
				break
			}
		}
		if !matched {
			return 0, 0, false
		}
	}
	return 0, 0, false
}

func evalArithmetic(start int, steps []arithStep, skip, wrong int) (int, bool) {
	x := start
	for i, s := range steps {
		var ok bool
		switch i {
		case skip:
			continue
		case wrong:
			x, ok = s.misapply(x)
		default:
			x, ok = s.apply(x)
		}
		if !ok {
			return 0, false
		}
	}
	return x, true
}

func (arithmeticFamily) Solve(q string) (Solution, bool) {
	var buf [8]arithStep
	start, n, ok := parseArithmetic(q, &buf)
	if !ok {
		return Solution{}, false
	}
	steps := buf[:n]
	ans, ok := evalArithmetic(start, steps, -1, -1)
	if !ok {
		return Solution{}, false
	}
	d, modes := arithDistractors(start, steps, ans)
	return Solution{
		Family:      "arithmetic",
		Answer:      strconv.Itoa(ans),
		Hardness:    clampHardness(1 + float64(n-2)/2),
		Distractors: d,
		Modes:       modes,
	}, true
}

// The arithmetic family's error modes, as indices in arithModes.
const (
	arithLastStep uint8 = iota
	arithOperation
	arithSkippedStep
	arithSlip
)

var arithModes = [...]string{
	arithLastStep:    ModeLastStep,
	arithOperation:   ModeOperation,
	arithSkippedStep: ModeSkippedStep,
	arithSlip:        ModeSlip,
}

// arithDistractors lists wrong answers a solver who slipped once would
// give, and the mode of each: forgetting the last step (ModeLastStep), the
// wrong operation on it (ModeOperation), skipping an earlier step
// (ModeSkippedStep) or botching one (ModeOperation), then near misses
// (ModeSlip).
func arithDistractors(start int, steps []arithStep, ans int) (distractors, modes []string) {
	const want = 5
	var cand [32]int
	var mode [32]uint8 // index in arithModes
	c := 0
	add := func(m uint8, x int, ok bool) {
		if !ok || x < 0 || x == ans || c == len(cand) {
			return
		}
		for _, y := range cand[:c] {
			if y == x {
				return
			}
		}
		cand[c], mode[c] = x, m
		c++
	}
	n := len(steps)
	x, ok := evalArithmetic(start, steps, n-1, -1)
	add(arithLastStep, x, ok)
	x, ok = evalArithmetic(start, steps, -1, n-1)
	add(arithOperation, x, ok)
	for i := n - 2; i >= 0; i-- {
		x, ok = evalArithmetic(start, steps, i, -1)
		add(arithSkippedStep, x, ok)
	}
	for i := n - 2; i >= 0; i-- {
		x, ok = evalArithmetic(start, steps, -1, i)
		add(arithOperation, x, ok)
	}
	for _, d := range [...]int{1, -1, 2, 10, -2, -10, 3, 20, 4, 5} {
		add(arithSlip, ans+d, true)
	}
	// Step mistakes first, near misses after, at most want in all; the
	// two lists share one allocation.
	k := min(c, want)
	buf := make([]string, 2*k)
	for i, x := range cand[:k] {
		buf[i], buf[k+i] = strconv.Itoa(x), arithModes[mode[i]]
	}
	return buf[:k:k], buf[k:]
}

func clampHardness(h float64) float64 {
	return min(3, max(1, h))
}
