package simba

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// A move is a change of some of a program's team variables, with what it
// says.
type move struct {
	set  map[string]any
	what string
}

// mover finds the team moves of one program.
type mover struct {
	ts     *space.TeamSpace
	sp     *space.Space
	params space.Assignment // complete
	ta     space.TeamAssignment
	rng    *rand.Rand
	fill   space.Assignment // values for variables a move activates
}

// teamMove is the team_move strategy: one change of the program's team —
// an edge, an optional agent, the rounds, the aggregation, or an agent's
// model, temperature or vote weight — drawn among those the bucket's
// contrast suggests, or a random legal change when it suggests none.
func (r *run) teamMove(prog *optimizer.Program, bucket []outcome, rng *rand.Rand) (string, error) {
	ts := r.team.TeamSpace()
	sp := ts.Space()
	params := sp.Complete(prog.Params)
	ta, err := ts.Decode(params)
	if err != nil {
		return "", err
	}
	fill, err := sp.Sample(rng)
	if err != nil {
		return "", err
	}
	m := &mover{ts: ts, sp: sp, params: params, ta: ta, rng: rng, fill: fill}
	var legal []move
	for _, mv := range m.suggest(bucket) {
		if _, ok := m.apply(mv); ok {
			legal = append(legal, mv)
		}
	}
	var next space.Assignment
	var what string
	if len(legal) > 0 {
		mv := legal[rng.IntN(len(legal))]
		next, _ = m.apply(mv)
		what = mv.what
	} else if mv, a, ok := m.random(); ok {
		next, what = a, "random: "+mv.what
	} else {
		return "", errors.New("simba: team_move: the team has no variable to move")
	}
	full, err := r.pe.Program(next)
	if err != nil {
		return "", err
	}
	agents := make(map[string]optimizer.AgentProgram, len(full.Agents))
	for id, a := range full.Agents {
		if own, ok := prog.Agents[id]; ok {
			a = own // an agent that stays keeps its materials
		}
		agents[id] = a
	}
	prog.Params, prog.Agents = next, agents
	return what, nil
}

// apply returns the program's parameters with mv's changes, the variables
// they activate filled in and those they deactivate removed; ok is false
// when the result is not a valid point or changes nothing.
func (m *mover) apply(mv move) (space.Assignment, bool) {
	a := m.params.Clone()
	for k, v := range mv.set {
		a[k] = v
	}
	for range 4 { // newly active variables may activate more
		a = m.sp.Complete(a)
		missing := false
		for _, v := range m.sp.Vars() {
			if v.Searched() && !a.Has(v.Name) && m.sp.Active(v.Name, a) {
				if x, ok := m.fill[v.Name]; ok {
					a[v.Name] = x
				} else {
					a[v.Name] = firstValue(&v)
				}
				missing = true
			}
		}
		if !missing {
			break
		}
	}
	if m.sp.Validate(a) != nil || a.Key() == m.params.Key() {
		return nil, false
	}
	return a, true
}

// firstValue is a legal value of v.
func firstValue(v *space.Var) any {
	switch v.Kind {
	case space.KindBool:
		return false
	case space.KindChoice:
		return v.Choices[0]
	case space.KindComponent:
		return v.Components[0].Name
	case space.KindInt:
		return int(v.Low)
	}
	return v.Low
}

// final is each agent's last call of a trajectory, by agent id.
func final(t *trajectory) map[string]call {
	out := map[string]call{}
	for _, c := range t.Calls {
		out[c.Agent] = c
	}
	return out
}

// adoptions counts, in t, each agent's wrong answers that an out-neighbour
// took up in the next round (the neighbour had answered otherwise), by the
// edge they travelled.
func (m *mover) adoptions(t *trajectory) map[space.Edge]int {
	type key struct {
		agent string
		round int
	}
	at := map[key]call{}
	for _, c := range t.Calls {
		at[key{c.Agent, c.Round}] = c
	}
	out := map[space.Edge]int{}
	for _, e := range m.ta.Edges {
		for r := 0; r < m.ta.Rounds; r++ {
			x, ok1 := at[key{e.From, r}]
			y0, ok2 := at[key{e.To, r}]
			y1, ok3 := at[key{e.To, r + 1}]
			if !ok1 || !ok2 || !ok3 || x.Right || x.Answer == "" {
				continue
			}
			nx := datasets.Normalize(x.Answer)
			if datasets.Normalize(y1.Answer) == nx && datasets.Normalize(y0.Answer) != nx {
				out[space.Edge{From: e.From, To: e.To, Type: e.Type}]++
			}
		}
	}
	return out
}

