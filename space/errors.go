package space

import (
	"errors"
	"strconv"
)

// Error classes. Every error this package returns for a bad space definition
// matches ErrInvalidSpace; every error for a bad assignment (including a
// violated constraint) matches ErrInvalidAssignment.
var (
	ErrInvalidSpace      = errors.New("space: invalid space")
	ErrInvalidAssignment = errors.New("space: invalid assignment")
)

// Rules, matched with errors.Is. A *VarError's Rule is one of these. The
// first group is mostly about definitions, the second about assignments;
// the class sentinels tell which an error is.
var (
	// Definition rules.
	ErrName      = errors.New("space: bad name")            // empty name or id, or a reserved character
	ErrDuplicate = errors.New("space: duplicate name")      // two variables, choices, components, agents or JSON keys with one name
	ErrKind      = errors.New("space: bad kind")            // unknown kind, or a field the kind does not use
	ErrBounds    = errors.New("space: bad bounds")          // low > high, non-finite, non-integral int bounds, bad team size bounds
	ErrLog       = errors.New("space: bad log scale")       // log scale with low <= 0
	ErrStep      = errors.New("space: bad step")            // step <= 0, or it does not divide high-low
	ErrChoices   = errors.New("space: bad choices")         // no choices, components or agents; negative component cost
	ErrWeights   = errors.New("space: bad weights")         // wrong length, negative, non-finite or all zero
	ErrParent    = errors.New("space: bad parent")          // unknown parent, parent of a kind that cannot condition, bad parent values, conditional team variable
	ErrCycle     = errors.New("space: conditional cycle")   // a variable is (transitively) its own parent
	ErrFormat    = errors.New("space: bad format")          // malformed JSON space or assignment
	ErrGraph     = errors.New("space: bad graph")           // unknown agent or topology, self loop, duplicate edge, explicit topology without edges
	ErrFixed     = errors.New("space: bad fixed value")     // fixed value invalid, or an assignment disagrees with it
	ErrComposite = errors.New("space: bad composite value") // composite missing its function, returning a bad type, or disagreeing

	// Assignment rules.
	ErrUnknown       = errors.New("space: unknown variable")            // a name the space does not have (in an assignment or a constraint)
	ErrMissing       = errors.New("space: missing value")               // an active variable has no value
	ErrRange         = errors.New("space: value out of range")          // below low, above high, off the step grid, not finite
	ErrNotChoice     = errors.New("space: value not a choice")          // not one of the choices or components; unknown topology, aggregation or budget
	ErrType          = errors.New("space: wrong value type")            // e.g. a string for a float variable
	ErrInactive      = errors.New("space: value for inactive variable") // present although its condition does not hold
	ErrConstraint    = errors.New("space: constraint violated")         // a *ConstraintError
	ErrUnsatisfiable = errors.New("space: constraints unsatisfiable")   // Sample gave up (no class: the space may be fine, only too constrained)
)

// VarError is a broken rule about one variable, in a space definition or in
// an assignment. errors.Is matches its Rule and its class (ErrInvalidSpace or
// ErrInvalidAssignment).
type VarError struct {
	Var    string // the variable's name (flat name for team spaces)
	Rule   error  // one of the rule sentinels, e.g. ErrRange
	Detail string // what is wrong, e.g. "value 3.5 above high 2"

	class error
}

func (e *VarError) Error() string {
	return "space: variable " + strconv.Quote(e.Var) + ": " + e.Detail
}

// Is reports whether target is e's rule or class.
func (e *VarError) Is(target error) bool {
	return target == e.Rule || (target == e.class && target != nil)
}

// Unwrap returns the rule.
func (e *VarError) Unwrap() error { return e.Rule }

// ConstraintError is a violated cross-variable constraint. It matches
// ErrConstraint and ErrInvalidAssignment.
type ConstraintError struct {
	Name    string // the constraint's name
	Message string // the constraint's message, e.g. "at least 2 of [...] must be true"
}

func (e *ConstraintError) Error() string {
	return "space: constraint " + strconv.Quote(e.Name) + ": " + e.Message
}

// Is reports whether target is ErrConstraint or ErrInvalidAssignment.
func (e *ConstraintError) Is(target error) bool {
	return target == ErrConstraint || target == ErrInvalidAssignment
}

// ruleError is an error about something other than one variable (an agent,
// an edge, a whole JSON document); it matches its rule and class.
type ruleError struct {
	msg   string
	rule  error
	class error
}

func (e *ruleError) Error() string { return e.msg }
func (e *ruleError) Is(target error) bool {
	return target == e.rule || (target == e.class && target != nil)
}

func defErr(name string, rule error, detail string) error {
	return &VarError{Var: name, Rule: rule, Detail: detail, class: ErrInvalidSpace}
}

func valErr(name string, rule error, detail string) error {
	return &VarError{Var: name, Rule: rule, Detail: detail, class: ErrInvalidAssignment}
}
