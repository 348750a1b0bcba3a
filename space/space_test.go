package space

import (
	"errors"
	"math"
	"strings"
	"testing"
)

var (
	small  = Component{Name: "sim-small", Caps: []string{"fast"}, Cost: 1}
	medium = Component{Name: "sim-medium", Caps: []string{"reasoning"}, Cost: 3}
	large  = Component{Name: "sim-large", Caps: []string{"reasoning", "judge"}, Cost: 10}
)

// testVars exercises every kind and feature: log, steps, weights, a chain of
// conditions, a fixed and a composite variable.
func testVars() []Var {
	return []Var{
		Float("temperature", 0, 2),
		Float("lr", 1e-4, 1e-1).WithLog(),
		Float("p", 0, 1).WithStep(0.25),
		Float("q", 0.1, 0.9).WithStep(0.1),
		Float("s", 0.5, 32).WithLog().WithStep(0.5),
		Int("n", 1, 8),
		Int("k", 2, 10).WithStep(2),
		Int("batch", 1, 256).WithLog(),
		Choice("aggregation", "majority", "supermajority", "judge").WithWeights(1, 2, 1),
		Float("threshold", 0.5, 0.9).When("aggregation", "supermajority"),
		Bool("judge_reasons").When("judges", 2, 3), // its parent is declared later
		Int("judges", 1, 3).When("aggregation", "judge"),
		Bool("use_tools"),
		ComponentChoice("model", small, medium, large),
		ComponentChoice("judge_model", small, medium, large).When("aggregation", "judge"),
		Const("seed", 3),
		Composite("budget", func(a Assignment) any { return a.Float("temperature") * 10 }),
	}
}

