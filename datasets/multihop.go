package datasets

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

func init() { Register(multihopFamily{}) }

// multihopFamily is the "multihop" family: questions that chain 2..4
// relations over fictional facts stated in context paragraphs, with
// distractor paragraphs about other entities.
type multihopFamily struct{}

func (multihopFamily) Name() string { return "multihop" }

func (multihopFamily) Describe() string {
	return "multi-hop questions over fictional context paragraphs with distractors (HotpotQA-like), 2-4 hops, entity answers"
}

type etype uint8

const (
	tNone etype = iota
	tPerson
	tCompany
	tCity
	tCountry
	tUniv
)

// A relation maps an entity to one other. Each has three phrasings: the
// fact ("{S} was born in {O}."), the question asking for it ("In which city
// was {np} born?") and the noun phrase naming its object ("the city where
// {np} was born"). Each phrasing is a prefix and a suffix around a hole.
type relation struct {
	from, to              etype
	factPre, factMid, end string // factPre + S + factMid + O + end
	askPre, askSuf        string
	npPre, npSuf          string // empty npPre: never nested
}

const (
	rBorn = iota
	rEmployer
	rSpouse
	rAlma
	rFounder
	rHQ
	rCountry
	rMayor
	rUnivCity
	numRelations
)

// Order matters when matching a question: forms with a longer suffix come
// first, so "Who is the mayor of X married to?" asks for a spouse.
var relations = [numRelations]relation{
	rBorn:     {tPerson, tCity, "", " was born in ", ".", "In which city was ", " born?", "the city where ", " was born"},
	rEmployer: {tPerson, tCompany, "", " works for ", ".", "Which company does ", " work for?", "the company that employs ", ""},
	rSpouse:   {tPerson, tPerson, "", " is married to ", ".", "Who is ", " married to?", "the spouse of ", ""},
	rAlma:     {tPerson, tUniv, "", " studied at ", ".", "At which university did ", " study?", "the university where ", " studied"},
	rFounder:  {tCompany, tPerson, "", " was founded by ", ".", "Who founded ", "?", "the founder of ", ""},
	rHQ:       {tCompany, tCity, "", " is headquartered in ", ".", "In which city is ", " headquartered?", "the city where ", " is headquartered"},
	rCountry:  {tCity, tCountry, "", " is a city in ", ".", "In which country is ", "?", "", ""},
	rMayor:    {tCity, tPerson, "The mayor of ", " is ", ".", "Who is the mayor of ", "?", "the mayor of ", ""},
	rUnivCity: {tUniv, tCity, "", " is located in ", ".", "In which city is ", " located?", "the city where ", " is located"},
}

// askOrder is the order in which question forms are tried.
var askOrder = [numRelations]int{rSpouse, rBorn, rEmployer, rAlma, rHQ, rUnivCity, rFounder, rMayor, rCountry}

// flavour sentences say something true but irrelevant; they also tell the
// subject's type.
type flavour struct {
	typ        etype
	mid        string // S + mid + X + "."
	fillers    []string
	numeric    bool
	minN, maxN int
}

var flavours = []flavour{
	{typ: tPerson, mid: " works as a ", fillers: []string{"painter", "pilot", "surgeon", "botanist", "chemist", "teacher", "lawyer", "journalist", "carpenter", "violinist", "novelist", "geologist"}},
	{typ: tCompany, mid: " makes ", fillers: []string{"solar panels", "bicycles", "board games", "water pumps", "telescopes", "ceramic tiles", "toy robots", "sailcloth", "hearing aids", "garden tools"}},
	{typ: tCity, mid: " is known for its ", fillers: []string{"harbour", "night market", "clock tower", "botanical garden", "old bridges", "glassworks", "salt flats", "lighthouse"}},
	{typ: tUniv, mid: " was established in ", numeric: true, minN: 1820, maxN: 1990},
}

const (
	multihopIntro = "Context:\n"
	multihopAsk   = "\n\nQuestion: "
)

func (f multihopFamily) Generate(n int, seed uint64, difficulty int) []Example {
	checkGenerate(f.Name(), difficulty)
	out := make([]Example, 0, max(n, 0))
	for i := 0; i < n; i++ {
		lvl := levelOf(difficulty, i)
		q, ans := genMultihop(exampleRand(f.Name(), seed, difficulty, i), lvl)
		out = append(out, Example{
			ID: exampleID(f.Name(), seed, i), Family: f.Name(),
			Question: q, Answer: ans, Difficulty: lvl,
		})
	}
	return out
}

