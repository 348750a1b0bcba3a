package store

import (
	"errors"
	"fmt"

	"github.com/mabeam/mabeam/optimizer"
)

// Sentinel errors, matched with errors.Is. Errors returned by the store wrap
// them with the study name or id and the trial number concerned.
var (
	// ErrNotFound: no study or trial of that name, id or number; or no
	// file at the path given to OpenExisting.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: a study of that name, or a trial of that number, exists.
	ErrExists = errors.New("store: already exists")
	// ErrFinished: the trial is complete, failed or pruned and cannot be
	// finished again. errors.Is(err, optimizer.ErrFinished) also holds.
	ErrFinished error = &alias{msg: "store: trial already finished", also: optimizer.ErrFinished}
	// ErrInvalid: the argument cannot be stored (empty name, bad JSON,
	// running state passed to FinishTrial, ...).
	ErrInvalid = errors.New("store: invalid argument")
	// ErrSchemaTooNew: the database was written by a newer program, whose
	// schema this one does not know.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this program")
	// ErrLeased: another process holds the study (see Lease); the error is
	// a *LeaseError naming the holder.
	ErrLeased = errors.New("store: study is held by another process")
)

// alias is a sentinel that also matches another package's sentinel.
type alias struct {
	msg  string
	also error
}

func (e *alias) Error() string        { return e.msg }
func (e *alias) Is(target error) bool { return target == e.also }

// wrapped is an error with its own message that matches a sentinel.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

// errorf returns an error reading "store: " + the formatted message that
// matches sentinel with errors.Is.
func errorf(sentinel error, format string, args ...any) error {
	return &wrapped{msg: "store: " + fmt.Sprintf(format, args...), err: sentinel}
}