// suggest lists the moves the bucket's contrast between its best and
// worst trajectories suggests.
func (m *mover) suggest(bucket []outcome) []move {
	best, worst := &bucket[0].t, &bucket[len(bucket)-1].t
	var out []move
	fin := final(worst)
	voters := m.voters()
	adopted := m.adoptions(worst)
	bySource := map[string]int{}
	for _, e := range m.ta.Edges { // in edge order: the moves' order is part of the draw
		n := adopted[space.Edge{From: e.From, To: e.To, Type: e.Type}]
		if n == 0 {
			continue
		}
		bySource[e.From] += n
		if mv, ok := m.edge(e.From, e.To, false); ok {
			out = append(out, mv)
		}
	}
	// Add an edge from an agent right in the worst trajectory to one wrong.
	for _, from := range voters {
		for _, to := range voters {
			if from != to && fin[from].Right && !fin[to].Right && fin[to].Answer != "" && !m.hasEdge(from, to) {
				if mv, ok := m.edge(from, to, true); ok {
					out = append(out, mv)
				}
			}
		}
	}
	// Toggle an optional agent.
	if off, n := m.mostAdopted(bySource); n > 0 {
		out = append(out, move{set: map[string]any{space.ActiveVar(off): false}, what: "switch off " + off + ", whose wrong answer was taken up"})
	} else if !worstRight(worst) {
		var inactive []string
		for _, a := range m.ts.Team().Agents {
			if v, ok := m.sp.Var(space.ActiveVar(a.ID)); ok && v.Searched() && !m.params.Bool(space.ActiveVar(a.ID)) {
				inactive = append(inactive, a.ID)
			}
		}
		if len(inactive) > 0 {
			id := inactive[m.rng.IntN(len(inactive))]
			out = append(out, move{set: map[string]any{space.ActiveVar(id): true}, what: "switch on " + id})
		}
	}
	// Rounds: down when answers went from right to wrong in later rounds
	// of the worst trajectory, up when they went from wrong to right in the
	// best.
	down, up := switches(worst, true), switches(best, false)
	rounds := space.TeamVar(space.TeamRounds)
	if down > up {
		out = append(out, move{set: map[string]any{rounds: m.ta.Rounds - 1}, what: "one round fewer"})
	} else if up > down {
		out = append(out, move{set: map[string]any{rounds: m.ta.Rounds + 1}, what: "one round more"})
	}
	// Weighted voting when the plurality was wrong but a more confident
	// agent was right.
	if m.ta.Aggregation != space.AggWeighted && m.pluralityWrongConfidentRight(fin, voters) {
		out = append(out, move{set: map[string]any{space.TeamVar(space.TeamAggregation): space.AggWeighted},
			what: "weighted voting: a more confident agent was right against the plurality"})
	}
	// The agent wrong most often in the bucket: a larger model, a lower
	// temperature, or (under weighted voting) a lower weight.
	if id := mostWrong(bucket, voters); id != "" {
		out = append(out, m.agentMoves(id)...)
	}
	return out
}

// hasEdge reports whether the program's graph has the edge from→to.
func (m *mover) hasEdge(from, to string) bool {
	return slices.ContainsFunc(m.ta.Edges, func(e space.Edge) bool { return e.From == from && e.To == to })
}

// voters are the active agents that vote (all but a deciding judge), in
// team order.
func (m *mover) voters() []string {
	var out []string
	for _, a := range m.ta.Agents {
		if a.Active && !(a.Role == "judge" && m.ta.Aggregation == space.AggJudge) {
			out = append(out, a.ID)
		}
	}
	return out
}

func worstRight(t *trajectory) bool { return t.Score >= 1 }

// switches counts the agents' answers that went from right to wrong
// (toWrong) or from wrong to right between rounds of t.
func switches(t *trajectory, toWrong bool) int {
	last := map[string]call{}
	n := 0
	for _, c := range t.Calls {
		if p, ok := last[c.Agent]; ok && p.Answer != "" && c.Answer != "" {
			if toWrong && p.Right && !c.Right || !toWrong && !p.Right && c.Right {
				n++
			}
		}
		last[c.Agent] = c
	}
	return n
}

