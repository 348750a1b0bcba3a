package space

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// VarSpec is the serialized form of one variable, as in the CLI's JSON
// space format (see ParseJSON); a config loader can decode YAML into it too.
type VarSpec struct {
	// Type is "float", "int", "choice", "bool" or "component".
	Type string `json:"type" yaml:"type"`
	// Low and High are required for float and int.
	Low  *float64 `json:"low,omitempty" yaml:"low,omitempty"`
	High *float64 `json:"high,omitempty" yaml:"high,omitempty"`
	Log  bool     `json:"log,omitempty" yaml:"log,omitempty"`
	Step float64  `json:"step,omitempty" yaml:"step,omitempty"`
	// Choices are required for choice; Components for component.
	Choices    []string    `json:"choices,omitempty" yaml:"choices,omitempty"`
	Components []Component `json:"components,omitempty" yaml:"components,omitempty"`
	Weights    []float64   `json:"weights,omitempty" yaml:"weights,omitempty"`
	// Parent and In make the variable conditional (Var.When); the JSON
	// format has one condition per variable.
	Parent string `json:"parent,omitempty" yaml:"parent,omitempty"`
	In     []any  `json:"in,omitempty" yaml:"in,omitempty"`
	// Fixed pins the variable to a value (Var.Fix).
	Fixed any `json:"fixed,omitempty" yaml:"fixed,omitempty"`
}

var specKinds = map[string]Kind{"float": KindFloat, "int": KindInt, "choice": KindChoice, "bool": KindBool, "component": KindComponent}

// specKeys are the JSON keys each type accepts.
var specKeys = map[Kind][]string{
	KindFloat:     {"type", "low", "high", "log", "step", "parent", "in", "fixed"},
	KindInt:       {"type", "low", "high", "log", "step", "parent", "in", "fixed"},
	KindChoice:    {"type", "choices", "weights", "parent", "in", "fixed"},
	KindBool:      {"type", "parent", "in", "fixed"},
	KindComponent: {"type", "components", "weights", "parent", "in", "fixed"},
}

// Var converts the spec of the variable called name. It checks the type and
// the required fields; New checks the rest.
func (sp *VarSpec) Var(name string) (Var, error) {
	k, ok := specKinds[sp.Type]
	if !ok {
		if sp.Type == "" {
			return Var{}, defErr(name, ErrFormat, `missing "type" (float, int, choice, bool or component)`)
		}
		return Var{}, defErr(name, ErrKind, fmt.Sprintf("unknown type %q (want float, int, choice, bool or component)", sp.Type))
	}
	v := Var{Name: name, Kind: k, Log: sp.Log, Step: sp.Step, Choices: sp.Choices, Components: sp.Components,
		Weights: sp.Weights, Fixed: sp.Fixed}
	if sp.Parent != "" || sp.In != nil {
		v.Conds = []Condition{{Parent: sp.Parent, In: sp.In}}
	}
	if k == KindFloat || k == KindInt {
		if sp.Low == nil {
			return Var{}, defErr(name, ErrFormat, fmt.Sprintf(`%s variable needs "low"`, sp.Type))
		}
		if sp.High == nil {
			return Var{}, defErr(name, ErrFormat, fmt.Sprintf(`%s variable needs "high"`, sp.Type))
		}
		v.Low, v.High = *sp.Low, *sp.High
	} else if sp.Low != nil || sp.High != nil {
		return Var{}, defErr(name, ErrKind, sp.Type+" variable has bounds")
	}
	if k == KindChoice && sp.Choices == nil {
		return Var{}, defErr(name, ErrFormat, `choice variable needs "choices"`)
	}
	if k == KindComponent && sp.Components == nil {
		return Var{}, defErr(name, ErrFormat, `component variable needs "components"`)
	}
	return v, nil
}

// FromSpecs builds a space from named specs, with the variables sorted by
// name (a map has no order). Constraints are added with Space.Constrain.
func FromSpecs(specs map[string]VarSpec) (*Space, error) {
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	slices.Sort(names)
	vars := make([]Var, len(names))
	for i, n := range names {
		sp := specs[n]
		v, err := sp.Var(n)
		if err != nil {
			return nil, err
		}
		vars[i] = v
	}
	return New(vars...)
}

