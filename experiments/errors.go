package experiments

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalidConfig is matched (errors.Is) by every error Parse, Load,
// Validate and Studies return for a config that cannot run: each is a
// *ConfigError, or an ErrorList of them.
var ErrInvalidConfig = errors.New("experiments: invalid config")

// ErrSimCannotParse is the cause (ConfigError.Err) of the error Studies
// returns for a dataset file with a question that the sim backend cannot
// parse (datasets.Solve), which it would answer "unknown": the *ConfigError
// names the file and line of the first such question.
var ErrSimCannotParse = errors.New("experiments: the sim backend cannot parse a question of the dataset file")

// ConfigError is one problem with a config, located in its YAML file.
type ConfigError struct {
	// File is the name given to Parse (the path given to Load); "" for a
	// config that was not read from a file.
	File string
	// Line is the 1-based line of the offending key or value; 0 if unknown
	// (a config built in Go, or a YAML error without a position).
	Line int
	// Field is the path of the offending field, e.g.
	// "team.agents[1].temperature.high"; "" for YAML syntax errors.
	Field string
	// Msg says what is wrong and what would be valid.
	Msg string
	// Err is the underlying cause (a YAML, space, datasets or optimizer
	// error); nil if none.
	Err error
}

// Error formats the error as "file:line: field: message".
func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("config")
	}
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is reports whether target is ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// Unwrap returns the underlying cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// ErrorList is several problems with one config, in file order (by line,
// then in the order they were found). It is returned only when there are at
// least two; errors.As finds the first *ConfigError in it.
type ErrorList []*ConfigError

// Error prints one error a line.
func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// err returns nil, the only error, or the list sorted by line.
func (l ErrorList) err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	sorted := make(ErrorList, len(l))
	copy(sorted, l)
	slices.SortStableFunc(sorted, func(a, b *ConfigError) int { return cmp.Compare(a.Line, b.Line) })
	return sorted
}