// mostAdopted is the active optional agent whose wrong answers were taken
// up most often, with that count.
func (m *mover) mostAdopted(bySource map[string]int) (string, int) {
	best, n := "", 0
	for _, a := range m.ts.Team().Agents {
		if v, ok := m.sp.Var(space.ActiveVar(a.ID)); ok && v.Searched() && bySource[a.ID] > n {
			best, n = a.ID, bySource[a.ID]
		}
	}
	return best, n
}

// pluralityWrongConfidentRight reports whether the voters' plurality
// answer was wrong while a right voter was more confident than the
// plurality's voters on average.
func (m *mover) pluralityWrongConfidentRight(fin map[string]call, voters []string) bool {
	count := map[string]int{}
	for _, id := range voters {
		if c := fin[id]; c.Answer != "" {
			count[datasets.Normalize(c.Answer)]++
		}
	}
	plural, n := "", 0
	for _, id := range voters { // ties: the first voter's answer
		if k := datasets.Normalize(fin[id].Answer); fin[id].Answer != "" && count[k] > n {
			plural, n = k, count[k]
		}
	}
	if n == 0 {
		return false
	}
	pluralConf, wrong := 0.0, false
	for _, id := range voters {
		if c := fin[id]; c.Answer != "" && datasets.Normalize(c.Answer) == plural {
			pluralConf += c.Confidence / float64(n)
			wrong = !c.Right
		}
	}
	if !wrong {
		return false
	}
	for _, id := range voters {
		if c := fin[id]; c.Right && c.Confidence > pluralConf {
			return true
		}
	}
	return false
}

// mostWrong is the voter whose final answer was wrong in the most
// trajectories of the bucket; "" when none was wrong.
func mostWrong(bucket []outcome, voters []string) string {
	wrong := map[string]int{}
	for i := range bucket {
		for id, c := range final(&bucket[i].t) {
			if !c.Right {
				wrong[id]++
			}
		}
	}
	best, n := "", 0
	for _, id := range voters {
		if wrong[id] > n {
			best, n = id, wrong[id]
		}
	}
	return best
}

// agentMoves are the moves of agent id: the next larger model among its
// choices (by component cost, then choice order), a lower temperature,
// and a lower vote weight, with weighted voting when the aggregation
// ignores weights (a weight counts only there).
func (m *mover) agentMoves(id string) []move {
	var out []move
	if name := space.AgentVar(id, space.LocalModel); m.searched(name) {
		v, _ := m.sp.Var(name)
		cur := m.params.String(name)
		comps := slices.Clone(v.Components)
		slices.SortStableFunc(comps, func(a, b space.Component) int { return cmp.Compare(a.Cost, b.Cost) })
		for i, c := range comps {
			if c.Name == cur && i+1 < len(comps) {
				out = append(out, move{set: map[string]any{name: comps[i+1].Name}, what: fmt.Sprintf("%s: model %s instead of %s", id, comps[i+1].Name, cur)})
			}
		}
	}
	if mv, ok := m.lower(id, space.LocalTemperature, "temperature"); ok {
		out = append(out, mv)
	}
	if mv, ok := m.lower(id, "weight", "vote weight"); ok {
		if m.ta.Aggregation != space.AggWeighted {
			mv.set[space.TeamVar(space.TeamAggregation)] = space.AggWeighted
			mv.what += ", under weighted voting"
		}
		out = append(out, mv)
	}
	return out
}

// searched reports whether name is a searched variable active in the
// program.
func (m *mover) searched(name string) bool {
	v, ok := m.sp.Var(name)
	return ok && v.Searched() && m.params.Has(name)
}

