package space

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Space is a validated, ordered set of variables plus cross-variable
// constraints. Build it with New (or ParseJSON, or Team.Compile); it is safe
// for concurrent use once built, as long as Constrain and SetMaxTries are not
// called concurrently with other methods.
type Space struct {
	vars  []Var
	info  []varInfo
	index map[string]int
	order []int // non-composite variables, every parent before its children
	comps []int // composite variables in declaration order

	cons     []Constraint
	maxTries int
	enc      *Encoder // default encoding
}

// varInfo is what New precomputes about one variable.
type varInfo struct {
	parents []int     // index of each condition's parent
	cum     []float64 // cumulative sampling weights, nil for uniform
	levels  int       // grid points of a stepped numeric variable, 0 if continuous
	// lo and hi are the encoding range: log-bounds for log variables, the
	// bounds padded by half a step for linear stepped ones.
	lo, hi float64
	// scale is 10^d for the fewest decimals d (up to 15) that write both
	// Low and Step exactly, so grid points are rounded to the decimal they
	// stand for (0.3, not 0.30000000000000004); 0 if there is none.
	scale float64
}

// grid returns the k-th grid point of numeric variable v, as its value type.
func (in *varInfo) grid(v *Var, k int) any {
	x := gridPoint(v.Low, k, v.step())
	if v.Kind == KindInt {
		return int(math.Round(x))
	}
	if in.scale != 0 {
		if m := math.Round(x * in.scale); math.Abs(m) < 1<<53 {
			x = m / in.scale
		}
	}
	return math.Max(v.Low, math.Min(v.High, x))
}

// snap returns the grid point nearest to x, or x clamped to the bounds for
// a continuous variable, as v's value type.
func (in *varInfo) snap(v *Var, x float64) any {
	if st := v.step(); st != 0 {
		k := int(math.Round(steps(x, v.Low, st)))
		return in.grid(v, max(0, min(k, in.levels-1)))
	}
	return math.Max(v.Low, math.Min(v.High, x))
}

// decimals returns the fewest decimals (up to 15) that write x exactly, or
// -1.
func decimals(x float64) int {
	for d := 0; d <= 15; d++ {
		if f, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', d, 64), 64); err == nil && f == x {
			return d
		}
	}
	return -1
}

// DefaultMaxTries is how many candidates Sample draws before it reports
// ErrUnsatisfiable; see SetMaxTries.
const DefaultMaxTries = 1000

// New validates vars and returns the space over them, in the given order.
// Parents may be declared after their children. The error is a *VarError
// naming the first offending variable.
func New(vars ...Var) (*Space, error) {
	s := &Space{
		vars:     make([]Var, len(vars)),
		info:     make([]varInfo, len(vars)),
		index:    make(map[string]int, len(vars)),
		maxTries: DefaultMaxTries,
	}
	for i, v := range vars {
		v.Choices = slices.Clone(v.Choices)
		v.Components = slices.Clone(v.Components)
		v.Weights = slices.Clone(v.Weights)
		v.Conds = slices.Clone(v.Conds)
		for k := range v.Conds {
			v.Conds[k].In = slices.Clone(v.Conds[k].In)
		}
		if err := checkVar(&v); err != nil {
			return nil, err
		}
		if _, dup := s.index[v.Name]; dup {
			return nil, defErr(v.Name, ErrDuplicate, "duplicate variable name")
		}
		s.index[v.Name] = i
		s.vars[i] = v
	}
	for i := range s.vars {
		if err := s.checkConds(i); err != nil {
			return nil, err
		}
	}
	for i := range s.vars {
		s.info[i] = s.makeInfo(i)
	}
	if err := s.sortVars(); err != nil {
		return nil, err
	}
	s.enc = s.Encoder(Encoding{})
	return s, nil
}

// MustNew is New that panics on error, for spaces fixed in code.
func MustNew(vars ...Var) *Space {
	s, err := New(vars...)
	if err != nil {
		panic(err)
	}
	return s
}

