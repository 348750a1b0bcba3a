package team

import (
	"fmt"
	"slices"
	"sync"

	"github.com/mabeam/mabeam/lm"
)

// Role is a registered agent role. The role's name is shown to the model in
// the system message; DefaultInstruction is used when an agent's
// Instruction is empty.
type Role struct {
	// DefaultInstruction is the instruction of agents that set none.
	DefaultInstruction string
	// Description is a one-line summary for listings; optional.
	Description string
}

// Kind builds an Agent of one kind from its spec. model is the team's
// model, passed to every kind (a kind that does not call a model ignores
// it). New is called once per agent by team.New, never during Run.
type Kind interface {
	New(spec AgentSpec, model lm.Model) (Agent, error)
}

// KindFunc adapts a function to the Kind interface.
type KindFunc func(spec AgentSpec, model lm.Model) (Agent, error)

// New calls f.
func (f KindFunc) New(spec AgentSpec, model lm.Model) (Agent, error) { return f(spec, model) }

// Built-in role names.
const (
	RoleSolver  = "solver"
	RoleCritic  = "critic"
	RoleJudge   = "judge"
	RolePlanner = "planner"
)

// KindLM is the built-in agent kind: it renders the prompt with lm/prompt,
// calls the team's lm.Model and parses the reply with prompt.ParseAnswer.
const KindLM = "lm"

// The registries map names to roles and kinds. They are written by
// RegisterRole and RegisterKind (normally at init) and read by New and
// Validate, possibly concurrently, hence the lock.
var (
	regMu sync.RWMutex // protects roles and kinds
	roles = map[string]Role{
		RoleSolver: {
			DefaultInstruction: "Solve the problem step by step and give the final answer.",
			Description:        "answers the question on its own, then revises it after reading its peers",
		},
		RoleCritic: {
			DefaultInstruction: "Check each peer's answer against the question; if one is wrong, give the corrected final answer.",
			Description:        "checks its peers' answers for mistakes and corrects them",
		},
		RoleJudge: {
			DefaultInstruction: "Compare the candidate answers from your peers, verify the most plausible ones against the question, and give the single best final answer.",
			Description:        "picks the team answer from the other agents' final answers",
		},
		RolePlanner: {
			DefaultInstruction: "Break the problem into small numbered steps, solve each step in order, check the result, and give the final answer.",
			Description:        "plans the solution as explicit steps before answering",
		},
	}
	kinds = map[string]Kind{KindLM: KindFunc(newLMAgent)}
)

// RegisterRole makes a role available by name. It panics if name is empty
// or already registered, as database/sql's Register does.
func RegisterRole(name string, r Role) {
	regMu.Lock()
	defer regMu.Unlock()
	if name == "" {
		panic("team: RegisterRole called with an empty name")
	}
	if _, dup := roles[name]; dup {
		panic("team: RegisterRole called twice for role " + name)
	}
	roles[name] = r
}

// LookupRole returns the role registered under name.
func LookupRole(name string) (Role, error) {
	regMu.RLock()
	r, ok := roles[name]
	regMu.RUnlock()
	if !ok {
		return Role{}, fmt.Errorf("%w %q (known: %v)", ErrUnknownRole, name, RoleNames())
	}
	return r, nil
}

// RoleNames lists the registered roles in sorted order.
func RoleNames() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(roles))
	for n := range roles {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// RegisterKind makes an agent kind available by name. It panics if name is
// empty, k is nil, or name is already registered.
func RegisterKind(name string, k Kind) {
	regMu.Lock()
	defer regMu.Unlock()
	if name == "" || k == nil {
		panic("team: RegisterKind called with an empty name or a nil Kind")
	}
	if _, dup := kinds[name]; dup {
		panic("team: RegisterKind called twice for kind " + name)
	}
	kinds[name] = k
}

// LookupKind returns the kind registered under name; "" means KindLM.
func LookupKind(name string) (Kind, error) {
	if name == "" {
		name = KindLM
	}
	regMu.RLock()
	k, ok := kinds[name]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownKind, name, KindNames())
	}
	return k, nil
}

// KindNames lists the registered agent kinds in sorted order.
func KindNames() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(kinds))
	for n := range kinds {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
