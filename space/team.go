package space

import (
	"fmt"
	"slices"
	"strings"
)

// AgentVar is the flat name of agent id's local variable: agent/<id>/<local>.
// (The naming scheme of team spaces is described in the package doc.)
func AgentVar(id, local string) string { return "agent/" + id + "/" + local }

// TeamVar is the flat name of the team variable name: team/<name>.
func TeamVar(name string) string { return "team/" + name }

// ActiveVar is the flat name of the bool that switches optional agent id on.
func ActiveVar(id string) string { return "team/active/" + id }

// EdgeVar is the flat name of the bool that switches candidate edge e on.
func EdgeVar(e Edge) string {
	return edgePrefix + e.From + "/" + e.To + "/" + e.Type.String()
}

const edgePrefix = "team/edge/"

// EdgeOf is the edge whose EdgeVar is name; ok is false when name is not
// an edge variable's.
func EdgeOf(name string) (e Edge, ok bool) {
	rest, ok := strings.CutPrefix(name, edgePrefix)
	if !ok {
		return Edge{}, false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || e.Type.UnmarshalText([]byte(parts[2])) != nil {
		return Edge{}, false
	}
	e.From, e.To = parts[0], parts[1]
	return e, true
}

// Names of the team variables a TeamAssignment has fields for.
const (
	TeamTopology    = "topology"    // choice among Topologies
	TeamRounds      = "rounds"      // int >= 0: message-passing rounds after the first answers
	TeamAggregation = "aggregation" // choice among Aggregations
	TeamBudget      = "budget"      // choice among Budgets
)

// Conventional local variable names of an agent. Any other local name is
// allowed and lands in AgentAssignment.Values the same way.
const (
	LocalModel       = "model"       // component: the language model
	LocalTemperature = "temperature" // float
	LocalMaxTokens   = "max_tokens"  // int
	LocalInstruction = "instruction" // choice of candidate texts, or int index of a candidate
	LocalDemos       = "demos"       // int: how many demos to show
	LocalRules       = "rules"       // int: how many rules to show
)

// Aggregation protocols, the values of team/aggregation.
const (
	AggMajority      = "majority"
	AggSupermajority = "supermajority"
	AggWeighted      = "weighted"
	AggHierarchical  = "hierarchical"
	AggJudge         = "judge"
)

// Aggregations lists the aggregation protocols.
var Aggregations = []string{AggMajority, AggSupermajority, AggWeighted, AggHierarchical, AggJudge}

// Budget allocation schemes, the values of team/budget.
const (
	BudgetEqual   = "equal"
	BudgetAuction = "auction"
	BudgetMarket  = "market"
)

// Budgets lists the budget allocation schemes.
var Budgets = []string{BudgetEqual, BudgetAuction, BudgetMarket}

// Defaults of the team variables a Team does not declare; each becomes a
// fixed variable of the flat space.
const (
	DefaultTopology    = TopoMesh
	DefaultRounds      = 1
	DefaultAggregation = AggMajority
	DefaultBudget      = BudgetEqual
)

// Agent is one agent of a team space.
type Agent struct {
	ID   string
	Role string // free-form, e.g. "solver", "critic", "judge"
	// Optional agents may be left out of the team: each gets a searched
	// bool team/active/<id>, and its local variables are active only when
	// it is.
	Optional bool
	// Vars are the agent's local variables, named without the namespace
	// (e.g. "temperature"). A condition's parent without "/" is a local
	// variable of the same agent; one with "/" is a flat name. A
	// composite's Compute sees the flat assignment plus the agent's values
	// under their local names.
	Vars []Var
}

// Team describes a multi-agent space: agents with local variables, plus
// team-level orchestration variables. Compile turns it into one flat Space.
type Team struct {
	Agents []Agent
	// Vars are team-level variables named without the namespace. The names
	// TeamTopology (a choice among Topologies), TeamRounds (an int >= 0),
	// TeamAggregation (a choice among Aggregations) and TeamBudget (a
	// choice among Budgets) have TeamAssignment fields and must not be
	// conditional; an undeclared one is fixed to its default (DefaultTopology
	// etc.). Use Const to fix one, e.g. Const(TeamTopology, TopoMesh). Any
	// other variable lands in TeamAssignment.Extra. Parents resolve as for
	// Agent.Vars, within the team namespace.
	Vars []Var
	// MinActive and MaxActive bound the number of active agents; 0 means no
	// bound, except that at least one agent is always active.
	MinActive, MaxActive int
	// Hub is the hub of the star topology; "" or an inactive agent means the
	// first active agent.
	Hub string
	// Edges are the candidate edges of the explicit topology.
	Edges []Edge
	// SearchEdges makes every candidate edge a searched bool (as in
	// GPTSwarm's edge optimization), active when the topology is explicit
	// and both ends are active; otherwise the explicit topology uses all
	// candidate edges between active agents.
	SearchEdges bool
	// Constraints are added to the flat space; they use flat names.
	Constraints []Constraint
}

// TeamSpace is a compiled Team: the flat space every optimizer searches,
// and the way back to a structured TeamAssignment.
type TeamSpace struct {
	team   Team
	space  *Space
	extras []string // local names of the extra team variables
}

// AgentAssignment is one agent of a decoded team.
type AgentAssignment struct {
	ID     string
	Role   string
	Active bool
	// Values are the agent's active local variables by local name, nil for
	// an inactive agent.
	Values Assignment
}

// TeamAssignment is a decoded point of a team space.
type TeamAssignment struct {
	// Agents are all agents in team order, inactive ones with Active false.
	Agents []AgentAssignment
	// Topology is the topology name; Edges its edges among active agents.
	Topology    string
	Edges       []Edge
	Rounds      int
	Aggregation string
	Budget      string
	// Extra holds the active extra team variables by local name; nil if
	// the team declares none.
	Extra map[string]any
}

// Compile validates t and builds its flat space. Variables are declared in
// this order: team variables (the four of TeamAssignment first), the
// team/active bools, the team/edge bools, then each agent's variables.
func (t Team) Compile() (*TeamSpace, error) {
	teamErr := func(rule error, format string, args ...any) error {
		return &ruleError{msg: "space: team: " + fmt.Sprintf(format, args...), rule: rule, class: ErrInvalidSpace}
	}
	if len(t.Agents) == 0 {
		return nil, teamErr(ErrChoices, "no agents")
	}
	ids := make([]string, len(t.Agents))
	required := 0
	var actives []string
	for i, ag := range t.Agents {
		switch {
		case ag.ID == "":
			return nil, teamErr(ErrName, "agent %d: empty id", i)
		case strings.Contains(ag.ID, "/"):
			return nil, teamErr(ErrName, "agent %q: id contains \"/\"", ag.ID)
		case slices.Contains(ids[:i], ag.ID):
			return nil, teamErr(ErrDuplicate, "agent %q: duplicate id", ag.ID)
		}
		ids[i] = ag.ID
		if ag.Optional {
			actives = append(actives, ActiveVar(ag.ID))
		} else {
			required++
		}
	}
	n := len(t.Agents)
	switch {
	case t.MinActive < 0 || t.MinActive > n:
		return nil, teamErr(ErrBounds, "MinActive %d outside [0, %d agents]", t.MinActive, n)
	case t.MaxActive < 0:
		return nil, teamErr(ErrBounds, "MaxActive %d is negative", t.MaxActive)
	case t.MaxActive > 0 && t.MaxActive < max(t.MinActive, required, 1):
		return nil, teamErr(ErrBounds, "MaxActive %d below MinActive %d, 1 or the %d required agents", t.MaxActive, t.MinActive, required)
	case t.Hub != "" && !slices.Contains(ids, t.Hub):
		return nil, teamErr(ErrGraph, "hub %q is not an agent", t.Hub)
	}
	if err := ValidateGraph(ids, t.Edges); err != nil {
		return nil, err
	}

	// Team variables.
	ts := &TeamSpace{team: t}
	reserved := map[string]Var{
		TeamTopology:    Const(TeamTopology, DefaultTopology),
		TeamRounds:      Const(TeamRounds, DefaultRounds),
		TeamAggregation: Const(TeamAggregation, DefaultAggregation),
		TeamBudget:      Const(TeamBudget, DefaultBudget),
	}
	var extras []Var
	for _, v := range t.Vars {
		if strings.Contains(v.Name, "/") {
			return nil, defErr(TeamVar(v.Name), ErrName, "team variable name contains \"/\"")
		}
		if _, ok := reserved[v.Name]; ok {
			if err := checkReserved(v, ids); err != nil {
				return nil, err
			}
			reserved[v.Name] = v
			continue
		}
		extras = append(extras, v)
		ts.extras = append(ts.extras, v.Name)
	}
	topo := reserved[TeamTopology]
	topos := topo.Choices
	if f, ok := topo.Fixed.(string); ok {
		topos = []string{f}
	}
	if slices.Contains(topos, TopoExplicit) && len(t.Edges) == 0 {
		return nil, defErr(TeamVar(TeamTopology), ErrGraph, "topology explicit needs candidate edges (Team.Edges)")
	}
	if t.SearchEdges && !slices.Contains(topos, TopoExplicit) {
		return nil, defErr(TeamVar(TeamTopology), ErrGraph, "SearchEdges needs explicit among the topologies")
	}

	var flat []Var
	for _, name := range []string{TeamTopology, TeamRounds, TeamAggregation, TeamBudget} {
		flat = append(flat, namespaced(reserved[name], "team/", ""))
	}
	for _, v := range extras {
		flat = append(flat, namespaced(v, "team/", ""))
	}
	for _, a := range actives {
		flat = append(flat, Bool(a))
	}
	if t.SearchEdges {
		optional := func(id string) bool {
			return slices.ContainsFunc(t.Agents, func(a Agent) bool { return a.ID == id && a.Optional })
		}
		for _, e := range t.Edges {
			v := Bool(EdgeVar(e)).When(TeamVar(TeamTopology), TopoExplicit)
			for _, id := range []string{e.From, e.To} {
				if optional(id) {
					v = v.When(ActiveVar(id), true)
				}
			}
			flat = append(flat, v)
		}
	}
	for _, ag := range t.Agents {
		on := ""
		if ag.Optional {
			on = ActiveVar(ag.ID)
		}
		for _, v := range ag.Vars {
			if strings.Contains(v.Name, "/") {
				return nil, defErr(AgentVar(ag.ID, v.Name), ErrName, "local variable name contains \"/\"")
			}
			flat = append(flat, namespaced(v, AgentVar(ag.ID, ""), on))
		}
	}
	s, err := New(flat...)
	if err != nil {
		return nil, err
	}

	// Team size.
	if len(actives) > 0 {
		if lo := max(t.MinActive, 1) - required; lo > 0 {
			c := AtLeast(lo, actives...)
			c.Name, c.Message = "team-size-min", fmt.Sprintf("team size must be at least %d", max(t.MinActive, 1))
			if err := s.Constrain(c); err != nil {
				return nil, err
			}
		}
		if hi := t.MaxActive - required; t.MaxActive > 0 && hi < len(actives) {
			c := AtMost(hi, actives...)
			c.Name, c.Message = "team-size-max", fmt.Sprintf("team size must be at most %d", t.MaxActive)
			if err := s.Constrain(c); err != nil {
				return nil, err
			}
		}
	}
	if err := s.Constrain(t.Constraints...); err != nil {
		return nil, err
	}
	ts.space = s
	ts.team.Agents = slices.Clone(t.Agents)
	ts.team.Vars = slices.Clone(t.Vars)
	ts.team.Edges = slices.Clone(t.Edges)
	ts.team.Constraints = slices.Clone(t.Constraints)
	return ts, nil
}

// checkReserved checks a declared topology, rounds, aggregation or budget
// variable.
func checkReserved(v Var, ids []string) error {
	name := TeamVar(v.Name)
	if v.Conditional() {
		return defErr(name, ErrParent, "team variable "+v.Name+" cannot be conditional")
	}
	var known []string
	switch v.Name {
	case TeamTopology:
		known = Topologies
	case TeamAggregation:
		known = Aggregations
	case TeamBudget:
		known = Budgets
	case TeamRounds:
		if v.Kind != KindInt {
			return defErr(name, ErrKind, "rounds must be an int variable, not "+v.Kind.String())
		}
		if v.Low < 0 {
			return defErr(name, ErrBounds, fmt.Sprintf("rounds low %s is negative", fmtFloat(v.Low)))
		}
		return nil
	}
	if v.Kind != KindChoice {
		return defErr(name, ErrKind, v.Name+" must be a choice variable, not "+v.Kind.String())
	}
	for _, c := range v.Choices {
		if !slices.Contains(known, c) {
			return defErr(name, ErrNotChoice, fmt.Sprintf("unknown %s %q (want one of %v)", v.Name, c, known))
		}
	}
	return nil
}

// namespaced renames v and its local parents into the namespace prefix. If
// on is not "" (the agent is optional), v becomes conditional on the bool on
// unless a local parent already is.
func namespaced(v Var, prefix, on string) Var {
	v.Name = prefix + v.Name
	v.Conds = slices.Clone(v.Conds)
	covered := false
	for k := range v.Conds {
		if !strings.Contains(v.Conds[k].Parent, "/") {
			v.Conds[k].Parent = prefix + v.Conds[k].Parent
			covered = true
		}
	}
	if on != "" && !covered {
		v.Conds = append([]Condition{{Parent: on, In: []any{true}}}, v.Conds...)
	}
	if f := v.Compute; f != nil {
		v.Compute = func(a Assignment) any { return f(localView(a, prefix)) }
	}
	return v
}

// localView returns a plus the values under prefix with the prefix cut.
func localView(a Assignment, prefix string) Assignment {
	out := a.Clone()
	for k, x := range a {
		if rest, ok := strings.CutPrefix(k, prefix); ok && !strings.Contains(rest, "/") {
			out[rest] = x
		}
	}
	return out
}

// Space returns the flat space.
func (ts *TeamSpace) Space() *Space { return ts.space }

// Team returns the team the space was compiled from.
func (ts *TeamSpace) Team() Team { return ts.team }

// Decode validates a flat assignment (which may omit fixed and composite
// values) and structures it: agents in team order with their local values,
// the topology's edges among the active agents, the team variables, and the
// extra team variables.
func (ts *TeamSpace) Decode(a Assignment) (TeamAssignment, error) {
	if err := ts.space.Validate(a); err != nil {
		return TeamAssignment{}, err
	}
	full := ts.space.Complete(a)
	t := &ts.team
	out := TeamAssignment{
		Agents:      make([]AgentAssignment, len(t.Agents)),
		Topology:    full.String(TeamVar(TeamTopology)),
		Rounds:      full.Int(TeamVar(TeamRounds)),
		Aggregation: full.String(TeamVar(TeamAggregation)),
		Budget:      full.String(TeamVar(TeamBudget)),
	}
	var ids []string
	for i, ag := range t.Agents {
		aa := AgentAssignment{ID: ag.ID, Role: ag.Role, Active: !ag.Optional || full.Bool(ActiveVar(ag.ID))}
		if aa.Active {
			ids = append(ids, ag.ID)
			aa.Values = make(Assignment, len(ag.Vars))
			for _, v := range ag.Vars {
				if x, ok := full[AgentVar(ag.ID, v.Name)]; ok {
					aa.Values[v.Name] = x
				}
			}
		}
		out.Agents[i] = aa
	}
	candidates := t.Edges
	if t.SearchEdges {
		candidates = nil
		for _, e := range t.Edges {
			if full.Bool(EdgeVar(e)) {
				candidates = append(candidates, e)
			}
		}
	}
	edges, err := TopologyEdges(out.Topology, ids, t.Hub, candidates)
	if err != nil {
		return TeamAssignment{}, err
	}
	out.Edges = edges
	if len(ts.extras) > 0 {
		out.Extra = make(map[string]any, len(ts.extras))
		for _, name := range ts.extras {
			if x, ok := full[TeamVar(name)]; ok {
				out.Extra[name] = x
			}
		}
	}
	return out, nil
}

// Flatten is the inverse of Decode: it turns a structured team (say, a
// hand-designed baseline to seed an optimizer with) into a complete, valid
// flat assignment. Values of inactive agents and variables are ignored;
// with SearchEdges and the explicit topology, a candidate edge is on iff it
// is in ta.Edges.
func (ts *TeamSpace) Flatten(ta TeamAssignment) (Assignment, error) {
	t := &ts.team
	a := Assignment{
		TeamVar(TeamTopology):    ta.Topology,
		TeamVar(TeamRounds):      ta.Rounds,
		TeamVar(TeamAggregation): ta.Aggregation,
		TeamVar(TeamBudget):      ta.Budget,
	}
	for k, x := range ta.Extra {
		a[TeamVar(k)] = x
	}
	for _, aa := range ta.Agents {
		if !slices.ContainsFunc(t.Agents, func(ag Agent) bool { return ag.ID == aa.ID }) {
			return nil, &ruleError{msg: fmt.Sprintf("space: team: unknown agent %q", aa.ID), rule: ErrUnknown, class: ErrInvalidAssignment}
		}
	}
	for _, ag := range t.Agents {
		var aa *AgentAssignment
		for i := range ta.Agents {
			if ta.Agents[i].ID == ag.ID {
				aa = &ta.Agents[i]
			}
		}
		active := aa != nil && aa.Active
		if ag.Optional {
			a[ActiveVar(ag.ID)] = active
		}
		if !active {
			if !ag.Optional {
				return nil, &ruleError{msg: fmt.Sprintf("space: team: required agent %q is not active", ag.ID), rule: ErrMissing, class: ErrInvalidAssignment}
			}
			continue
		}
		for k, x := range aa.Values {
			a[AgentVar(ag.ID, k)] = x
		}
	}
	if t.SearchEdges {
		for _, e := range t.Edges {
			a[EdgeVar(e)] = slices.Contains(ta.Edges, e)
		}
	}
	for k, x := range a {
		if i, ok := ts.space.index[k]; ok {
			a[k] = normalize(ts.space.vars[i].Kind, x)
		}
	}
	a = ts.space.Complete(a)
	if err := ts.space.Validate(a); err != nil {
		return nil, err
	}
	return a, nil
}

// ActiveIDs returns the ids of the active agents in team order.
func (ta *TeamAssignment) ActiveIDs() []string {
	var out []string
	for _, a := range ta.Agents {
		if a.Active {
			out = append(out, a.ID)
		}
	}
	return out
}

// Agent returns the agent called id, or nil.
func (ta *TeamAssignment) Agent(id string) *AgentAssignment {
	for i := range ta.Agents {
		if ta.Agents[i].ID == id {
			return &ta.Agents[i]
		}
	}
	return nil
}

// String prints the team on a few lines: team variables, one line per
// agent, the edges, and the extra variables if any.
func (ta TeamAssignment) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "topology=%s rounds=%d aggregation=%s budget=%s\n", ta.Topology, ta.Rounds, ta.Aggregation, ta.Budget)
	for _, a := range ta.Agents {
		fmt.Fprintf(&b, "agent %s", a.ID)
		if a.Role != "" {
			fmt.Fprintf(&b, " (%s)", a.Role)
		}
		if !a.Active {
			b.WriteString(": inactive\n")
			continue
		}
		b.WriteString(":" + fmtValues(a.Values) + "\n")
	}
	b.WriteString("edges:")
	for i, e := range ta.Edges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(" " + e.String())
	}
	if len(ta.Edges) == 0 {
		b.WriteString(" none")
	}
	if len(ta.Extra) > 0 {
		b.WriteString("\nextra:" + fmtValues(ta.Extra))
	}
	return b.String()
}

// fmtValues prints " k=v" pairs in name order; strings are quoted only when
// they contain spaces, quotes or "=".
func fmtValues(m map[string]any) string {
	var b strings.Builder
	for _, k := range Assignment(m).Names() {
		x := m[k]
		s := fmtValue(x)
		if str, ok := x.(string); ok && !strings.ContainsAny(str, " \t\n\"=") && str != "" {
			s = str
		}
		b.WriteString(" " + k + "=" + s)
	}
	return b.String()
}