// lower is a move of agent id's numeric variable local to a lower value,
// drawn uniformly among the grid's lower points (halfway to the bound on a
// continuous range).
func (m *mover) lower(id, local, label string) (move, bool) {
	name := space.AgentVar(id, local)
	if !m.searched(name) {
		return move{}, false
	}
	v, _ := m.sp.Var(name)
	cur := m.params.Float(name)
	var x float64
	switch st := v.Step; {
	case cur <= v.Low:
		return move{}, false
	case st > 0 || v.Kind == space.KindInt:
		if st == 0 {
			st = 1
		}
		k := int(math.Round((cur - v.Low) / st)) // grid points below: 0..k-1
		if k < 1 {
			return move{}, false
		}
		x = v.Low + float64(m.rng.IntN(k))*st
	default:
		x = v.Low + (cur-v.Low)/2
	}
	var val any = x
	if v.Kind == space.KindInt {
		val = int(x)
	}
	return move{set: map[string]any{name: val}, what: fmt.Sprintf("%s: %s %g instead of %g", id, label, x, cur)}, true
}

// edge is the move that switches the edge from→to on or off: its own
// variable when the explicit topology is on, else the explicit topology
// with the candidate edges of the current graph (and this one changed).
func (m *mover) edge(from, to string, on bool) (move, bool) {
	var cand *space.Edge
	for _, e := range m.ts.Team().Edges {
		if e.From == from && e.To == to {
			cand = &e
			break
		}
	}
	if cand == nil {
		return move{}, false
	}
	what := "drop the edge " + from + " → " + to
	if on {
		what = "add the edge " + from + " → " + to
	}
	name := space.EdgeVar(*cand)
	if m.searched(name) {
		return move{set: map[string]any{name: on}, what: what}, true
	}
	topo := space.TeamVar(space.TeamTopology)
	if !m.searched(topo) || !m.ts.Team().SearchEdges {
		return move{}, false
	}
	set := map[string]any{topo: space.TopoExplicit}
	for _, e := range m.ts.Team().Edges {
		in := slices.ContainsFunc(m.ta.Edges, func(x space.Edge) bool { return x.From == e.From && x.To == e.To })
		if e.From == from && e.To == to {
			in = on
		}
		set[space.EdgeVar(e)] = in
	}
	return move{set: set, what: what + " (explicit topology)"}, true
}

// random is a random legal change of one team variable: an edge, an
// optional agent, the rounds, the aggregation, or an agent's model,
// temperature or weight.
func (m *mover) random() (move, space.Assignment, bool) {
	var names []string
	for _, v := range m.sp.Vars() {
		if !v.Searched() || !m.params.Has(v.Name) || !movable(v.Name) {
			continue
		}
		names = append(names, v.Name)
	}
	for range 32 {
		if len(names) == 0 {
			break
		}
		name := names[m.rng.IntN(len(names))]
		v, _ := m.sp.Var(name)
		x := m.otherValue(&v)
		mv := move{set: map[string]any{name: x}, what: fmt.Sprintf("%s = %v", name, x)}
		if a, ok := m.apply(mv); ok {
			return mv, a, true
		}
	}
	return move{}, nil, false
}

// movable reports whether a flat variable is one team_move changes.
func movable(name string) bool {
	for _, p := range []string{"team/edge/", "team/active/", space.TeamVar(space.TeamRounds), space.TeamVar(space.TeamAggregation)} {
		if len(name) >= len(p) && name[:len(p)] == p {
			return true
		}
	}
	for _, s := range []string{"/" + space.LocalModel, "/" + space.LocalTemperature, "/weight"} {
		if len(name) > len(s) && name[:6] == "agent/" && name[len(name)-len(s):] == s {
			return true
		}
	}
	return false
}

// otherValue draws a value of v other than the current one where it can.
func (m *mover) otherValue(v *space.Var) any {
	cur := m.params[v.Name]
	switch v.Kind {
	case space.KindBool:
		b, _ := cur.(bool)
		return !b
	case space.KindChoice, space.KindComponent:
		n := len(v.Choices)
		if v.Kind == space.KindComponent {
			n = len(v.Components)
		}
		i := m.rng.IntN(n)
		if v.Kind == space.KindComponent {
			return v.Components[i].Name
		}
		return v.Choices[i]
	case space.KindInt:
		st := max(int(v.Step), 1)
		k := int(v.High-v.Low)/st + 1
		return int(v.Low) + m.rng.IntN(k)*st
	}
	if v.Step > 0 {
		k := int(math.Round((v.High-v.Low)/v.Step)) + 1
		return v.Low + float64(m.rng.IntN(k))*v.Step
	}
	return v.Low + m.rng.Float64()*(v.High-v.Low)
}