type wEntity struct {
	name  string
	typ   etype
	rel   [numRelations]int // object index + 1; 0 when unset
	facts []int             // relations stated in this entity's paragraph, in order
	flav  string            // a flavour sentence, or ""
	para  bool              // has a paragraph
}

type world struct {
	r     *rand.Rand
	ents  []wEntity
	names map[string]bool
}

var (
	firstNames = []string{"Orla", "Bexley", "Tamsin", "Corvin", "Ysolde", "Anselm", "Maren", "Idris",
		"Lucan", "Seren", "Fenwick", "Odile", "Caspian", "Elowen", "Rafferty", "Ilsa", "Thaddeus",
		"Wynne", "Lorcan", "Margit", "Emrys", "Sabine", "Tobiah", "Verity"}
	surPre   = []string{"Van", "Quill", "Ash", "Mor", "Del", "Thorn", "Bel", "Kes", "Wren", "Har", "Ost", "Lan", "Gre", "Pell"}
	surPost  = []string{"tress", "on", "by", "ford", "wick", "ley", "more", "dale", "ton", "vale", "cott", "ridge"}
	cityPre  = []string{"Kel", "Dun", "Ost", "Mar", "Bryn", "Cal", "Tor", "Vel", "Sar", "Lin", "Esk", "Gal", "Rho", "Tam"}
	cityPost = []string{"mora", "haven", "reach", "port", "wick", "ford", "holm", "stead", "mere", "gate", "brook"}
	ctryPre  = []string{"Vel", "Ors", "Cal", "Zan", "Pel", "Ard", "Myr", "Quen", "Sol", "Ter", "Bal", "Ves"}
	ctryPost = []string{"maria", "land", "avia", "oria", "ennia", "ovia", "esta"}
	coPre    = []string{"Bright", "Quor", "Halv", "Nov", "Stra", "Lum", "Cor", "Vex", "Tal", "Zen", "Arc", "Kin"}
	coPost   = []string{"well", "in", "ex", "ara", "ion", "ent", "ix", "ora"}
	coKind   = []string{"Dynamics", "Labs", "Industries", "Systems", "Works", "Foods", "Motors", "Textiles"}
	uniPre   = []string{"Marrow", "Aldwin", "Greyfen", "Hollin", "Starling", "Bramble", "Wexford", "Caldera", "Thistle", "Oakhurst"}
	uniKind  = []string{"University", "Institute", "College", "Academy"}
)

func (w *world) fresh(t etype) int {
	r := w.r
	for {
		var name string
		switch t {
		case tPerson:
			name = pick(r, firstNames) + " " + pick(r, surPre) + pick(r, surPost)
		case tCity:
			name = pick(r, cityPre) + pick(r, cityPost)
		case tCountry:
			name = pick(r, ctryPre) + pick(r, ctryPost)
		case tCompany:
			name = pick(r, coPre) + pick(r, coPost) + " " + pick(r, coKind)
		case tUniv:
			name = pick(r, uniPre) + " " + pick(r, uniKind)
		}
		if !w.names[name] {
			w.names[name] = true
			w.ents = append(w.ents, wEntity{name: name, typ: t})
			return len(w.ents) - 1
		}
	}
}

// link states fact rel(s) = o in s's paragraph; false if it would make a
// relation ambiguous.
func (w *world) link(s, rel, o int) bool {
	if s == o || w.ents[s].rel[rel] != 0 || rel == rSpouse && w.ents[o].rel[rSpouse] != 0 {
		return false
	}
	w.ents[s].rel[rel] = o + 1
	if rel == rSpouse {
		w.ents[o].rel[rSpouse] = s + 1
	}
	w.ents[s].facts = append(w.ents[s].facts, rel)
	w.ents[s].para = true
	return true
}

// ofType returns the indices of the entities of type t.
func (w *world) ofType(t etype) []int {
	var out []int
	for i := range w.ents {
		if w.ents[i].typ == t {
			out = append(out, i)
		}
	}
	return out
}

// relsFrom lists the relations whose subject has type t.
func relsFrom(t etype) []int {
	var out []int
	for i := range relations {
		if relations[i].from == t {
			out = append(out, i)
		}
	}
	return out
}

