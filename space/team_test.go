package space

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func agentVars() []Var {
	return []Var{
		ComponentChoice(LocalModel, small, medium, large),
		Float(LocalTemperature, 0, 1.5),
		Int(LocalMaxTokens, 128, 1024).WithLog(),
		Choice(LocalInstruction, "Think step by step.", "Answer briefly."),
		Int(LocalDemos, 0, 4),
		Int(LocalRules, 0, 3),
	}
}

func testTeam() Team {
	return Team{
		Agents: []Agent{
			{ID: "a1", Role: "solver", Vars: agentVars()},
			{ID: "a2", Role: "solver", Optional: true, Vars: agentVars()},
			{ID: "a3", Role: "critic", Optional: true, Vars: append(agentVars()[1:],
				ComponentChoice(LocalModel, small, medium, large).Fix("sim-large"),
				Float("focus", 0, 1).When(LocalDemos, 1, 2, 3, 4), // local parent
				Composite("budget_tokens", func(a Assignment) any { return a.Int(LocalMaxTokens) * (1 + a.Int(LocalDemos)) }),
			)},
			{ID: "a4", Role: "judge", Optional: true, Vars: []Var{Const(LocalModel, "sim-large")}},
		},
		Vars: []Var{
			Choice(TeamTopology, TopoChain, TopoStar, TopoRing, TopoTree, TopoMesh, TopoExplicit),
			Int(TeamRounds, 0, 3),
			Choice(TeamAggregation, Aggregations...),
			Choice(TeamBudget, Budgets...),
			Float("threshold", 0.5, 1).When(TeamAggregation, AggSupermajority),
			Composite("size", func(a Assignment) any { return a.Int(TeamRounds) + 1 }), // sees team/ names locally
		},
		MinActive:   2,
		MaxActive:   3,
		Hub:         "a2",
		Edges:       []Edge{{From: "a1", To: "a2"}, {From: "a2", To: "a3", Type: Feedback}, {From: "a3", To: "a1"}, {From: "a4", To: "a1", Type: Supervision}},
		SearchEdges: true,
		Constraints: []Constraint{RequireCapability(AgentVar("a1", LocalModel), "reasoning")},
	}
}

func TestTeamNames(t *testing.T) {
	tm := testTeam()
	tm.Agents = tm.Agents[:2]
	tm.Agents[1].Vars = []Var{Float(LocalTemperature, 0, 1)}
	tm.Edges, tm.SearchEdges, tm.MinActive, tm.MaxActive, tm.Hub = tm.Edges[:1], true, 0, 0, ""
	ts, err := tm.Compile()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"team/topology", "team/rounds", "team/aggregation", "team/budget", "team/threshold", "team/size",
		"team/active/a2", "team/edge/a1/a2/data",
		"agent/a1/model", "agent/a1/temperature", "agent/a1/max_tokens", "agent/a1/instruction", "agent/a1/demos", "agent/a1/rules",
		"agent/a2/temperature"}
	if got := ts.Space().Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v\nwant    %v", got, want)
	}
	v, _ := ts.Space().Var("agent/a2/temperature")
	if !reflect.DeepEqual(v.Conds, []Condition{{Parent: "team/active/a2", In: []any{true}}}) {
		t.Errorf("optional agent's variable = %+v, want conditional on team/active/a2", v)
	}
	v, _ = ts.Space().Var("team/edge/a1/a2/data")
	want2 := []Condition{{Parent: "team/topology", In: []any{TopoExplicit}}, {Parent: "team/active/a2", In: []any{true}}}
	if !reflect.DeepEqual(v.Conds, want2) {
		t.Errorf("edge variable = %+v, want conditional on topology explicit and a2 active", v)
	}
	if c := ts.Space().Constraints(); len(c) != 1 {
		t.Errorf("constraints = %v, want the capability only (a1 is required, so the team is never empty)", c)
	}
	tm.Agents[0].Optional = true
	ts, err = tm.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if c := ts.Space().Constraints(); len(c) != 2 || c[0].Name != "team-size-min" || c[0].Message != "team size must be at least 1" {
		t.Errorf("constraints = %v, want team-size-min and the capability", c)
	}
}