// checkVar validates one variable on its own and normalizes its Fixed value.
func checkVar(v *Var) error {
	if v.Name == "" {
		return defErr(v.Name, ErrName, "empty name")
	}
	numeric := v.Kind == KindFloat || v.Kind == KindInt
	categorical := v.Kind == KindChoice || v.Kind == KindComponent
	switch {
	case v.Kind < KindFloat || v.Kind > KindComposite:
		return defErr(v.Name, ErrKind, "unknown kind "+v.Kind.String())
	case !numeric && (v.Low != 0 || v.High != 0 || v.Log || v.Step != 0):
		return defErr(v.Name, ErrKind, v.Kind.String()+" variable has bounds, log or step")
	case v.Kind != KindChoice && len(v.Choices) > 0:
		return defErr(v.Name, ErrKind, v.Kind.String()+" variable has choices")
	case v.Kind != KindComponent && len(v.Components) > 0:
		return defErr(v.Name, ErrKind, v.Kind.String()+" variable has components")
	case !categorical && v.Weights != nil:
		return defErr(v.Name, ErrKind, v.Kind.String()+" variable has weights")
	case v.Kind != KindComposite && v.Compute != nil:
		return defErr(v.Name, ErrKind, v.Kind.String()+" variable has a Compute function")
	}
	switch v.Kind {
	case KindFloat, KindInt:
		if err := checkNumeric(v); err != nil {
			return err
		}
	case KindChoice:
		if len(v.Choices) == 0 {
			return defErr(v.Name, ErrChoices, "no choices")
		}
		seen := make(map[string]bool, len(v.Choices))
		for _, c := range v.Choices {
			if seen[c] {
				return defErr(v.Name, ErrDuplicate, "duplicate choice "+strconv.Quote(c))
			}
			seen[c] = true
		}
	case KindComponent:
		if len(v.Components) == 0 {
			return defErr(v.Name, ErrChoices, "no components")
		}
		seen := make(map[string]bool, len(v.Components))
		for _, c := range v.Components {
			switch {
			case c.Name == "":
				return defErr(v.Name, ErrName, "component with empty name")
			case seen[c.Name]:
				return defErr(v.Name, ErrDuplicate, "duplicate component "+strconv.Quote(c.Name))
			case !(c.Cost >= 0) || math.IsInf(c.Cost, 0):
				return defErr(v.Name, ErrChoices, fmt.Sprintf("component %q: cost %g is negative or not finite", c.Name, c.Cost))
			}
			seen[c.Name] = true
		}
	case KindComposite:
		if v.Compute == nil {
			return defErr(v.Name, ErrComposite, "composite variable without a Compute function")
		}
		if v.Fixed != nil {
			return defErr(v.Name, ErrFixed, "composite variable cannot be fixed")
		}
	}
	if categorical && v.Weights != nil {
		if len(v.Weights) != v.options() {
			return defErr(v.Name, ErrWeights, fmt.Sprintf("%d weights for %d options", len(v.Weights), v.options()))
		}
		sum := 0.0
		for i, w := range v.Weights {
			if !(w >= 0) || math.IsInf(w, 0) {
				return defErr(v.Name, ErrWeights, fmt.Sprintf("weight %g of %q is negative or not finite", w, v.option(i)))
			}
			sum += w
		}
		if sum == 0 {
			return defErr(v.Name, ErrWeights, "all weights are zero")
		}
	}
	if v.Fixed != nil {
		v.Fixed = normalize(v.Kind, v.Fixed)
		if detail, rule := v.check(v.Fixed); rule != nil {
			return defErr(v.Name, ErrFixed, "fixed "+detail)
		}
	}
	return nil
}

