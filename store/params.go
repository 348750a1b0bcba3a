package store

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mabeam/mabeam/space"
)

// decodeParams reads a trials.params value. It is space.Assignment's
// UnmarshalJSON (numbers with a point or exponent are float64, other
// numbers int, strings, bools), with a fast path for what
// Assignment.MarshalJSON writes: a flat object of scalars and strings
// without escapes. Anything else takes the general path.
func decodeParams(data []byte) (space.Assignment, error) {
	if a, ok := decodeFlat(string(data)); ok {
		return a, nil
	}
	var a space.Assignment
	if err := a.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return a, nil
}

// decodeFlat decodes {"name":value,...} written without spaces; ok is false
// for any other input.
func decodeFlat(s string) (a space.Assignment, ok bool) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' || !utf8.ValidString(s) {
		return nil, false
	}
	a = make(space.Assignment, strings.Count(s, ":"))
	s = s[1 : len(s)-1]
	for len(s) > 0 {
		name, rest, ok := flatString(s)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return nil, false
		}
		s = rest[1:]
		end := len(s)
		if len(s) > 0 && s[0] == '"' {
			v, rest, ok := flatString(s)
			if !ok {
				return nil, false
			}
			a[name], end = v, len(s)-len(rest)
		} else {
			if i := strings.IndexByte(s, ','); i >= 0 {
				end = i
			}
			v, ok := flatScalar(s[:end])
			if !ok {
				return nil, false
			}
			a[name] = v
		}
		s = s[end:]
		if len(s) > 0 {
			if s[0] != ',' || len(s) == 1 {
				return nil, false
			}
			s = s[1:]
		}
	}
	return a, true
}

// flatString reads a JSON string without escapes or control characters
// from the start of s.
func flatString(s string) (v, rest string, ok bool) {
	if len(s) == 0 || s[0] != '"' {
		return "", "", false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[1:i], s[i+1:], true
		case c == '\\' || c < 0x20:
			return "", "", false
		}
	}
	return "", "", false
}

// flatScalar reads true, false, or a JSON number (int unless it has a
// point or exponent).
func flatScalar(s string) (any, bool) {
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	case "":
		return nil, false
	}
	if !jsonNumber(s) {
		return nil, false
	}
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.Atoi(s); err == nil {
			return n, true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// jsonNumber reports whether s has JSON's number syntax (which is narrower
// than strconv's: no "+", "0x", "Inf", "1_000", ".5" or "01").
func jsonNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	start := i
	if n := digits(); n == 0 || n > 1 && s[start] == '0' {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
