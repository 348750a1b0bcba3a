package datasets

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrUnknownFamily: no family is registered under the name.
	ErrUnknownFamily = errors.New("datasets: unknown family")
	// ErrUnknownMetric: MetricByName does not know the name.
	ErrUnknownMetric = errors.New("datasets: unknown metric")
	// ErrUnknownFormat: a file format name LoadFile does not know, or a file
	// whose format "auto" cannot tell.
	ErrUnknownFormat = errors.New("datasets: unknown file format")
	// ErrBadLine: a line of a JSONL file is not a valid example; the error
	// is a *LineError saying which.
	ErrBadLine = errors.New("datasets: bad line")
	// ErrSplitSize: split sizes are negative or exceed the examples.
	ErrSplitSize = errors.New("datasets: bad split sizes")
)

// LineError reports a bad line of a JSONL file. It matches ErrBadLine.
type LineError struct {
	File string // the name given to the reader, e.g. the path
	Line int    // 1-based
	Err  error  // what is wrong
}

func (e *LineError) Error() string {
	return fmt.Sprintf("datasets: %s:%d: %v", e.File, e.Line, e.Err)
}

// Unwrap returns what is wrong with the line.
func (e *LineError) Unwrap() error { return e.Err }

// Is reports whether target is ErrBadLine.
func (e *LineError) Is(target error) bool { return target == ErrBadLine }