// relsTo lists the relations whose object has type t.
func relsTo(t etype) []int {
	var out []int
	for i := range relations {
		if relations[i].to == t {
			out = append(out, i)
		}
	}
	return out
}

func genMultihop(r *rand.Rand, lvl int) (string, string) {
	hops := lvl + 1
	distractors := 2 * lvl
	w := &world{r: r, names: map[string]bool{}}

	// A chain of relations whose types line up, never a spouse's spouse.
	var chain []int
	for len(chain) < hops {
		chain = chain[:0]
		t := pick(r, []etype{tPerson, tPerson, tCompany, tCity, tUniv})
		for len(chain) < hops {
			opts := relsFrom(t)
			if len(chain) > 0 && chain[len(chain)-1] == rSpouse {
				opts = []int{rBorn, rEmployer, rAlma}
			}
			if len(opts) == 0 {
				break
			}
			rel := pick(r, opts)
			chain = append(chain, rel)
			t = relations[rel].to
		}
	}
	path := []int{w.fresh(relations[chain[0]].from)}
	for _, rel := range chain {
		o := w.fresh(relations[rel].to)
		w.link(path[len(path)-1], rel, o)
		path = append(path, o)
	}
	answer := path[len(path)-1]

	// Other facts about the chain's entities: the wrong hops a reader may take.
	for i, e := range path {
		if i == len(path)-1 && r.IntN(2) == 0 {
			continue
		}
		for _, rel := range relsFrom(w.ents[e].typ) {
			if w.ents[e].rel[rel] == 0 && r.Float64() < 0.5 {
				w.link(e, rel, w.fresh(relations[rel].to))
			}
		}
	}
	// Distractor paragraphs about entities like the chain's.
	for d := 0; d < distractors; d++ {
		s := w.fresh(w.ents[pick(r, path[:len(path)-1])].typ)
		rels := relsFrom(w.ents[s].typ)
		r.Shuffle(len(rels), func(i, j int) { rels[i], rels[j] = rels[j], rels[i] })
		for _, rel := range rels[:between(r, 1, len(rels))] {
			o := -1
			if same := w.ofType(relations[rel].to); r.IntN(3) == 0 && len(same) > 0 {
				o = pick(r, same)
				if o == answer {
					o = -1
				}
			}
			if o < 0 || !w.link(s, rel, o) {
				w.link(s, rel, w.fresh(relations[rel].to))
			}
		}
	}
	// At least four entities of the answer's type besides the answer.
	for len(w.ofType(w.ents[answer].typ)) < 5 {
		rel := pick(r, relsTo(w.ents[answer].typ))
		s := w.fresh(relations[rel].from)
		w.link(s, rel, w.fresh(w.ents[answer].typ))
	}
	for i := range w.ents {
		e := &w.ents[i]
		if (e.para || i == answer) && r.IntN(2) == 0 {
			for _, fl := range flavours {
				if fl.typ != e.typ {
					continue
				}
				if fl.numeric {
					e.flav = e.name + fl.mid + strconv.Itoa(between(r, fl.minN, fl.maxN)) + "."
				} else {
					e.flav = e.name + fl.mid + pick(r, fl.fillers) + "."
				}
				e.para = true
			}
		}
	}

	var paras []string
	for i := range w.ents {
		e := &w.ents[i]
		if !e.para {
			continue
		}
		sents := make([]string, 0, len(e.facts)+1)
		for _, rel := range e.facts {
			rl := &relations[rel]
			sents = append(sents, rl.factPre+e.name+rl.factMid+w.ents[e.rel[rel]-1].name+rl.end)
		}
		r.Shuffle(len(sents), func(i, j int) { sents[i], sents[j] = sents[j], sents[i] })
		if e.flav != "" {
			at := r.IntN(len(sents) + 1)
			sents = append(sents[:at], append([]string{e.flav}, sents[at:]...)...)
		}
		paras = append(paras, "["+e.name+"] "+strings.Join(sents, " "))
	}
	r.Shuffle(len(paras), func(i, j int) { paras[i], paras[j] = paras[j], paras[i] })

	np := w.ents[path[0]].name
	for _, rel := range chain[:len(chain)-1] {
		np = relations[rel].npPre + np + relations[rel].npSuf
	}
	last := &relations[chain[len(chain)-1]]
	q := multihopIntro + strings.Join(paras, "\n") + multihopAsk + last.askPre + np + last.askSuf
	return q, w.ents[answer].name
}