func checkNumeric(v *Var) error {
	lo, hi := fmtFloat(v.Low), fmtFloat(v.High)
	switch {
	case math.IsNaN(v.Low) || math.IsNaN(v.High) || math.IsInf(v.Low, 0) || math.IsInf(v.High, 0):
		return defErr(v.Name, ErrBounds, fmt.Sprintf("bounds [%s, %s] not finite", lo, hi))
	case v.Low > v.High:
		return defErr(v.Name, ErrBounds, fmt.Sprintf("low %s above high %s", lo, hi))
	case v.Kind == KindInt && (v.Low != math.Trunc(v.Low) || v.High != math.Trunc(v.High)):
		return defErr(v.Name, ErrBounds, fmt.Sprintf("int bounds [%s, %s] not integral", lo, hi))
	case v.Kind == KindInt && (math.Abs(v.Low) >= 1<<53 || math.Abs(v.High) >= 1<<53):
		return defErr(v.Name, ErrBounds, fmt.Sprintf("int bounds [%s, %s] too large", lo, hi))
	case v.Log && v.Low <= 0:
		return defErr(v.Name, ErrLog, fmt.Sprintf("log scale needs low > 0, have %s", lo))
	case !(v.Step >= 0) || math.IsInf(v.Step, 0):
		return defErr(v.Name, ErrStep, fmt.Sprintf("step %s is negative or not finite", fmtFloat(v.Step)))
	case v.Kind == KindInt && v.Step != math.Trunc(v.Step):
		return defErr(v.Name, ErrStep, fmt.Sprintf("int step %s not integral", fmtFloat(v.Step)))
	}
	if st := v.step(); st > 0 {
		k := steps(v.High, v.Low, st)
		if math.Abs(k-math.Round(k)) > 1e-9*math.Max(1, k) {
			return defErr(v.Name, ErrStep, fmt.Sprintf("step %s does not divide high-low %s", fmtFloat(st), fmtFloat(v.High-v.Low)))
		}
		if k > 1<<31 {
			return defErr(v.Name, ErrStep, fmt.Sprintf("step %s makes more than 2^31 grid points", fmtFloat(st)))
		}
	}
	return nil
}

// checkConds validates variable i's conditions and normalizes their values.
func (s *Space) checkConds(i int) error {
	v := &s.vars[i]
	for c := range v.Conds {
		cond := &v.Conds[c]
		j, ok := s.index[cond.Parent]
		switch {
		case cond.Parent == "":
			return defErr(v.Name, ErrParent, "condition without a parent")
		case !ok:
			return defErr(v.Name, ErrParent, "unknown parent "+strconv.Quote(cond.Parent))
		case j == i:
			return defErr(v.Name, ErrCycle, "variable is its own parent")
		}
		p := &s.vars[j]
		switch p.Kind {
		case KindChoice, KindComponent, KindBool, KindInt:
		default:
			return defErr(v.Name, ErrParent, fmt.Sprintf("parent %q is a %s variable; want choice, component, bool or int", p.Name, p.Kind))
		}
		if len(cond.In) == 0 {
			return defErr(v.Name, ErrParent, fmt.Sprintf("no values of parent %q given", p.Name))
		}
		for k, x := range cond.In {
			x = normalize(p.Kind, x)
			if detail, rule := p.check(x); rule != nil {
				return defErr(v.Name, ErrParent, fmt.Sprintf("parent %q: %s", p.Name, detail))
			}
			cond.In[k] = x
		}
	}
	return nil
}

// sortVars fills s.order (parents before children, otherwise declaration
// order) and s.comps, and reports a conditional cycle naming the first
// variable (in declaration order) on it.
func (s *Space) sortVars() error {
	const (
		unseen = iota
		open
		done
	)
	state := make([]int, len(s.vars))
	var stack []int
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case done:
			return nil
		case open:
			// members is the cycle, each the child of the next and the last
			// the child of the first; start at the one declared first.
			members := stack[slices.Index(stack, i):]
			first := slices.Index(members, slices.Min(members))
			cyc := append(slices.Clone(members[first:]), members[:first]...)
			cyc = append(cyc, cyc[0])
			names := make([]string, len(cyc))
			for n, j := range cyc {
				names[n] = s.vars[j].Name
			}
			return defErr(names[0], ErrCycle, "conditional cycle "+strings.Join(names, " -> "))
		}
		state[i] = open
		stack = append(stack, i)
		for _, p := range s.info[i].parents {
			if err := visit(p); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		if s.vars[i].Kind != KindComposite {
			s.order = append(s.order, i)
		}
		return nil
	}
	for i := range s.vars {
		if err := visit(i); err != nil {
			return err
		}
		if s.vars[i].Kind == KindComposite {
			s.comps = append(s.comps, i)
		}
	}
	return nil
}

