package team

import (
	"fmt"

	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/space"
)

// Materials are what an assignment's searched variables select from: the
// candidate instructions an "instruction" index picks, and the demo and rule
// pools whose first k entries a "demos" or "rules" count shows. Optimizers
// grow these pools (SIMBA adds demos and rules as it learns).
type Materials struct {
	// Instructions are candidate instructions by role; an integer
	// "instruction" variable indexes the agent's role's list. A string
	// "instruction" variable is the instruction text itself.
	Instructions map[string][]string
	// Demos and Rules are shared pools; an agent with demos=k shows the
	// first k demos. PerAgent overrides them for one agent id.
	Demos    []prompt.Demo
	Rules    []string
	PerAgent map[string]AgentMaterials
	// Defaults fills what the space does not set: Model ("" means
	// "sim-medium"), Temperature, MaxTokens, Kind.
	Defaults AgentSpec
}

// AgentMaterials are one agent's own demo and rule pools.
type AgentMaterials struct {
	Demos []prompt.Demo
	Rules []string
}

// DefaultModel is the model of an agent whose space and Materials name none.
const DefaultModel = "sim-medium"

// Extra team variables FromAssignment reads from TeamAssignment.Extra.
const (
	VarTokenBudget = "token_budget" // int >= 0: Spec.TokenBudget
	VarBidReserve  = "bid_reserve"  // float in [0, 1]: Spec.BidReserve
)

// FromAssignment turns a decoded point of a team space into a concrete Spec.
// Inactive agents are left out; the local variables of space.Local* fill the
// AgentSpec fields, "weight" sets Weight. The team's budget variable sets
// Spec.Budget, and the extra team variables VarTokenBudget and
// VarBidReserve set TokenBudget and BidReserve. Under judge aggregation
// with no active judge the team falls back to majority, so every point of
// a space is a runnable team. m may be nil.
func FromAssignment(ta space.TeamAssignment, m *Materials) (Spec, error) {
	if m == nil {
		m = &Materials{}
	}
	spec := Spec{Rounds: ta.Rounds, Aggregation: ta.Aggregation, Budget: ta.Budget}
	for name, v := range ta.Extra {
		var err error
		switch name {
		case VarTokenBudget:
			spec.TokenBudget, err = asInt(v)
		case VarBidReserve:
			spec.BidReserve, err = asFloat(v)
		}
		if err != nil {
			return Spec{}, fmt.Errorf("team: team variable %q: %w", name, err)
		}
	}
	for _, aa := range ta.Agents {
		if !aa.Active {
			continue
		}
		a := AgentSpec{ID: aa.ID, Role: aa.Role, Kind: m.Defaults.Kind, Model: m.Defaults.Model,
			Temperature: m.Defaults.Temperature, MaxTokens: m.Defaults.MaxTokens}
		if a.Model == "" {
			a.Model = DefaultModel
		}
		demos, rules := m.Demos, m.Rules
		if own, ok := m.PerAgent[aa.ID]; ok {
			demos, rules = own.Demos, own.Rules
		}
		for name, v := range aa.Values {
			var err error
			switch name {
			case space.LocalModel:
				a.Model, err = asString(v)
			case space.LocalTemperature:
				a.Temperature, err = asFloat(v)
			case space.LocalMaxTokens:
				a.MaxTokens, err = asInt(v)
			case "weight":
				var w float64
				if w, err = asFloat(v); err == nil {
					a.Weight = &w
				}
			case space.LocalInstruction:
				a.Instruction, err = pickInstruction(v, m.Instructions[roleOrSolver(aa.Role)])
			case space.LocalDemos:
				var k int
				if k, err = asInt(v); err == nil {
					a.Demos = demos[:min(max(k, 0), len(demos))]
				}
			case space.LocalRules:
				var k int
				if k, err = asInt(v); err == nil {
					a.Rules = rules[:min(max(k, 0), len(rules))]
				}
			}
			if err != nil {
				return Spec{}, fmt.Errorf("team: agent %q variable %q: %w", aa.ID, name, err)
			}
		}
		spec.Agents = append(spec.Agents, a)
	}
	spec.Edges = EdgesOf(ta.Edges)
	if spec.Aggregation == AggJudge && spec.judgeIndex() < 0 {
		spec.Aggregation = AggMajority
	}
	return spec, nil
}

// EdgesOf converts the edges of a coordination graph (space.Edge, with its
// type) into the team's message links: every type carries messages.
func EdgesOf(es []space.Edge) []Edge {
	if len(es) == 0 {
		return nil
	}
	out := make([]Edge, len(es))
	for i, e := range es {
		out[i] = Edge{From: e.From, To: e.To}
	}
	return out
}

func roleOrSolver(r string) string {
	if r == "" {
		return RoleSolver
	}
	return r
}

func pickInstruction(v any, cands []string) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int:
		if x < 0 || x >= len(cands) {
			return "", fmt.Errorf("instruction index %d outside the %d candidates", x, len(cands))
		}
		return cands[x], nil
	}
	return "", fmt.Errorf("instruction value %v is neither text nor an index", v)
}

func asString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("value %v (%T) is not a string", v, v)
}

func asFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case int:
		return float64(x), nil
	}
	return 0, fmt.Errorf("value %v (%T) is not a number", v, v)
}

func asInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case float64:
		if x == float64(int(x)) {
			return int(x), nil
		}
	}
	return 0, fmt.Errorf("value %v (%T) is not an integer", v, v)
}
