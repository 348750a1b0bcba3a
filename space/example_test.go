package space_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/mabeam/mabeam/space"
)

// Build a 3-agent team space, sample one team, decode it and print it.
func Example() {
	models := []space.Component{
		{Name: "sim-small", Caps: []string{"fast"}, Cost: 1},
		{Name: "sim-medium", Caps: []string{"reasoning"}, Cost: 3},
		{Name: "sim-large", Caps: []string{"reasoning", "judge"}, Cost: 10},
	}
	agentVars := func() []space.Var {
		return []space.Var{
			space.ComponentChoice(space.LocalModel, models...),
			space.Float(space.LocalTemperature, 0, 1.2).WithStep(0.1),
			space.Int(space.LocalDemos, 0, 4),
		}
	}
	team := space.Team{
		Agents: []space.Agent{
			{ID: "a1", Role: "solver", Vars: agentVars()},
			{ID: "a2", Role: "solver", Optional: true, Vars: agentVars()},
			{ID: "critic", Role: "critic", Optional: true, Vars: []space.Var{
				space.ComponentChoice(space.LocalModel, models...).Fix("sim-large"), // not searched
				space.Const(space.LocalTemperature, 0.0),
			}},
		},
		Vars: []space.Var{
			space.Choice(space.TeamTopology, space.TopoChain, space.TopoStar, space.TopoMesh),
			space.Int(space.TeamRounds, 1, 3),
			space.Choice(space.TeamAggregation, space.AggMajority, space.AggSupermajority),
			space.Float("threshold", 0.5, 0.9).WithStep(0.05).When(space.TeamAggregation, space.AggSupermajority),
		},
		MinActive: 2,
		Constraints: []space.Constraint{
			space.RequireCapability(space.AgentVar("a1", space.LocalModel), "reasoning"),
		},
	}
	ts, err := team.Compile()
	if err != nil {
		panic(err)
	}
	s := ts.Space()
	fmt.Println("variables:", s.Len(), "encoded dims:", s.Dim())

	r := rand.New(rand.NewPCG(1, 2))
	a, err := s.Sample(r)
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Key())
	ta, err := ts.Decode(a)
	if err != nil {
		panic(err)
	}
	fmt.Println(ta)
	// Output:
	// variables: 15 encoded dims: 19
	// {"agent/a1/demos":3,"agent/a1/model":"sim-medium","agent/a1/temperature":1.0,"agent/a2/demos":1,"agent/a2/model":"sim-medium","agent/a2/temperature":0.0,"agent/critic/model":"sim-large","agent/critic/temperature":0.0,"team/active/a2":true,"team/active/critic":true,"team/aggregation":"supermajority","team/budget":"equal","team/rounds":1,"team/threshold":0.7,"team/topology":"chain"}
	// topology=chain rounds=1 aggregation=supermajority budget=equal
	// agent a1 (solver): demos=3 model=sim-medium temperature=1
	// agent a2 (solver): demos=1 model=sim-medium temperature=0
	// agent critic (critic): model=sim-large temperature=0
	// edges: a1->a2 (data), a2->critic (data)
	// extra: threshold=0.7
}

// Read the CLI's JSON space format, draw a seeded point, validate and
// encode it.
func ExampleParseJSON() {
	s, err := space.ParseJSON([]byte(`{
		"x": {"type": "float", "low": -5, "high": 10},
		"n": {"type": "int", "low": 1, "high": 8},
		"c": {"type": "choice", "choices": ["a", "b"], "weights": [3, 1]},
		"t": {"type": "float", "low": 0.5, "high": 1, "step": 0.1, "parent": "c", "in": ["a"]}
	}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Names(), "dims:", s.Dim())
	a, err := s.Sample(rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Key())
	fmt.Println(s.Validate(a) == nil, len(s.Encode(a)))

	a["x"] = 12.5
	fmt.Println(s.Validate(a))
	// Output:
	// [c n t x] dims: 5
	// {"c":"a","n":3,"t":0.9,"x":9.20820895366427}
	// true 5
	// space: variable "x": value 12.5 above high 10
}