// ParseJSON reads the CLI's JSON space format, an object from variable name
// to spec, for example
//
//	{"x": {"type": "float", "low": -5, "high": 10, "log": false},
//	 "n": {"type": "int", "low": 1, "high": 8, "step": 1},
//	 "c": {"type": "choice", "choices": ["a", "b"], "weights": [3, 1]},
//	 "t": {"type": "float", "low": 0.5, "high": 1, "parent": "c", "in": ["a"]},
//	 "b": {"type": "bool"},
//	 "m": {"type": "component", "components": [{"name": "sim-small", "caps": ["fast"], "cost": 1}]}}
//
// Keys are those of VarSpec's JSON tags; a key the type does not use, a
// duplicate key or a missing required key is an error naming the variable.
// The variables are sorted by name.
func ParseJSON(data []byte) (*Space, error) {
	top, err := jsonObject(data)
	if err != nil {
		return nil, &ruleError{msg: "space: JSON space: " + err.Error(), rule: ErrFormat, class: ErrInvalidSpace}
	}
	specs := make(map[string]VarSpec, len(top))
	for _, kv := range top {
		if _, dup := specs[kv.key]; dup {
			return nil, defErr(kv.key, ErrDuplicate, "variable defined twice")
		}
		sp, err := parseSpec(kv.key, kv.val)
		if err != nil {
			return nil, err
		}
		specs[kv.key] = sp
	}
	return FromSpecs(specs)
}

func parseSpec(name string, data []byte) (VarSpec, error) {
	var sp VarSpec
	fields, err := jsonObject(data)
	if err != nil {
		return sp, defErr(name, ErrFormat, err.Error())
	}
	seen := make(map[string]bool, len(fields))
	for _, kv := range fields {
		if seen[kv.key] {
			return sp, defErr(name, ErrDuplicate, fmt.Sprintf("duplicate key %q", kv.key))
		}
		seen[kv.key] = true
	}
	for _, kv := range fields {
		if kv.key == "type" {
			if err := json.Unmarshal(kv.val, &sp.Type); err != nil {
				return sp, defErr(name, ErrFormat, `"type" must be a string`)
			}
		}
	}
	if sp.Type == "" {
		return sp, defErr(name, ErrFormat, `missing "type" (float, int, choice, bool or component)`)
	}
	kind, ok := specKinds[sp.Type]
	if !ok {
		_, err := sp.Var(name) // reports the unknown type
		return sp, err
	}
	for _, kv := range fields {
		if !slices.Contains(specKeys[kind], kv.key) {
			return sp, defErr(name, ErrFormat, fmt.Sprintf("unknown key %q for type %s (want %s)", kv.key, sp.Type,
				strings.Join(specKeys[kind][1:], ", ")))
		}
		var dst any
		want := ""
		switch kv.key {
		case "type":
			continue
		case "low":
			dst, want = &sp.Low, "a number"
		case "high":
			dst, want = &sp.High, "a number"
		case "log":
			dst, want = &sp.Log, "true or false"
		case "step":
			dst, want = &sp.Step, "a number"
		case "choices":
			dst, want = &sp.Choices, "an array of strings"
		case "weights":
			dst, want = &sp.Weights, "an array of numbers"
		case "components":
			dst, want = &sp.Components, `an array of {"name", "caps", "cost"} objects`
		case "parent":
			dst, want = &sp.Parent, "a string"
		case "in":
			dst, want = &sp.In, "an array of values"
		case "fixed":
			dst, want = &sp.Fixed, "a value"
		}
		dec := json.NewDecoder(bytes.NewReader(kv.val))
		dec.DisallowUnknownFields()
		if err := dec.Decode(dst); err != nil || bytes.Equal(bytes.TrimSpace(kv.val), []byte("null")) {
			return sp, defErr(name, ErrFormat, fmt.Sprintf("%q must be %s", kv.key, want))
		}
	}
	return sp, nil
}

type keyVal struct {
	key string
	val json.RawMessage
}

// jsonObject splits a JSON object into its members in order, duplicates
// kept, and rejects trailing data.
func jsonObject(data []byte) ([]keyVal, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("not JSON: %v", syntaxMsg(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var out []keyVal
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxMsg(err)
		}
		key := tok.(string) // object keys are strings
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("value of %s: %v", strconv.Quote(key), syntaxMsg(err))
		}
		out = append(out, keyVal{key, val})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntaxMsg(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return out, nil
}

func syntaxMsg(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("unexpected end of JSON")
	}
	return err
}