func (s *Space) makeInfo(i int) varInfo {
	v := &s.vars[i]
	in := varInfo{}
	for _, c := range v.Conds {
		in.parents = append(in.parents, s.index[c.Parent])
	}
	if v.Weights != nil {
		in.cum = make([]float64, len(v.Weights))
		sum := 0.0
		for k, w := range v.Weights {
			sum += w
			in.cum[k] = sum
		}
	}
	if v.Kind == KindFloat || v.Kind == KindInt {
		in.levels = v.levels()
		if v.Kind == KindFloat && v.Step != 0 {
			if d1, d2 := decimals(v.Low), decimals(v.Step); d1 >= 0 && d2 >= 0 {
				in.scale = math.Pow10(max(d1, d2))
			}
		}
		switch st := v.step(); {
		case v.Log:
			in.lo, in.hi = math.Log(v.Low), math.Log(v.High)
		case st != 0:
			in.lo, in.hi = v.Low-st/2, v.High+st/2
		default:
			in.lo, in.hi = v.Low, v.High
		}
	}
	return in
}

// SetMaxTries sets how many candidates Sample draws before it gives up;
// n < 1 means DefaultMaxTries.
func (s *Space) SetMaxTries(n int) {
	if n < 1 {
		n = DefaultMaxTries
	}
	s.maxTries = n
}

// Len is the number of variables.
func (s *Space) Len() int { return len(s.vars) }

// Vars returns the variables in declaration order. The slice is a copy, but
// its elements share their slices with the space: do not modify them.
func (s *Space) Vars() []Var { return slices.Clone(s.vars) }

// Names returns the variable names in declaration order.
func (s *Space) Names() []string {
	out := make([]string, len(s.vars))
	for i := range s.vars {
		out[i] = s.vars[i].Name
	}
	return out
}

// Var returns the variable called name.
func (s *Space) Var(name string) (Var, bool) {
	i, ok := s.index[name]
	if !ok {
		return Var{}, false
	}
	return s.vars[i], true
}

// Constraints returns the constraints in the order they were added.
func (s *Space) Constraints() []Constraint { return slices.Clone(s.cons) }

// Component returns the component that the component variable name takes in
// a; ok is false if name is not a component variable or has no valid value.
func (s *Space) Component(name string, a Assignment) (c Component, ok bool) {
	i, found := s.index[name]
	if !found || s.vars[i].Kind != KindComponent {
		return Component{}, false
	}
	v := &s.vars[i]
	x, present := a[name]
	if !present {
		x = v.Fixed
	}
	str, _ := x.(string)
	if k := v.optionIndex(str); k >= 0 {
		return v.Components[k], true
	}
	return Component{}, false
}

// active reports whether variable i's conditions hold in a, whose parent
// values must already be final.
func (s *Space) active(i int, a Assignment) bool { return s.failed(i, a) < 0 }

// failed returns the index of the first condition of variable i that does
// not hold in a, or -1.
func (s *Space) failed(i int, a Assignment) int {
	for c, p := range s.info[i].parents {
		x, ok := a[s.vars[p].Name]
		if !ok || !slices.ContainsFunc(s.vars[i].Conds[c].In, func(y any) bool { return equal(x, y) }) {
			return c
		}
	}
	return -1
}

// Active reports whether variable name is active in a: it exists and for
// each of its conditions the parent is active and takes one of the listed
// values. Fixed parent values count even when absent from a.
func (s *Space) Active(name string, a Assignment) bool {
	i, ok := s.index[name]
	if !ok {
		return false
	}
	full, _ := s.resolve(a, false)
	return s.active(i, full)
}