// mhFact is one parsed sentence; rel is numRelations+k for flavour k.
type mhFact struct {
	rel  int
	s, o string
}

type mhContext struct {
	buf [160]mhFact // room for the largest generated context
	n   int
}

// typeOf returns the type the context gives name, or tNone.
func (c *mhContext) typeOf(name string) etype {
	for _, f := range c.buf[:c.n] {
		if f.rel >= numRelations {
			if f.s == name {
				return flavours[f.rel-numRelations].typ
			}
			continue
		}
		if f.s == name {
			return relations[f.rel].from
		}
		if f.o == name {
			return relations[f.rel].to
		}
	}
	return tNone
}

// follow returns rel(s), or "" when the context does not say.
func (c *mhContext) follow(rel int, s string) string {
	for _, f := range c.buf[:c.n] {
		if f.rel != rel {
			continue
		}
		if f.s == s {
			return f.o
		}
		if rel == rSpouse && f.o == s {
			return f.s
		}
	}
	return ""
}

// factMids are the verbs that split a fact sentence into subject and
// object, with the relation (or numRelations+flavour) each states.
var factMids = func() []mhFact {
	var m []mhFact
	for i, rl := range relations {
		if rl.factPre == "" {
			m = append(m, mhFact{rel: i, s: rl.factMid})
		}
	}
	for k, fl := range flavours {
		m = append(m, mhFact{rel: numRelations + k, s: fl.mid})
	}
	return m
}()

func parseFact(sent string) (mhFact, bool) {
	body, ok := strings.CutSuffix(sent, ".")
	if !ok {
		return mhFact{}, false
	}
	if rest, ok := strings.CutPrefix(body, relations[rMayor].factPre); ok {
		s, o, ok := strings.Cut(rest, relations[rMayor].factMid)
		return mhFact{rel: rMayor, s: s, o: o}, ok && s != "" && o != ""
	}
	// Names hold none of the verbs, so the first verb splits the sentence.
	for i := 1; i < len(body)-1; i++ {
		if body[i] != ' ' {
			continue
		}
		rest := body[i:]
		for _, m := range factMids {
			if rest[1] == m.s[1] && strings.HasPrefix(rest, m.s) && len(rest) > len(m.s) {
				return mhFact{rel: m.rel, s: body[:i], o: rest[len(m.s):]}, true
			}
		}
	}
	return mhFact{}, false
}

// parseMultihop reads the context's facts into c and returns the question.
func parseMultihop(text string, c *mhContext) (string, bool) {
	rest, ok := strings.CutPrefix(text, multihopIntro)
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, multihopAsk)
	if i < 0 {
		return "", false
	}
	ctx, q := rest[:i], rest[i+len(multihopAsk):]
	for ctx != "" {
		var line string
		line, ctx, _ = strings.Cut(ctx, "\n")
		if !strings.HasPrefix(line, "[") {
			return "", false
		}
		j := strings.Index(line, "] ")
		if j < 0 {
			return "", false
		}
		for s := line[j+2:]; s != ""; {
			var sent string
			sent, s = nextSentence(s)
			f, ok := parseFact(sent)
			if !ok || c.n == len(c.buf) {
				return "", false
			}
			c.buf[c.n] = f
			c.n++
		}
	}
	return q, true
}

// parseChain reads a question into its start entity and the relations to
// follow from it, innermost first; rels must have room for 8.
func parseChain(q string, c *mhContext, rels *[8]int) (start string, n int, ok bool) {
	for _, k := range askOrder {
		rl := &relations[k]
		if !strings.HasPrefix(q, rl.askPre) || !strings.HasSuffix(q, rl.askSuf) || len(q) <= len(rl.askPre)+len(rl.askSuf) {
			continue
		}
		np := q[len(rl.askPre) : len(q)-len(rl.askSuf)]
		if start, n, ok = parseNP(np, c, rels, 0); ok && n < len(rels) && checkTypes(c, start, rels[:n], k) {
			rels[n] = k
			return start, n + 1, true
		}
	}
	return "", 0, false
}