func testSpace(t testing.TB) *Space {
	t.Helper()
	s, err := New(testVars()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Constrain(LessEq("n", "k"), RequireCapability("judge_model", "judge")); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDefinitionErrors(t *testing.T) {
	cases := []struct {
		name string
		vars []Var
		rule error
		want string // fragment of the message
	}{
		{"empty name", []Var{Float("", 0, 1)}, ErrName, `variable "": empty name`},
		{"duplicate", []Var{Float("x", 0, 1), Int("x", 0, 1)}, ErrDuplicate, `variable "x": duplicate variable name`},
		{"unknown kind", []Var{{Name: "x"}}, ErrKind, "unknown kind Kind(0)"},
		{"const of bad type", []Var{Const("x", []int{1})}, ErrKind, "unknown kind"},
		{"bool with choices", []Var{{Name: "b", Kind: KindBool, Choices: []string{"a"}}}, ErrKind, "bool variable has choices"},
		{"choice with bounds", []Var{{Name: "c", Kind: KindChoice, Choices: []string{"a"}, High: 1}}, ErrKind, "choice variable has bounds"},
		{"float with weights", []Var{Float("x", 0, 1).WithWeights(1)}, ErrKind, "float variable has weights"},
		{"low above high", []Var{Float("x", 2, 1)}, ErrBounds, `variable "x": low 2 above high 1`},
		{"nan bound", []Var{Float("x", math.NaN(), 1)}, ErrBounds, "not finite"},
		{"int bounds not integral", []Var{{Name: "n", Kind: KindInt, Low: 0.5, High: 3}}, ErrBounds, "int bounds [0.5, 3] not integral"},
		{"log low zero", []Var{Float("lr", 0, 1).WithLog()}, ErrLog, "log scale needs low > 0, have 0"},
		{"log int low negative", []Var{Int("n", -1, 5).WithLog()}, ErrLog, "low > 0"},
		{"negative step", []Var{Float("x", 0, 1).WithStep(-0.1)}, ErrStep, "step -0.1 is negative"},
		{"step does not divide", []Var{Float("x", 0, 1).WithStep(0.3)}, ErrStep, "step 0.3 does not divide high-low 1"},
		{"int step does not divide", []Var{Int("n", 0, 10).WithStep(3)}, ErrStep, "step 3 does not divide high-low 10"},
		{"int step not integral", []Var{Int("n", 0, 10).WithStep(0.5)}, ErrStep, "int step 0.5 not integral"},
		{"no choices", []Var{Choice("c")}, ErrChoices, "no choices"},
		{"duplicate choice", []Var{Choice("c", "a", "b", "a")}, ErrDuplicate, `duplicate choice "a"`},
		{"weights length", []Var{Choice("c", "a", "b").WithWeights(1, 2, 3)}, ErrWeights, "3 weights for 2 options"},
		{"negative weight", []Var{Choice("c", "a", "b").WithWeights(1, -2)}, ErrWeights, `weight -2 of "b" is negative`},
		{"zero weights", []Var{Choice("c", "a", "b").WithWeights(0, 0)}, ErrWeights, "all weights are zero"},
		{"no components", []Var{ComponentChoice("m")}, ErrChoices, "no components"},
		{"duplicate component", []Var{ComponentChoice("m", small, small)}, ErrDuplicate, `duplicate component "sim-small"`},
		{"unnamed component", []Var{ComponentChoice("m", Component{})}, ErrName, "component with empty name"},
		{"negative cost", []Var{ComponentChoice("m", Component{Name: "x", Cost: -1})}, ErrChoices, "cost -1 is negative"},
		{"composite without func", []Var{Composite("c", nil)}, ErrComposite, "without a Compute function"},
		{"fixed composite", []Var{Composite("c", func(Assignment) any { return 1 }).Fix(1)}, ErrFixed, "cannot be fixed"},
		{"compute on float", []Var{{Name: "x", Kind: KindFloat, High: 1, Compute: func(Assignment) any { return 1.0 }}}, ErrKind, "has a Compute function"},
		{"fixed out of range", []Var{Float("x", 0, 1).Fix(2.0)}, ErrFixed, `variable "x": fixed value 2 above high 1`},
		{"fixed not a choice", []Var{Choice("c", "a").Fix("b")}, ErrFixed, `fixed value "b" not among choices [a]`},
		{"fixed wrong type", []Var{Bool("b").Fix("yes")}, ErrFixed, "want bool"},
		{"unknown parent", []Var{Float("t", 0, 1).When("agg", "x")}, ErrParent, `variable "t": unknown parent "agg"`},
		{"condition without parent", []Var{{Name: "t", Kind: KindBool, Conds: []Condition{{In: []any{true}}}}}, ErrParent, "condition without a parent"},
		{"second condition bad", []Var{Bool("a"), Bool("t").When("a", true).When("b", true)}, ErrParent, `unknown parent "b"`},
		{"cycle through second condition", []Var{Bool("a").When("c", true), Bool("b"), Bool("c").When("b", true).When("a", true)}, ErrCycle, "a -> c -> a"},
		{"own parent", []Var{Choice("a", "x").When("a", "x")}, ErrCycle, "its own parent"},
		{"cycle", []Var{Choice("a", "x", "y").When("b", "x"), Choice("b", "x", "y").When("a", "x")}, ErrCycle, "conditional cycle a -> b -> a"},
		{"long cycle", []Var{Bool("a").When("c", true), Bool("b").When("a", true), Bool("c").When("b", true)}, ErrCycle, "a -> c -> b -> a"},
		{"float parent", []Var{Float("x", 0, 1), Bool("b").When("x", 0.5)}, ErrParent, `parent "x" is a float variable`},
		{"composite parent", []Var{Composite("x", func(Assignment) any { return 1 }), Bool("b").When("x", 1)}, ErrParent, "is a composite variable"},
		{"no parent values", []Var{Choice("agg", "a"), Bool("b").When("agg")}, ErrParent, `no values of parent "agg"`},
		{"bad parent value", []Var{Choice("agg", "a"), Bool("b").When("agg", "bogus")}, ErrParent, `parent "agg": value "bogus" not among choices [a]`},
		{"parent value wrong type", []Var{Int("n", 1, 3), Bool("b").When("n", "2")}, ErrParent, `value "2" is a string, want int`},
		{"parent value out of range", []Var{Int("n", 1, 3), Bool("b").When("n", 4)}, ErrParent, "value 4 above high 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.vars...)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, c.rule) || !errors.Is(err, ErrInvalidSpace) || errors.Is(err, ErrInvalidAssignment) {
				t.Errorf("err = %v; want rule %v and class ErrInvalidSpace", err, c.rule)
			}
			var ve *VarError
			if !errors.As(err, &ve) || ve.Rule != c.rule {
				t.Errorf("err = %#v, want a *VarError with rule %v", err, c.rule)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestValidDefinitions(t *testing.T) {
	for _, vars := range [][]Var{
		nil,
		{Float("x", 1, 1)},                   // degenerate but valid
		{Int("n", 1, 1).WithLog()},           // one point on a log scale
		{Float("x", 0.1, 0.7).WithStep(0.2)}, // 0.6/0.2 is not exactly 3 in floating point
		{Choice("c", "a", "b").WithWeights(0, 1)},
		{Const("x", 2.5), Const("s", "mesh"), Const("b", true)},
		{Float("x", 0, 1).Fix(1)}, // int fixed value of a float variable is converted
		{Int("n", 0, 4).Fix(2.0)}, // and vice versa
		{Int("n", 0, 4), Bool("b").When("n", 2.0)},
		testVars(),
	} {
		if _, err := New(vars...); err != nil {
			t.Errorf("New(%v): %v", vars, err)
		}
	}
	s := MustNew(Float("x", 0, 1).Fix(1), Int("n", 0, 4).Fix(2.0))
	if v, _ := s.Var("x"); v.Fixed != 1.0 {
		t.Errorf("fixed float = %#v, want 1.0", v.Fixed)
	}
	if v, _ := s.Var("n"); v.Fixed != 2 {
		t.Errorf("fixed int = %#v, want 2", v.Fixed)
	}
}

func TestNewCopiesSlices(t *testing.T) {
	choices := []string{"a", "b"}
	s := MustNew(Choice("c", choices...))
	choices[0] = "z"
	if v, _ := s.Var("c"); v.Choices[0] != "a" {
		t.Error("New did not copy Choices")
	}
}

func TestConstraintDefinitionErrors(t *testing.T) {
	pred := func(Assignment) bool { return true }
	cases := []struct {
		name string
		c    []Constraint
		rule error
		want string
	}{
		{"empty name", []Constraint{{Pred: pred}}, ErrName, `constraint "": empty name`},
		{"no predicate", []Constraint{{Name: "c"}}, ErrKind, `constraint "c": no predicate`},
		{"unknown variable", []Constraint{{Name: "c", Pred: pred, Vars: []string{"nope"}}}, ErrUnknown, `unknown variable "nope"`},
		{"duplicate", []Constraint{{Name: "c", Pred: pred}, {Name: "c", Pred: pred}}, ErrDuplicate, "duplicate constraint name"},
		{"at least over floats", []Constraint{AtLeast(1, "temperature")}, ErrKind, `variable "temperature" is a float variable; want bool or composite`},
		{"capability of a choice", []Constraint{RequireCapability("aggregation", "x")}, ErrKind, "want component"},
		{"less-eq over a choice", []Constraint{LessEq("n", "aggregation")}, ErrKind, "want float or int or composite"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := MustNew(testVars()...)
			err := s.Constrain(c.c...)
			if !errors.Is(err, c.rule) || !errors.Is(err, ErrInvalidSpace) {
				t.Errorf("err = %v; want rule %v", err, c.rule)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// validAssignment is a hand-written valid assignment of testSpace, without
// its fixed and composite values.
func validAssignment() Assignment {
	return Assignment{
		"temperature": 0.7, "lr": 0.01, "p": 0.75, "q": 0.3, "s": 4.5, "n": 3, "k": 4, "batch": 32,
		"aggregation": "judge", "judges": 2, "judge_reasons": true, "judge_model": "sim-large",
		"use_tools": false, "model": "sim-small",
	}
}

func TestValidateAssignment(t *testing.T) {
	s := testSpace(t)
	if err := s.Validate(validAssignment()); err != nil {
		t.Fatalf("valid assignment: %v", err)
	}
	full := s.Complete(validAssignment())
	if full.Int("seed") != 3 || full.Float("budget") != 7 {
		t.Errorf("Complete = %v, want seed 3 and budget 7", full)
	}
	if err := s.Validate(full); err != nil {
		t.Errorf("completed assignment: %v", err)
	}
	with := func(kv ...any) Assignment {
		a := validAssignment()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(a, kv[i].(string))
			} else {
				a[kv[i].(string)] = kv[i+1]
			}
		}
		return a
	}
	cases := []struct {
		name string
		a    Assignment
		rule error
		want string // the whole message if it starts with "space:", else a fragment
	}{
		{"above high", with("temperature", 3.5), ErrRange, `space: variable "temperature": value 3.5 above high 2`},
		{"below low", with("lr", 1e-5), ErrRange, `space: variable "lr": value 1e-05 below low 0.0001`},
		{"not finite", with("temperature", math.Inf(1)), ErrRange, "value +Inf not finite"},
		{"off grid", with("p", 0.3), ErrRange, `variable "p": value 0.3 off the grid 0 + k*0.25`},
		{"int off grid", with("k", 5), ErrRange, "value 5 off the grid 2 + k*2"},
		{"missing", with("temperature", nil), ErrMissing, `space: variable "temperature": missing value`},
		{"missing conditional", with("judges", nil), ErrMissing, `variable "judges": missing value`},
		{"float for int", with("n", 3.0), ErrType, `variable "n": value 3 is a float64, want int`},
		{"int for float", with("temperature", 1), ErrType, "value 1 is a int, want float64"},
		{"string for bool", with("use_tools", "yes"), ErrType, `value "yes" is a string, want bool`},
		{"not a choice", with("aggregation", "vote"), ErrNotChoice, `variable "aggregation": value "vote" not among choices [majority supermajority judge]`},
		{"not a component", with("model", "gpt"), ErrNotChoice, `value "gpt" not among components [sim-small sim-medium sim-large]`},
		{"present but inactive", with("threshold", 0.7), ErrInactive, `variable "threshold": value 0.7 present but the variable is inactive (needs "aggregation" in ["supermajority"])`},
		{"inactive grandchild", with("judges", 1), ErrInactive, `variable "judge_reasons": value true present but`},
		{"unknown", with("temprature", 0.5), ErrUnknown, `space: variable "temprature": no such variable in the space`},
		{"fixed differs", with("seed", 4), ErrFixed, `variable "seed": value 4 differs from fixed 3`},
		{"composite differs", with("budget", 8.0), ErrComposite, `variable "budget": value 8 differs from computed 7`},
		{"constraint", with("n", 6), ErrConstraint, `space: constraint "n<=k": "n" must be <= "k"`},
		{"capability", with("judge_model", "sim-medium"), ErrConstraint, `constraint "judge_model has judge"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Validate(c.a)
			if !errors.Is(err, c.rule) || !errors.Is(err, ErrInvalidAssignment) || errors.Is(err, ErrInvalidSpace) {
				t.Fatalf("err = %v; want rule %v, class ErrInvalidAssignment", err, c.rule)
			}
			if strings.HasPrefix(c.want, "space:") && err.Error() != c.want {
				t.Errorf("err = %q\nwant  %q", err, c.want)
			} else if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to contain %q", err, c.want)
			}
			var ve *VarError
			var ce *ConstraintError
			if c.rule == ErrConstraint {
				if !errors.As(err, &ce) {
					t.Errorf("err is %T, want *ConstraintError", err)
				}
			} else if !errors.As(err, &ve) || ve.Rule != c.rule {
				t.Errorf("err is %#v, want *VarError with rule %v", err, c.rule)
			}
		})
	}
}

func TestActiveAndComplete(t *testing.T) {
	s := testSpace(t)
	a := validAssignment()
	for name, want := range map[string]bool{"temperature": true, "judges": true, "judge_reasons": true, "threshold": false, "nope": false, "seed": true} {
		if got := s.Active(name, a); got != want {
			t.Errorf("Active(%q) = %v, want %v", name, got, want)
		}
	}
	a["aggregation"] = "majority"
	c := s.Complete(a)
	for _, gone := range []string{"judges", "judge_reasons", "judge_model"} {
		if c.Has(gone) {
			t.Errorf("Complete kept inactive %q", gone)
		}
	}
	if err := s.Validate(c); err != nil {
		t.Errorf("Validate(Complete) = %v", err)
	}
	if !a.Has("judges") {
		t.Error("Complete modified its argument")
	}
}

func TestConstraintBuiltins(t *testing.T) {
	s := MustNew(Bool("a"), Bool("b"), Bool("c").When("a", true), Int("lo", 0, 5), Int("hi", 0, 5).When("a", true),
		ComponentChoice("m1", small, medium, large), ComponentChoice("m2", small, large).When("b", true))
	err := s.Constrain(AtLeast(1, "a", "b", "c"), AtMost(2, "a", "b", "c"), LessEq("lo", "hi"), CostAtMost(11, "m1", "m2"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		a    Assignment
		fail string
	}{
		{Assignment{"a": false, "b": false, "lo": 5, "m1": "sim-large"}, "at-least-1(a,b,c)"},
		{Assignment{"a": true, "b": true, "c": true, "lo": 1, "hi": 2, "m1": "sim-small", "m2": "sim-small"}, "at-most-2(a,b,c)"},
		{Assignment{"a": true, "b": false, "c": false, "lo": 3, "hi": 2, "m1": "sim-small"}, "lo<=hi"},
		{Assignment{"a": false, "b": true, "lo": 5, "m1": "sim-small", "m2": "sim-small"}, ""}, // hi inactive: lo<=hi holds
		{Assignment{"a": false, "b": true, "lo": 0, "m1": "sim-medium", "m2": "sim-large"}, "cost(m1,m2)<=11"},
		{Assignment{"a": true, "b": false, "c": false, "lo": 0, "hi": 0, "m1": "sim-large"}, ""},
	}
	for i, c := range cases {
		err := s.Validate(c.a)
		var ce *ConstraintError
		switch {
		case c.fail == "" && err != nil:
			t.Errorf("case %d: %v", i, err)
		case c.fail != "" && (!errors.As(err, &ce) || ce.Name != c.fail):
			t.Errorf("case %d: err = %v, want constraint %q", i, err, c.fail)
		}
	}
}

func TestAssignmentGetters(t *testing.T) {
	a := Assignment{"f": 0.5, "i": 3, "fi": 4.0, "s": "x", "b": true}
	if a.Float("f") != 0.5 || a.Float("i") != 3 || a.Float("s") != 0 || a.Float("none") != 0 {
		t.Error("Float")
	}
	if a.Int("i") != 3 || a.Int("fi") != 4 || a.Int("f") != 0 || a.Int("none") != 0 {
		t.Error("Int")
	}
	if a.String("s") != "x" || a.String("i") != "" || !a.Bool("b") || a.Bool("s") || !a.Has("b") || a.Has("none") {
		t.Error("String/Bool/Has")
	}
	if got := strings.Join(a.Names(), ","); got != "b,f,fi,i,s" {
		t.Errorf("Names = %s", got)
	}
	c := a.Clone()
	c["f"] = 1.0
	if a.Float("f") != 0.5 {
		t.Error("Clone shares the map")
	}
}

func TestKey(t *testing.T) {
	a := Assignment{"z": 1, "a": 1.0, "m": "x \"y\" <b>", "b": false, "f": 0.1, "big": 1e21}
	want := `{"a":1.0,"b":false,"big":1e+21,"f":0.1,"m":"x \"y\" <b>","z":1}`
	if got := a.Key(); got != want {
		t.Errorf("Key = %s\nwant  %s", got, want)
	}
	b := Assignment{"m": "x \"y\" <b>", "f": 0.1, "big": 1e21, "b": false, "a": 1.0, "z": 1}
	if a.Key() != b.Key() {
		t.Error("Key depends on insertion order")
	}
	if Assignment(map[string]any{"x": 1}).Key() == (Assignment{"x": 1.0}).Key() {
		t.Error("int and float keys collide")
	}
	if got := (Assignment{"x": math.NaN(), "y": math.Inf(-1)}).Key(); got != `{"x":NaN,"y":-Inf}` {
		t.Errorf("Key of non-finite = %s", got)
	}
}
