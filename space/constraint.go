package space

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Constraint is a named predicate over a whole assignment. Validate reports
// the first violated constraint as a *ConstraintError; Sample redraws until
// every constraint holds. Predicates see the complete assignment (fixed and
// composite values included, inactive variables absent), so they should
// treat a missing value as "not applicable": the typed getters of Assignment
// return zero values for missing names.
type Constraint struct {
	// Name identifies the constraint in errors; it must be unique in a space.
	Name string
	// Message says what the constraint requires, e.g. "rounds <= 2 when
	// topology is mesh"; "" means "violated".
	Message string
	// Vars optionally lists the variables Pred reads; Constrain checks that
	// they exist.
	Vars []string
	// Pred reports whether a satisfies the constraint.
	Pred func(a Assignment) bool

	check func(s *Space, a Assignment) bool // built-ins that need the space
	kinds []Kind                            // kinds Vars must have, nil for any
}

func (c *Constraint) message() string {
	if c.Message == "" {
		return "violated"
	}
	return c.Message
}

func (c *Constraint) holds(s *Space, a Assignment) bool {
	if c.check != nil {
		return c.check(s, a)
	}
	return c.Pred(a)
}

// Constrain adds constraints to s. It checks that each has a unique name, a
// predicate, and known variables of the right kinds.
func (s *Space) Constrain(cs ...Constraint) error {
	for _, c := range cs {
		bad := func(rule error, detail string) error {
			return &ruleError{msg: "space: constraint " + strconv.Quote(c.Name) + ": " + detail, rule: rule, class: ErrInvalidSpace}
		}
		switch {
		case c.Name == "":
			return bad(ErrName, "empty name")
		case c.Pred == nil && c.check == nil:
			return bad(ErrKind, "no predicate")
		}
		for _, d := range s.cons {
			if d.Name == c.Name {
				return bad(ErrDuplicate, "duplicate constraint name")
			}
		}
		for _, name := range c.Vars {
			i, ok := s.index[name]
			if !ok {
				return bad(ErrUnknown, "unknown variable "+strconv.Quote(name))
			}
			if k := s.vars[i].Kind; c.kinds != nil && !slices.Contains(c.kinds, k) {
				return bad(ErrKind, fmt.Sprintf("variable %q is a %s variable; want %s", name, k, kindList(c.kinds)))
			}
		}
		c.Vars = slices.Clone(c.Vars)
		s.cons = append(s.cons, c)
	}
	return nil
}

// violated returns the index of the first constraint a violates, or -1.
func (s *Space) violated(a Assignment) int {
	for k := range s.cons {
		if !s.cons[k].holds(s, a) {
			return k
		}
	}
	return -1
}

func kindList(ks []Kind) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = k.String()
	}
	return strings.Join(parts, " or ")
}

// AtLeast requires at least n of the bool variables to be true; inactive
// ones count as false.
func AtLeast(n int, bools ...string) Constraint {
	bools = slices.Clone(bools)
	return Constraint{
		Name:    fmt.Sprintf("at-least-%d(%s)", n, strings.Join(bools, ",")),
		Message: fmt.Sprintf("at least %d of [%s] must be true", n, strings.Join(bools, " ")),
		Vars:    bools,
		Pred:    func(a Assignment) bool { return countTrue(a, bools) >= n },
		kinds:   []Kind{KindBool, KindComposite},
	}
}

// AtMost requires at most n of the bool variables to be true; inactive ones
// count as false.
func AtMost(n int, bools ...string) Constraint {
	bools = slices.Clone(bools)
	return Constraint{
		Name:    fmt.Sprintf("at-most-%d(%s)", n, strings.Join(bools, ",")),
		Message: fmt.Sprintf("at most %d of [%s] must be true", n, strings.Join(bools, " ")),
		Vars:    bools,
		Pred:    func(a Assignment) bool { return countTrue(a, bools) <= n },
		kinds:   []Kind{KindBool, KindComposite},
	}
}

func countTrue(a Assignment, bools []string) int {
	n := 0
	for _, b := range bools {
		if a.Bool(b) {
			n++
		}
	}
	return n
}

// LessEq requires the numeric variable x to be at most y. It holds when
// either is inactive.
func LessEq(x, y string) Constraint {
	return Constraint{
		Name:    x + "<=" + y,
		Message: fmt.Sprintf("%q must be <= %q", x, y),
		Vars:    []string{x, y},
		Pred: func(a Assignment) bool {
			if !a.Has(x) || !a.Has(y) {
				return true
			}
			return a.Float(x) <= a.Float(y)
		},
		kinds: []Kind{KindFloat, KindInt, KindComposite},
	}
}

// RequireCapability requires the component chosen for the component
// variable name to have capability cap. It holds when name is inactive.
func RequireCapability(name, cap string) Constraint {
	return Constraint{
		Name:    name + " has " + cap,
		Message: fmt.Sprintf("the component of %q must have capability %q", name, cap),
		Vars:    []string{name},
		check: func(s *Space, a Assignment) bool {
			if !a.Has(name) {
				return true
			}
			c, ok := s.Component(name, a)
			return ok && c.Has(cap)
		},
		kinds: []Kind{KindComponent},
	}
}

// CostAtMost requires the summed Cost of the components chosen for the
// component variables names to be at most limit; inactive ones cost nothing.
func CostAtMost(limit float64, names ...string) Constraint {
	names = slices.Clone(names)
	return Constraint{
		Name:    fmt.Sprintf("cost(%s)<=%g", strings.Join(names, ","), limit),
		Message: fmt.Sprintf("the summed cost of [%s] must be <= %g", strings.Join(names, " "), limit),
		Vars:    names,
		check: func(s *Space, a Assignment) bool {
			sum := 0.0
			for _, n := range names {
				if !a.Has(n) {
					continue
				}
				if c, ok := s.Component(n, a); ok {
					sum += c.Cost
				}
			}
			return sum <= limit
		},
		kinds: []Kind{KindComponent},
	}
}