// parseNP reads a noun phrase; it backtracks over forms that share a prefix.
func parseNP(np string, c *mhContext, rels *[8]int, depth int) (string, int, bool) {
	if !strings.HasPrefix(np, "the ") {
		return np, 0, c.typeOf(np) != tNone
	}
	if depth == len(rels)-1 {
		return "", 0, false
	}
	for k := range relations {
		rl := &relations[k]
		if rl.npPre == "" || !strings.HasPrefix(np, rl.npPre) || !strings.HasSuffix(np, rl.npSuf) || len(np) <= len(rl.npPre)+len(rl.npSuf) {
			continue
		}
		inner := np[len(rl.npPre) : len(np)-len(rl.npSuf)]
		if start, n, ok := parseNP(inner, c, rels, depth+1); ok && checkTypes(c, start, rels[:n], k) {
			rels[n] = k
			return start, n + 1, true
		}
	}
	return "", 0, false
}

// checkTypes reports whether relation next can follow the chain rels from
// start.
func checkTypes(c *mhContext, start string, rels []int, next int) bool {
	t := c.typeOf(start)
	if len(rels) > 0 {
		t = relations[rels[len(rels)-1]].to
	}
	return t == relations[next].from
}

// walk follows rels from start, skipping index skip; "" if a link is missing
// or the types do not line up.
func (c *mhContext) walk(start string, rels []int, skip int) string {
	e, t := start, c.typeOf(start)
	for i, rel := range rels {
		if i == skip {
			continue
		}
		if relations[rel].from != t {
			return ""
		}
		if e = c.follow(rel, e); e == "" {
			return ""
		}
		t = relations[rel].to
	}
	return e
}

func (multihopFamily) Solve(text string) (Solution, bool) {
	var c mhContext
	q, ok := parseMultihop(text, &c)
	if !ok {
		return Solution{}, false
	}
	var rels [8]int
	start, n, ok := parseChain(q, &c, &rels)
	if !ok {
		return Solution{}, false
	}
	ans := c.walk(start, rels[:n], -1)
	if ans == "" {
		return Solution{}, false
	}
	d, modes := c.distractors(start, rels[:n], ans)
	return Solution{
		Family:      "multihop",
		Answer:      ans,
		Hardness:    clampHardness(float64(n - 1)),
		Distractors: d,
		Modes:       modes,
	}, true
}

// distractors lists wrong entities, most tempting first, and the mode of
// each: the end of the chain with a hop skipped (ModeSkippedHop), the
// chain's own entities of the answer's type (ModeStopEarly), entities of
// that type stated about chain entities, then any other of that type
// (ModeWrongFact), then the chain's other entities (ModeStopEarly).
func (c *mhContext) distractors(start string, rels []int, ans string) (distractors, modes []string) {
	const want = 5
	buf := make([]string, 2*want) // the distractors, then their modes
	n := 0
	add := func(m, e string) {
		if e == "" || n == want || e == ans || sameNormal(e, ans) {
			return
		}
		for _, x := range buf[:n] {
			if x == e {
				return
			}
		}
		buf[n], buf[want+n] = e, m
		n++
	}
	t := relations[rels[len(rels)-1]].to
	var chain [9]string
	chain[0] = start
	for i, rel := range rels {
		chain[i+1] = c.follow(rel, chain[i])
	}
	for skip := len(rels) - 1; skip >= 0; skip-- {
		if e := c.walk(start, rels, skip); c.typeOf(e) == t {
			add(ModeSkippedHop, e)
		}
	}
	for i := len(rels) - 1; i >= 0; i-- {
		if c.typeOf(chain[i]) == t {
			add(ModeStopEarly, chain[i])
		}
	}
	for i := len(rels) - 1; i >= 0; i-- {
		for _, f := range c.buf[:c.n] {
			if f.rel < numRelations && f.s == chain[i] && relations[f.rel].to == t {
				add(ModeWrongFact, f.o)
			}
		}
	}
	for _, f := range c.buf[:c.n] {
		if f.rel >= numRelations {
			if flavours[f.rel-numRelations].typ == t {
				add(ModeWrongFact, f.s)
			}
			continue
		}
		if relations[f.rel].from == t {
			add(ModeWrongFact, f.s)
		}
		if relations[f.rel].to == t {
			add(ModeWrongFact, f.o)
		}
	}
	for i := len(rels) - 1; i >= 0; i-- {
		add(ModeStopEarly, chain[i])
	}
	return buf[:n:n], buf[want : want+n : want+n]
}
