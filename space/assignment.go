package space

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Assignment is one point of a space: variable name to value. Values are
// float64 (float), int (int), string (choice, component) or bool (bool);
// composites take one of these four. Inactive variables are absent.
type Assignment map[string]any

// Has reports whether name has a value.
func (a Assignment) Has(name string) bool {
	_, ok := a[name]
	return ok
}

// Float returns the value of name as a float64 (ints converted); 0 if it is
// absent or not a number.
func (a Assignment) Float(name string) float64 {
	switch x := a[name].(type) {
	case float64:
		return x
	case int:
		return float64(x)
	}
	return 0
}

// Int returns the value of name as an int (integral float64s converted); 0
// if it is absent or not an integer.
func (a Assignment) Int(name string) int {
	switch x := a[name].(type) {
	case int:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int(x)
		}
	}
	return 0
}

// String returns the value of name as a string; "" if it is absent or not a
// string. (It is not fmt.Stringer: use Key to print a whole assignment.)
func (a Assignment) String(name string) string {
	s, _ := a[name].(string)
	return s
}

// Bool returns the value of name as a bool; false if it is absent or not a
// bool.
func (a Assignment) Bool(name string) bool {
	b, _ := a[name].(bool)
	return b
}

// Clone returns a copy of a.
func (a Assignment) Clone() Assignment {
	if a == nil {
		return nil
	}
	out := make(Assignment, len(a))
	for k, v := range a {
		out[k] = v
	}
	return out
}

// Names returns the names in a, sorted.
func (a Assignment) Names() []string {
	out := make([]string, 0, len(a))
	for k := range a {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Key is a canonical string for a: its JSON with sorted names, so equal
// assignments have equal keys (use it for deduplication and caching). Floats
// are written in shortest round-trip form with a decimal point or exponent
// (1.0, not 1), so a float never has the key of an int; a non-finite float is
// written NaN, +Inf or -Inf, which is not JSON.
func (a Assignment) Key() string {
	b, _ := a.marshal(true)
	return string(b)
}

// MarshalJSON writes a as a JSON object with sorted names, ints as integers
// and floats always with a decimal point or exponent, so UnmarshalJSON gets
// back the same types. Non-finite floats are an error.
func (a Assignment) MarshalJSON() ([]byte, error) { return a.marshal(false) }

func (a Assignment) marshal(lenient bool) ([]byte, error) {
	if a == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range a.Names() {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, k)
		b.WriteByte(':')
		switch x := a[k].(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				if !lenient {
					return nil, &ruleError{msg: "space: assignment: value of " + strconv.Quote(k) + " is not finite", rule: ErrRange, class: ErrInvalidAssignment}
				}
				b.WriteString(strconv.FormatFloat(x, 'g', -1, 64)) // NaN, +Inf, -Inf
				continue
			}
			b.WriteString(fmtJSONFloat(x))
		case int:
			b.WriteString(strconv.Itoa(x))
		case string:
			writeJSONString(&b, x)
		case bool:
			b.WriteString(strconv.FormatBool(x))
		default:
			v, err := json.Marshal(x)
			if err != nil {
				if !lenient {
					return nil, err
				}
				v = []byte(strconv.Quote(fmtValue(x)))
			}
			b.Write(v)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// fmtJSONFloat formats a finite float in shortest form, marked as a float.
func fmtJSONFloat(x float64) string {
	s := strconv.FormatFloat(x, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // cannot fail for a string
	b.Truncate(b.Len() - 1) // the encoder's newline
}

// UnmarshalJSON reads a JSON object of numbers, strings and bools. A number
// written with a decimal point or exponent becomes a float64, any other an
// int, the inverse of MarshalJSON. To read an assignment written by hand
// (where 1 may mean 1.0) use Space.ParseAssignment, which knows the kinds.
func (a *Assignment) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return &ruleError{msg: "space: assignment: " + err.Error(), rule: ErrFormat, class: ErrInvalidAssignment}
	}
	if m == nil {
		*a = nil
		return nil
	}
	out := make(Assignment, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case json.Number:
			s := x.String()
			if n, err := strconv.Atoi(s); err == nil && !strings.ContainsAny(s, ".eE") {
				out[k] = n
			} else if f, err := strconv.ParseFloat(s, 64); err == nil {
				out[k] = f
			} else {
				return &ruleError{msg: "space: assignment: value of " + strconv.Quote(k) + ": " + err.Error(), rule: ErrFormat, class: ErrInvalidAssignment}
			}
		case string, bool:
			out[k] = x
		default:
			return &ruleError{msg: "space: assignment: value of " + strconv.Quote(k) + " is not a number, string or bool", rule: ErrFormat, class: ErrInvalidAssignment}
		}
	}
	*a = out
	return nil
}

// ParseAssignment reads an assignment of s from a JSON object, converting
// numbers to each variable's type (1 is 1.0 for a float variable, 2.0 is 2
// for an int one), completes it and validates it.
func (s *Space) ParseAssignment(data []byte) (Assignment, error) {
	var a Assignment
	if err := json.Unmarshal(data, &a); err != nil {
		var re *ruleError
		if errors.As(err, &re) {
			return nil, re
		}
		return nil, &ruleError{msg: "space: assignment: " + err.Error(), rule: ErrFormat, class: ErrInvalidAssignment}
	}
	if a == nil {
		return nil, &ruleError{msg: "space: assignment: null, want a JSON object", rule: ErrFormat, class: ErrInvalidAssignment}
	}
	for k, x := range a {
		if i, ok := s.index[k]; ok {
			a[k] = normalize(s.vars[i].Kind, x)
		}
	}
	if err := s.Validate(a); err != nil {
		return nil, err
	}
	return s.Complete(a), nil
}