func TestTeamDefaultsAndFixed(t *testing.T) {
	ts, err := Team{Agents: []Agent{
		{ID: "a", Vars: []Var{ComponentChoice(LocalModel, small, large).Fix("sim-large"), Float(LocalTemperature, 0, 1)}},
		{ID: "b"},
	}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	s := ts.Space()
	if s.Dim() != 1 {
		t.Errorf("Dim = %d, want 1: only a's temperature is searched (%v)", s.Dim(), s.Dims())
	}
	a, err := s.Sample(rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	ta, err := ts.Decode(a)
	if err != nil {
		t.Fatal(err)
	}
	if ta.Topology != DefaultTopology || ta.Rounds != DefaultRounds || ta.Aggregation != DefaultAggregation || ta.Budget != DefaultBudget {
		t.Errorf("defaults = %s %d %s %s", ta.Topology, ta.Rounds, ta.Aggregation, ta.Budget)
	}
	if ta.Agents[0].Values.String(LocalModel) != "sim-large" || edgeList(ta.Edges) != "a>b b>a" || ta.Extra != nil {
		t.Errorf("decoded = %+v", ta)
	}
	// Decode also accepts an assignment without the fixed values.
	ta2, err := ts.Decode(Assignment{AgentVar("a", LocalTemperature): a.Float(AgentVar("a", LocalTemperature))})
	if err != nil || !reflect.DeepEqual(ta, ta2) {
		t.Errorf("Decode of the searched values only = %+v, %v", ta2, err)
	}
	// A fixed topology.
	ts, err = Team{Agents: []Agent{{ID: "a"}, {ID: "b"}, {ID: "c"}}, Vars: []Var{Const(TeamTopology, TopoChain), Const(TeamRounds, 2)}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	ta, err = ts.Decode(Assignment{})
	if err != nil || ta.Topology != TopoChain || ta.Rounds != 2 || edgeList(ta.Edges) != "a>b b>c" {
		t.Errorf("fixed chain = %+v, %v", ta, err)
	}
}

func TestTeamDecodeInactive(t *testing.T) {
	ts, err := testTeam().Compile()
	if err != nil {
		t.Fatal(err)
	}
	s := ts.Space()
	a, err := s.Sample(rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	// a1 (required), a3 and a4 active, a2 (the hub) inactive.
	a[ActiveVar("a2")], a[ActiveVar("a3")], a[ActiveVar("a4")] = false, true, true
	a[TeamVar(TeamTopology)] = TopoStar
	a = s.Complete(s.Complete(a)) // drop a2's values and the edge bools; fill a3's
	for _, k := range []string{AgentVar("a3", LocalTemperature), AgentVar("a3", LocalMaxTokens), AgentVar("a3", LocalInstruction), AgentVar("a3", LocalRules)} {
		if !a.Has(k) {
			a[k] = map[string]any{LocalTemperature: 0.5, LocalMaxTokens: 256, LocalInstruction: "Answer briefly.", LocalRules: 1}[strings.TrimPrefix(k, "agent/a3/")]
		}
	}
	a[AgentVar("a3", LocalDemos)] = 2
	a[AgentVar("a3", "focus")] = 0.25
	a = s.Complete(a)
	ta, err := ts.Decode(a)
	if err != nil {
		t.Fatalf("Decode(%s): %v", a.Key(), err)
	}
	if got := ta.ActiveIDs(); !reflect.DeepEqual(got, []string{"a1", "a3", "a4"}) {
		t.Errorf("ActiveIDs = %v", got)
	}
	if ag := ta.Agent("a2"); ag.Active || ag.Values != nil {
		t.Errorf("a2 = %+v, want inactive without values", ag)
	}
	// The hub a2 is inactive, so the star centres on a1 and a2 is on no edge.
	if got := edgeList(ta.Edges); got != "a1>a3 a3>a1 a1>a4 a4>a1" {
		t.Errorf("edges = %s", got)
	}
	a3 := ta.Agent("a3").Values
	if a3.String(LocalModel) != "sim-large" || a3.Float("focus") != 0.25 || a3.Int("budget_tokens") != a3.Int(LocalMaxTokens)*3 {
		t.Errorf("a3 values = %v", a3)
	}
	if ta.Extra["size"] != ta.Rounds+1 || ta.Agent("a4").Values.String(LocalModel) != "sim-large" {
		t.Errorf("extra = %v, a4 = %v", ta.Extra, ta.Agent("a4"))
	}

	// Explicit topology with searched edges: edges whose bool is off, and
	// edges touching the inactive a2, are dropped.
	a[TeamVar(TeamTopology)] = TopoExplicit
	for _, e := range testTeam().Edges {
		a[EdgeVar(e)] = true
	}
	a[EdgeVar(Edge{From: "a4", To: "a1", Type: Supervision})] = false
	if err := s.Validate(a); !errors.Is(err, ErrInactive) {
		t.Errorf("edge to the inactive a2: %v, want ErrInactive", err)
	}
	a = s.Complete(a)
	if a.Has(EdgeVar(Edge{From: "a1", To: "a2"})) || !a.Has(EdgeVar(Edge{From: "a3", To: "a1"})) {
		t.Errorf("Complete kept edge bools of an inactive agent: %s", a.Key())
	}
	ta, err = ts.Decode(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := edgeList(ta.Edges); got != "a3>a1" {
		t.Errorf("explicit edges = %s, want a3>a1", got)
	}
	if err := ValidateGraph(ta.ActiveIDs(), ta.Edges); err != nil {
		t.Error(err)
	}
	// Decode validates.
	a[AgentVar("a1", LocalModel)] = "sim-small"
	if _, err := ts.Decode(a); !errors.Is(err, ErrConstraint) {
		t.Errorf("Decode of an assignment violating a constraint: %v", err)
	}
}

func TestTeamSampleDecodeFlatten(t *testing.T) {
	ts, err := testTeam().Compile()
	if err != nil {
		t.Fatal(err)
	}
	s := ts.Space()
	r := rand.New(rand.NewPCG(11, 12))
	sizes := map[int]int{}
	topos := map[string]int{}
	for i := range 2000 {
		a, err := s.Sample(r)
		if err != nil {
			t.Fatal(err)
		}
		ta, err := ts.Decode(a)
		if err != nil {
			t.Fatalf("draw %d: %v", i, err)
		}
		active := ta.ActiveIDs()
		sizes[len(active)]++
		topos[ta.Topology]++
		if active[0] != "a1" || len(active) < 2 || len(active) > 3 {
			t.Fatalf("draw %d: active %v", i, active)
		}
		if err := ValidateGraph(active, ta.Edges); err != nil {
			t.Fatalf("draw %d: %v", i, err)
		}
		if ta.Topology != TopoExplicit {
			want, _ := TopologyEdges(ta.Topology, active, "a2", nil)
			if !slices.Equal(ta.Edges, want) {
				t.Fatalf("draw %d: %s edges %v, want %v", i, ta.Topology, ta.Edges, want)
			}
		}
		if !slices.Contains([]string{"sim-medium", "sim-large"}, ta.Agents[0].Values.String(LocalModel)) {
			t.Fatalf("draw %d: a1 model %v lacks reasoning", i, ta.Agents[0].Values)
		}
		_, hasThreshold := ta.Extra["threshold"]
		if hasThreshold != (ta.Aggregation == AggSupermajority) {
			t.Fatalf("draw %d: threshold %v under %s", i, ta.Extra, ta.Aggregation)
		}
		back, err := ts.Flatten(ta)
		if err != nil || back.Key() != a.Key() {
			t.Fatalf("draw %d: Flatten(Decode(a)) =\n%s, %v\nwant\n%s", i, back.Key(), err, a.Key())
		}
		// The encoding round-trips through the structured team too.
		if ta2, err := ts.Decode(s.Decode(s.Encode(a))); err != nil || ta2.String() != ta.String() {
			t.Fatalf("draw %d: encode/decode changed the team: %v\n%s\n%s", i, err, ta2, ta)
		}
	}
	if sizes[2] == 0 || sizes[3] == 0 || len(topos) != len(Topologies) {
		t.Errorf("sizes %v, topologies %v: want both sizes and every topology", sizes, topos)
	}
}

func TestTeamFlattenBaseline(t *testing.T) {
	ts, err := Team{
		Agents: []Agent{{ID: "a", Vars: agentVars()}, {ID: "b", Optional: true, Vars: agentVars()}},
		Vars:   []Var{Choice(TeamTopology, TopoChain, TopoMesh), Int(TeamRounds, 0, 2)},
	}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	base := TeamAssignment{
		Agents: []AgentAssignment{{ID: "a", Active: true, Values: Assignment{LocalModel: "sim-small", LocalTemperature: 0, LocalMaxTokens: 512,
			LocalInstruction: "Answer briefly.", LocalDemos: 0, LocalRules: 0}}},
		Topology: TopoMesh, Rounds: 1, Aggregation: AggMajority, Budget: BudgetEqual,
	}
	a, err := ts.Flatten(base)
	if err != nil {
		t.Fatal(err)
	}
	if a.Bool(ActiveVar("b")) || a.Has(AgentVar("b", LocalModel)) || a[AgentVar("a", LocalTemperature)] != 0.0 {
		t.Errorf("Flatten = %s", a.Key())
	}
	base.Agents = append(base.Agents, AgentAssignment{ID: "z"})
	if _, err := ts.Flatten(base); !errors.Is(err, ErrUnknown) {
		t.Errorf("Flatten with an unknown agent: %v", err)
	}
	base.Agents = nil
	if _, err := ts.Flatten(base); !errors.Is(err, ErrMissing) {
		t.Errorf("Flatten without the required agent: %v", err)
	}
	base.Topology = TopoRing
	base.Agents = []AgentAssignment{{ID: "a", Active: true, Values: Assignment{}}}
	if _, err := ts.Flatten(base); err == nil {
		t.Error("Flatten of an incomplete agent succeeded")
	}
}

func TestTeamCompileErrors(t *testing.T) {
	two := []Agent{{ID: "a"}, {ID: "b", Optional: true}}
	cases := []struct {
		name string
		team Team
		rule error
		want string
	}{
		{"no agents", Team{}, ErrChoices, "space: team: no agents"},
		{"empty id", Team{Agents: []Agent{{}}}, ErrName, "agent 0: empty id"},
		{"slash in id", Team{Agents: []Agent{{ID: "a/b"}}}, ErrName, `agent "a/b": id contains "/"`},
		{"duplicate id", Team{Agents: []Agent{{ID: "a"}, {ID: "a"}}}, ErrDuplicate, `agent "a": duplicate id`},
		{"min too large", Team{Agents: two, MinActive: 3}, ErrBounds, "MinActive 3 outside [0, 2 agents]"},
		{"max below required", Team{Agents: []Agent{{ID: "a"}, {ID: "b"}}, MaxActive: 1}, ErrBounds, "below MinActive 0, 1 or the 2 required agents"},
		{"unknown hub", Team{Agents: two, Hub: "z"}, ErrGraph, `hub "z" is not an agent`},
		{"bad candidate edge", Team{Agents: two, Edges: []Edge{{From: "a", To: "z"}}}, ErrGraph, `unknown agent "z"`},
		{"unknown topology", Team{Agents: two, Vars: []Var{Choice(TeamTopology, "mesh", "hypercube")}}, ErrNotChoice, `variable "team/topology": unknown topology "hypercube"`},
		{"topology not a choice", Team{Agents: two, Vars: []Var{Bool(TeamTopology)}}, ErrKind, "topology must be a choice variable, not bool"},
		{"rounds not int", Team{Agents: two, Vars: []Var{Float(TeamRounds, 0, 2)}}, ErrKind, "rounds must be an int variable"},
		{"negative rounds", Team{Agents: two, Vars: []Var{Int(TeamRounds, -1, 2)}}, ErrBounds, "rounds low -1 is negative"},
		{"unknown aggregation", Team{Agents: two, Vars: []Var{Const(TeamAggregation, "vote")}}, ErrNotChoice, `unknown aggregation "vote"`},
		{"unknown budget", Team{Agents: two, Vars: []Var{Choice(TeamBudget, "equal", "lottery")}}, ErrNotChoice, `unknown budget "lottery"`},
		{"conditional rounds", Team{Agents: two, Vars: []Var{Bool("debate"), Int(TeamRounds, 1, 2).When("debate", true)}}, ErrParent, "cannot be conditional"},
		{"explicit without edges", Team{Agents: two, Vars: []Var{Const(TeamTopology, TopoExplicit)}}, ErrGraph, "needs candidate edges"},
		{"search edges without explicit", Team{Agents: two, Edges: []Edge{{From: "a", To: "b"}}, SearchEdges: true}, ErrGraph, "SearchEdges needs explicit"},
		{"slash in team var", Team{Agents: two, Vars: []Var{Bool("x/y")}}, ErrName, `variable "team/x/y": team variable name contains "/"`},
		{"slash in local var", Team{Agents: []Agent{{ID: "a", Vars: []Var{Bool("x/y")}}}}, ErrName, `variable "agent/a/x/y"`},
		{"bad local var", Team{Agents: []Agent{{ID: "a", Vars: []Var{Float(LocalTemperature, 2, 1)}}}}, ErrBounds, `space: variable "agent/a/temperature": low 2 above high 1`},
		{"unknown local parent", Team{Agents: []Agent{{ID: "a", Vars: []Var{Bool("x").When("y", true)}}}}, ErrParent, `unknown parent "agent/a/y"`},
		{"bad constraint", Team{Agents: two, Constraints: []Constraint{AtLeast(1, "agent/a/nope")}}, ErrUnknown, `unknown variable "agent/a/nope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.team.Compile()
			if !errors.Is(err, c.rule) || !errors.Is(err, ErrInvalidSpace) {
				t.Fatalf("err = %v, want rule %v", err, c.rule)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestTeamFlatParent(t *testing.T) {
	// A local variable may depend on a team variable through its flat name.
	ts, err := Team{
		Agents: []Agent{{ID: "j", Vars: []Var{Float("strictness", 0, 1).When(TeamVar(TeamAggregation), AggJudge)}}},
		Vars:   []Var{Choice(TeamAggregation, AggMajority, AggJudge)},
	}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	ta, err := ts.Decode(Assignment{TeamVar(TeamAggregation): AggJudge, AgentVar("j", "strictness"): 0.5})
	if err != nil || ta.Agents[0].Values.Float("strictness") != 0.5 {
		t.Errorf("Decode = %+v, %v", ta, err)
	}
	if _, err := ts.Decode(Assignment{TeamVar(TeamAggregation): AggMajority, AgentVar("j", "strictness"): 0.5}); !errors.Is(err, ErrInactive) {
		t.Errorf("strictness under majority: %v", err)
	}
}

func TestTeamAssignmentString(t *testing.T) {
	ta := TeamAssignment{
		Agents: []AgentAssignment{
			{ID: "a1", Role: "solver", Active: true, Values: Assignment{"model": "sim-small", "temperature": 0.5, "instruction": "Be brief."}},
			{ID: "a2", Active: false},
		},
		Topology: TopoChain, Rounds: 2, Aggregation: AggMajority, Budget: BudgetEqual,
		Extra: map[string]any{"threshold": 0.7},
	}
	want := `topology=chain rounds=2 aggregation=majority budget=equal
agent a1 (solver): instruction="Be brief." model=sim-small temperature=0.5
agent a2: inactive
edges: none
extra: threshold=0.7`
	if got := ta.String(); got != want {
		t.Errorf("String =\n%s\nwant\n%s", got, want)
	}
}

// TestEdgeOf: EdgeOf reads back what EdgeVar writes, and refuses other
// names.
func TestEdgeOf(t *testing.T) {
	for _, e := range []Edge{{From: "a", To: "b"}, {From: "s1", To: "judge", Type: Feedback}} {
		if got, ok := EdgeOf(EdgeVar(e)); !ok || got != e {
			t.Errorf("EdgeOf(%q) = %v, %v", EdgeVar(e), got, ok)
		}
	}
	for _, name := range []string{"team/topology", "team/edge/a/b", "team/edge//b/data", "team/edge/a/b/nonsense", "agent/a/model"} {
		if e, ok := EdgeOf(name); ok {
			t.Errorf("EdgeOf(%q) = %v, want not an edge", name, e)
		}
	}
}
