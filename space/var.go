package space

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Kind is the type of a variable.
type Kind uint8

// Kinds. The value a kind takes in an Assignment is given after the colon.
const (
	KindFloat     Kind = iota + 1 // float64 in [Low, High]
	KindInt                       // int in [Low, High]
	KindChoice                    // string, one of Choices
	KindBool                      // bool
	KindComponent                 // string, the Name of one of Components
	KindComposite                 // float64, int, string or bool computed by Compute; not searched
)

var kindNames = [...]string{"", "float", "int", "choice", "bool", "component", "composite"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Component is one option of a component variable: a named part (a model, a
// tool, a retriever) with the capabilities it offers and a cost, so that
// constraints can require a capability (RequireCapability) or cap a total
// cost (CostAtMost).
type Component struct {
	Name string   `json:"name" yaml:"name"`
	Caps []string `json:"caps,omitempty" yaml:"caps,omitempty"` // capability tags, e.g. "reasoning", "judge"
	Cost float64  `json:"cost,omitempty" yaml:"cost,omitempty"` // any non-negative unit, e.g. dollars per 1M tokens
}

// Has reports whether c offers capability cap.
func (c Component) Has(cap string) bool {
	for _, x := range c.Caps {
		if x == cap {
			return true
		}
	}
	return false
}

// Condition is one condition of a conditional variable: Parent is active
// and its value is one of In.
type Condition struct {
	Parent string
	In     []any
}

// Var is one variable of a space. Build it with Float, Int, Choice, Bool,
// ComponentChoice, Composite or Const and refine it with the With*, When and
// Fix methods, which return modified copies; or fill the fields directly.
type Var struct {
	Name string
	Kind Kind

	// Low and High bound a float or int variable, inclusive. Int bounds
	// must be integral.
	Low, High float64
	// Log samples and encodes a numeric variable on a log scale; it needs
	// Low > 0.
	Log bool
	// Step puts a numeric variable on the grid Low, Low+Step, ..., High;
	// it must divide High-Low. 0 means continuous for floats and 1 for ints.
	Step float64

	// Choices are the values of a choice variable.
	Choices []string
	// Components are the values of a component variable.
	Components []Component
	// Weights are relative sampling weights of the choices or components;
	// nil means uniform. They do not affect validation or encoding.
	Weights []float64

	// Compute derives a composite variable's value from the others. It sees
	// every other active variable (composites declared earlier included)
	// and must return a float64, int, string or bool.
	Compute func(Assignment) any

	// Conds make the variable conditional: it is active only when, for
	// every condition, the parent is active and takes one of the listed
	// values. Parents must be choice, component, bool or int variables. An
	// inactive variable has no value in an assignment. Build with When.
	Conds []Condition

	// Fixed, when not nil, pins the variable to this value: it is not
	// searched or encoded, but Sample and Decode still put it into the
	// assignment when the variable is active (so it can be a parent or be
	// read by constraints, and a decoded team sees it). A fixed component
	// keeps its capabilities for constraints.
	Fixed any
}

// Float is a float variable on [low, high].
func Float(name string, low, high float64) Var {
	return Var{Name: name, Kind: KindFloat, Low: low, High: high}
}

// Int is an int variable on [low, high].
func Int(name string, low, high int) Var {
	return Var{Name: name, Kind: KindInt, Low: float64(low), High: float64(high)}
}

// Choice is a variable that takes one of choices.
func Choice(name string, choices ...string) Var {
	return Var{Name: name, Kind: KindChoice, Choices: choices}
}

// Bool is a bool variable.
func Bool(name string) Var { return Var{Name: name, Kind: KindBool} }

// ComponentChoice is a variable that takes the name of one of comps.
func ComponentChoice(name string, comps ...Component) Var {
	return Var{Name: name, Kind: KindComponent, Components: comps}
}

// Composite is a variable computed from the others by f; it is not searched.
func Composite(name string, f func(Assignment) any) Var {
	return Var{Name: name, Kind: KindComposite, Compute: f}
}

// Const is a variable fixed to value, which must be a float64, int, string
// or bool (a float, int, one-choice or bool variable). To fix a component
// variable and keep its capabilities, use ComponentChoice(...).Fix(name).
func Const(name string, value any) Var {
	switch x := value.(type) {
	case float64:
		return Var{Name: name, Kind: KindFloat, Low: x, High: x, Fixed: x}
	case int:
		return Var{Name: name, Kind: KindInt, Low: float64(x), High: float64(x), Fixed: x}
	case string:
		return Var{Name: name, Kind: KindChoice, Choices: []string{x}, Fixed: x}
	case bool:
		return Var{Name: name, Kind: KindBool, Fixed: x}
	}
	return Var{Name: name, Fixed: value} // Kind 0: New reports ErrKind
}

// WithLog returns v on a log scale.
func (v Var) WithLog() Var { v.Log = true; return v }

// WithStep returns v on the grid Low, Low+step, ..., High.
func (v Var) WithStep(step float64) Var { v.Step = step; return v }

// WithWeights returns v with sampling weights for its choices or components.
func (v Var) WithWeights(w ...float64) Var { v.Weights = w; return v }

// When returns v with one more condition: active only when parent is active
// and takes one of values (and every earlier condition holds).
func (v Var) When(parent string, values ...any) Var {
	v.Conds = append(slices.Clip(v.Conds), Condition{Parent: parent, In: values})
	return v
}

// Fix returns v pinned to value (see Var.Fixed).
func (v Var) Fix(value any) Var { v.Fixed = value; return v }

// Searched reports whether v is searched: neither fixed nor composite.
func (v *Var) Searched() bool { return v.Fixed == nil && v.Kind != KindComposite }

// Conditional reports whether v has a condition.
func (v *Var) Conditional() bool { return len(v.Conds) > 0 }

// step returns the grid step of a numeric variable, 0 for continuous.
func (v *Var) step() float64 {
	if v.Kind == KindInt && v.Step == 0 {
		return 1
	}
	return v.Step
}

// levels returns the number of grid points of a stepped numeric variable.
func (v *Var) levels() int {
	st := v.step()
	if st == 0 {
		return 0
	}
	return int(math.Round(steps(v.High, v.Low, st))) + 1
}

// The numeric helpers below compute what their formula says also when a
// difference of bounds overflows: a range wider than the largest float64
// (e.g. [-1.7e308, 1.7e308]) has High-Low = +Inf. For ranges whose
// differences are finite they compute the formula as written, so results
// do not change.

// lerp returns lo + u*(hi-lo), for u in [0, 1].
func lerp(lo, hi, u float64) float64 {
	if d := hi - lo; !math.IsInf(d, 0) {
		return lo + u*d
	}
	return lo*(1-u) + hi*u // neither term can overflow
}

// unlerp returns (x-lo)/(hi-lo), the inverse of lerp.
func unlerp(x, lo, hi float64) float64 {
	if d, e := hi-lo, x-lo; !math.IsInf(d, 0) && !math.IsInf(e, 0) {
		return e / d
	}
	return (x/2 - lo/2) / (hi/2 - lo/2)
}

// steps returns (x-lo)/st, the number of steps st from lo to x.
func steps(x, lo, st float64) float64 {
	if e := x - lo; !math.IsInf(e, 0) {
		return e / st
	}
	return (x/2 - lo/2) / (st / 2)
}

// gridPoint returns lo + k*st.
func gridPoint(lo float64, k int, st float64) float64 {
	if p := float64(k) * st; !math.IsInf(p, 0) {
		return lo + p
	}
	return 2 * (lo/2 + float64(k)*(st/2))
}

// options returns the number of choices or components.
func (v *Var) options() int {
	if v.Kind == KindComponent {
		return len(v.Components)
	}
	return len(v.Choices)
}

// option returns the i-th choice or component name.
func (v *Var) option(i int) string {
	if v.Kind == KindComponent {
		return v.Components[i].Name
	}
	return v.Choices[i]
}

// optionIndex returns the index of name among the choices or components.
func (v *Var) optionIndex(name string) int {
	for i, n := 0, v.options(); i < n; i++ {
		if v.option(i) == name {
			return i
		}
	}
	return -1
}

// normalize converts numbers to the variable's value type: ints (and
// integral float64s) for int variables, float64 for float variables. It
// leaves anything it cannot convert unchanged for check to reject.
func normalize(k Kind, x any) any {
	var f float64
	switch n := x.(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	case float32:
		f = float64(n)
	case uint64:
		f = float64(n)
	default:
		return x
	}
	switch k {
	case KindFloat:
		return f
	case KindInt:
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int(f)
		}
	}
	return x
}

// check reports whether x is a valid value of v (ignoring Fixed and
// conditions) as a rule sentinel and a detail message.
func (v *Var) check(x any) (string, error) {
	switch v.Kind {
	case KindFloat:
		f, ok := x.(float64)
		if !ok {
			return fmt.Sprintf("value %v is a %s, want float64", fmtValue(x), typeName(x)), ErrType
		}
		return v.checkNum(f)
	case KindInt:
		n, ok := x.(int)
		if !ok {
			return fmt.Sprintf("value %v is a %s, want int", fmtValue(x), typeName(x)), ErrType
		}
		return v.checkNum(float64(n))
	case KindChoice, KindComponent:
		s, ok := x.(string)
		if !ok {
			return fmt.Sprintf("value %v is a %s, want string", fmtValue(x), typeName(x)), ErrType
		}
		if v.optionIndex(s) < 0 {
			what := "choices"
			if v.Kind == KindComponent {
				what = "components"
			}
			return fmt.Sprintf("value %q not among %s %v", s, what, v.optionNames()), ErrNotChoice
		}
	case KindBool:
		if _, ok := x.(bool); !ok {
			return fmt.Sprintf("value %v is a %s, want bool", fmtValue(x), typeName(x)), ErrType
		}
	case KindComposite:
		switch x.(type) {
		case float64, int, string, bool:
		default:
			return fmt.Sprintf("value %v is a %s, want float64, int, string or bool", fmtValue(x), typeName(x)), ErrComposite
		}
	}
	return "", nil
}

func (v *Var) checkNum(f float64) (string, error) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return fmt.Sprintf("value %g not finite", f), ErrRange
	case f < v.Low:
		return fmt.Sprintf("value %s below low %s", fmtFloat(f), fmtFloat(v.Low)), ErrRange
	case f > v.High:
		return fmt.Sprintf("value %s above high %s", fmtFloat(f), fmtFloat(v.High)), ErrRange
	}
	if st := v.step(); st != 0 {
		k := (f - v.Low) / st
		if math.Abs(k-math.Round(k)) > 1e-9*math.Max(1, math.Abs(k)) {
			return fmt.Sprintf("value %s off the grid %s + k*%s", fmtFloat(f), fmtFloat(v.Low), fmtFloat(st)), ErrRange
		}
	}
	return "", nil
}

func (v *Var) optionNames() []string {
	if v.Kind != KindComponent {
		return v.Choices
	}
	out := make([]string, len(v.Components))
	for i, c := range v.Components {
		out[i] = c.Name
	}
	return out
}

func typeName(x any) string {
	if x == nil {
		return "nil"
	}
	return fmt.Sprintf("%T", x)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// fmtValue formats a value for messages: strings quoted, floats shortest.
func fmtValue(x any) string {
	switch y := x.(type) {
	case string:
		return strconv.Quote(y)
	case float64:
		return fmtFloat(y)
	}
	return fmt.Sprint(x)
}

// equal compares two assignment values.
func equal(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case int, string, bool:
		return a == b
	}
	return false
}