// Validate checks that a is a valid point of the space: no unknown names,
// every active searched variable present with a valid value, no inactive
// variable present, fixed and composite values (which may be absent) equal
// to what they must be, and every constraint satisfied. The error is a
// *VarError or a *ConstraintError.
func (s *Space) Validate(a Assignment) error {
	full, err := s.resolve(a, true)
	if err != nil {
		return err
	}
	if k := s.violated(full); k >= 0 {
		c := &s.cons[k]
		return &ConstraintError{Name: c.Name, Message: c.message()}
	}
	return nil
}

// Complete returns a copy of a with the values of active fixed and composite
// variables filled in and the values of inactive variables removed. It does
// not otherwise check a. Sample and Decode return complete assignments; use
// it on hand-written ones before Key, so equal points get equal keys.
func (s *Space) Complete(a Assignment) Assignment {
	full, _ := s.resolve(a, false)
	return full
}

// resolve returns a copy of a with derived values filled in. If strict, it
// stops at the first rule a breaks.
func (s *Space) resolve(a Assignment, strict bool) (Assignment, error) {
	if strict {
		var unknown []string
		for k := range a {
			if _, ok := s.index[k]; !ok {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return nil, valErr(unknown[0], ErrUnknown, "no such variable in the space")
		}
	}
	full := make(Assignment, len(s.vars))
	for k, x := range a {
		full[k] = x
	}
	step := func(i int) error {
		v := &s.vars[i]
		x, present := a[v.Name]
		if c := s.failed(i, full); c >= 0 {
			if present && strict {
				cond := &v.Conds[c]
				return valErr(v.Name, ErrInactive, fmt.Sprintf("value %s present but the variable is inactive (needs %q in %s)",
					fmtValue(x), cond.Parent, fmtList(cond.In)))
			}
			delete(full, v.Name)
			return nil
		}
		switch {
		case v.Kind == KindComposite:
			c := v.Compute(full)
			if detail, rule := v.check(c); rule != nil {
				if strict {
					return valErr(v.Name, rule, "computed "+detail)
				}
				return nil
			}
			if present && !equal(x, c) && strict {
				return valErr(v.Name, ErrComposite, fmt.Sprintf("value %s differs from computed %s", fmtValue(x), fmtValue(c)))
			}
			full[v.Name] = c
		case v.Fixed != nil:
			if present && !equal(x, v.Fixed) && strict {
				return valErr(v.Name, ErrFixed, fmt.Sprintf("value %s differs from fixed %s", fmtValue(x), fmtValue(v.Fixed)))
			}
			full[v.Name] = v.Fixed
		case !present:
			if strict {
				return valErr(v.Name, ErrMissing, "missing value")
			}
		case strict:
			if detail, rule := v.check(x); rule != nil {
				return valErr(v.Name, rule, detail)
			}
		}
		return nil
	}
	for _, i := range s.order {
		if err := step(i); err != nil {
			return nil, err
		}
	}
	for _, i := range s.comps {
		if err := step(i); err != nil {
			return nil, err
		}
	}
	return full, nil
}

// build makes an assignment variable by variable in dependency order:
// inactive variables are skipped, fixed ones take their value, composites
// are computed last, and gen gives every other active variable's value.
func (s *Space) build(gen func(i int, v *Var) any) (Assignment, error) {
	a := make(Assignment, len(s.vars))
	for _, i := range s.order {
		if !s.active(i, a) {
			continue
		}
		v := &s.vars[i]
		if v.Fixed != nil {
			a[v.Name] = v.Fixed
		} else {
			a[v.Name] = gen(i, v)
		}
	}
	for _, i := range s.comps {
		if !s.active(i, a) {
			continue
		}
		v := &s.vars[i]
		c := v.Compute(a)
		if detail, rule := v.check(c); rule != nil {
			return nil, valErr(v.Name, rule, "computed "+detail)
		}
		a[v.Name] = c
	}
	return a, nil
}

func fmtList(xs []any) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmtValue(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
