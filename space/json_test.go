package space

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestParseJSON(t *testing.T) {
	s, err := ParseJSON([]byte(`{"x":{"type":"float","low":-5,"high":10,"log":false},"n":{"type":"int","low":1,"high":8},
		"c":{"type":"choice","choices":["a","b"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Names(), ","); got != "c,n,x" {
		t.Errorf("order = %s, want sorted c,n,x", got)
	}
	want := []Var{Choice("c", "a", "b"), Int("n", 1, 8), Float("x", -5, 10)}
	if got := s.Vars(); !reflect.DeepEqual(got, want) {
		t.Errorf("Vars = %#v\nwant   %#v", got, want)
	}

	s, err = ParseJSON([]byte(`{
		"agg": {"type": "choice", "choices": ["majority", "supermajority"], "weights": [1, 3]},
		"threshold": {"type": "float", "low": 0.5, "high": 0.9, "step": 0.1, "parent": "agg", "in": ["supermajority"]},
		"lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": true},
		"k": {"type": "int", "low": 0, "high": 8, "step": 2, "fixed": 4},
		"judges": {"type": "int", "low": 1, "high": 3, "parent": "k", "in": [4, 8]},
		"tools": {"type": "bool"},
		"model": {"type": "component", "components": [{"name": "sim-small", "caps": ["fast"], "cost": 1}, {"name": "sim-large"}]}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	th, _ := s.Var("threshold")
	if th.Step != 0.1 || !reflect.DeepEqual(th.Conds, []Condition{{Parent: "agg", In: []any{"supermajority"}}}) {
		t.Errorf("threshold = %+v", th)
	}
	if k, _ := s.Var("k"); k.Fixed != 4 {
		t.Errorf("k.Fixed = %#v, want int 4", k.Fixed)
	}
	if j, _ := s.Var("judges"); !reflect.DeepEqual(j.Conds[0].In, []any{4, 8}) {
		t.Errorf("judges.In = %#v, want ints", j.Conds[0].In)
	}
	if m, _ := s.Var("model"); !reflect.DeepEqual(m.Components[0], small) {
		t.Errorf("model = %+v", m)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 200 {
		a, err := s.Sample(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(a); err != nil || !a.Has("judges") {
			t.Fatalf("%s: %v", a.Key(), err)
		}
	}
}

func TestParseJSONErrors(t *testing.T) {
	cases := []struct {
		name, json string
		rule       error
		want       string
	}{
		{"not json", `{"x":`, ErrFormat, "space: JSON space: value of \"x\": unexpected end of JSON"},
		{"not an object", `[1]`, ErrFormat, "not a JSON object"},
		{"trailing data", `{} {}`, ErrFormat, "data after the JSON object"},
		{"var not an object", `{"x": 3}`, ErrFormat, `variable "x": not a JSON object`},
		{"unknown type", `{"x":{"type":"flaot","low":0,"high":1}}`, ErrKind, `space: variable "x": unknown type "flaot" (want float, int, choice, bool or component)`},
		{"missing type", `{"x":{"low":0,"high":1}}`, ErrFormat, `variable "x": missing "type"`},
		{"type not a string", `{"x":{"type":1}}`, ErrFormat, `"type" must be a string`},
		{"missing low", `{"x":{"type":"float","high":1}}`, ErrFormat, `space: variable "x": float variable needs "low"`},
		{"missing high", `{"n":{"type":"int","low":1}}`, ErrFormat, `variable "n": int variable needs "high"`},
		{"missing choices", `{"c":{"type":"choice"}}`, ErrFormat, `choice variable needs "choices"`},
		{"missing components", `{"m":{"type":"component"}}`, ErrFormat, `component variable needs "components"`},
		{"unknown key", `{"x":{"type":"float","low":0,"high":1,"lo":0}}`, ErrFormat, `variable "x": unknown key "lo" for type float`},
		{"key of another type", `{"b":{"type":"bool","low":0}}`, ErrFormat, `unknown key "low" for type bool (want parent, in, fixed)`},
		{"wrong field type", `{"x":{"type":"float","low":"0","high":1}}`, ErrFormat, `"low" must be a number`},
		{"null field", `{"x":{"type":"float","low":null,"high":1}}`, ErrFormat, `"low" must be a number`},
		{"choices not strings", `{"c":{"type":"choice","choices":[1,2]}}`, ErrFormat, `"choices" must be an array of strings`},
		{"unknown component key", `{"m":{"type":"component","components":[{"name":"a","price":1}]}}`, ErrFormat, `"components" must be an array of`},
		{"duplicate variable", `{"x":{"type":"bool"},"x":{"type":"bool"}}`, ErrDuplicate, `variable "x": variable defined twice`},
		{"duplicate key", `{"x":{"type":"float","low":0,"low":1,"high":2}}`, ErrDuplicate, `duplicate key "low"`},
		{"low above high", `{"x":{"type":"float","low":2,"high":1}}`, ErrBounds, "low 2 above high 1"},
		{"empty choices", `{"c":{"type":"choice","choices":[]}}`, ErrChoices, "no choices"},
		{"bad weights", `{"c":{"type":"choice","choices":["a"],"weights":[1,2]}}`, ErrWeights, "2 weights for 1 options"},
		{"unknown parent", `{"t":{"type":"bool","parent":"p","in":[true]}}`, ErrParent, `unknown parent "p"`},
		{"int fixed fraction", `{"n":{"type":"int","low":0,"high":3,"fixed":1.5}}`, ErrFixed, "value 1.5 is a float64, want int"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(c.json))
			if !errors.Is(err, c.rule) || !errors.Is(err, ErrInvalidSpace) {
				t.Fatalf("err = %v, want rule %v", err, c.rule)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestFromSpecsYAMLShape(t *testing.T) {
	// What a YAML loader would produce: ints where floats are meant.
	lo, hi := 0.0, 2.0
	s, err := FromSpecs(map[string]VarSpec{
		"t": {Type: "float", Low: &lo, High: &hi, Fixed: 1},
		"c": {Type: "choice", Choices: []string{"a", "b"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Var("t"); v.Fixed != 1.0 {
		t.Errorf("Fixed = %#v, want 1.0", v.Fixed)
	}
	if _, err := FromSpecs(map[string]VarSpec{"b": {Type: "bool", Low: &lo}}); !errors.Is(err, ErrKind) {
		t.Errorf("bool with low: %v", err)
	}
}

func TestAssignmentJSON(t *testing.T) {
	a := Assignment{"f": 2.0, "g": 0.25, "n": 3, "neg": -7, "s": "sim-large", "b": true, "e": 1e-7}
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"b":true,"e":1e-07,"f":2.0,"g":0.25,"n":3,"neg":-7,"s":"sim-large"}`; string(data) != want {
		t.Errorf("Marshal = %s\nwant      %s", data, want)
	}
	var b Assignment
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("round trip: %#v, want %#v", b, a)
	}
	if _, err := json.Marshal(Assignment{"x": math.NaN()}); !errors.Is(err, ErrRange) {
		t.Errorf("Marshal NaN: %v", err)
	}
	for _, bad := range []string{`{"x":[1]}`, `{"x":null}`, `[1]`, `{"x":1e999}`} {
		var c Assignment
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("Unmarshal(%s) succeeded: %v", bad, c)
		}
	}
}

func TestParseAssignment(t *testing.T) {
	s := testSpace(t)
	a, err := s.ParseAssignment([]byte(`{"temperature": 1, "lr": 0.01, "p": 0.5, "q": 0.3, "s": 2, "n": 2.0, "k": 2, "batch": 8,
		"aggregation": "majority", "use_tools": true, "model": "sim-medium"}`))
	if err != nil {
		t.Fatal(err)
	}
	if a["temperature"] != 1.0 || a["n"] != 2 || a["seed"] != 3 || a["budget"] != 10.0 {
		t.Errorf("ParseAssignment = %#v", a)
	}
	// The JSON of a sampled assignment parses back to it.
	for _, want := range sampleMany(t, s, 8, 100) {
		data, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.ParseAssignment(data)
		if err != nil || got.Key() != want.Key() {
			t.Fatalf("ParseAssignment(%s) = %v, %v", data, got, err)
		}
	}
	valid, _ := json.Marshal(validAssignment())
	withN := strings.Replace(string(valid), `"n":3`, `"n":2.5`, 1)
	for _, c := range []struct {
		json string
		rule error
	}{
		{withN, ErrType},
		{`{"temperature": "hot", "bogus": 1}`, ErrUnknown}, // unknown names are reported first
		{`nope`, ErrFormat},
		{`null`, ErrFormat},
	} {
		if _, err := s.ParseAssignment([]byte(c.json)); !errors.Is(err, c.rule) || !errors.Is(err, ErrInvalidAssignment) {
			t.Errorf("ParseAssignment(%s) = %v, want %v", c.json, err, c.rule)
		}
	}
}
