package team

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrInvalidSpec reports a Spec that fails validation; the error is a
	// *SpecError naming the agent or field.
	ErrInvalidSpec = errors.New("team: invalid spec")
	// ErrUnknownKind reports an agent kind that is not registered.
	ErrUnknownKind = errors.New("team: unknown agent kind")
	// ErrUnknownRole reports a role that is not registered.
	ErrUnknownRole = errors.New("team: unknown role")
)

// SpecError is a validation failure of a Spec. errors.Is(err,
// ErrInvalidSpec) holds for every *SpecError.
type SpecError struct {
	// Field is the offending field as a Go selector, e.g. "Agents[2].Role",
	// "Edges[0].To" or "Threshold".
	Field string
	// Agent is the id of the agent concerned, "" if none.
	Agent string
	// Msg says what is wrong.
	Msg string
	// Err is an underlying cause such as ErrUnknownRole; may be nil.
	Err error
}

func (e *SpecError) Error() string {
	s := "team: invalid spec: " + e.Field
	if e.Agent != "" {
		s += " (agent " + strconv.Quote(e.Agent) + ")"
	}
	return s + ": " + e.Msg
}

// Is reports whether target is ErrInvalidSpec.
func (e *SpecError) Is(target error) bool { return target == ErrInvalidSpec }

// Unwrap returns the underlying cause.
func (e *SpecError) Unwrap() error { return e.Err }

// CallError is a failed agent call during Run. It wraps the agent's error,
// so errors.Is(err, lm.ErrRateLimited) still works on it.
type CallError struct {
	Agent string // the agent id
	Round int    // 0..Rounds; Rounds+1 for the judge's call
	Err   error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("team: agent %q round %d: %v", e.Agent, e.Round, e.Err)
}

// Unwrap returns the agent's error.
func (e *CallError) Unwrap() error { return e.Err }
