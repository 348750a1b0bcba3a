package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/store"
)

// Exit codes, the same for every command (documented in the root
// command's help and in README.md).
const (
	exitOK          = 0   // success
	exitFailure     = 1   // a runtime failure (I/O, SQLite, a bug)
	exitUsage       = 2   // a usage or input error: the caller's to mend
	exitInterrupted = 130 // stopped by SIGINT or SIGTERM
)

// exitCodesHelp is the convention as the root command's help states it.
const exitCodesHelp = `Exit codes (every command):
  0    success
  1    runtime failure (I/O, SQLite, an internal error)
  2    usage or input error: a bad flag, argument, config or data file; an
       unknown study or trial; a --db that is not a store, is damaged, or
       whose directory does not exist; a request that contradicts the
       stored state (tell of a finished trial, run of an existing study
       without --resume, --resume with a changed config, a study that
       another run holds)
  130  interrupted (Ctrl-C, SIGINT or SIGTERM); the message says how to resume`

// usageError marks errors that are the caller's to mend (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// flagError wraps cobra's flag parsing errors so they exit 2.
type flagError struct{ error }

// errInterrupted is wrapped by the error of a command stopped by a signal
// (other than run, whose runner returns experiments.ErrStopped).
var errInterrupted = errors.New("interrupted")

// inputErrors are the packages' sentinels of errors that are the caller's
// to mend: they exit 2 wherever they come from.
var inputErrors = []error{
	// The store: unknown study or trial, a request contradicting its state,
	// a file that is no store (or a damaged one, or one too new).
	store.ErrNotFound, store.ErrExists, store.ErrFinished, store.ErrLeased,
	store.ErrNotAStore, store.ErrDamaged, store.ErrSchemaTooNew,
	// Experiment configs and the state of their studies.
	experiments.ErrInvalidConfig, experiments.ErrSimCannotParse, experiments.ErrStudyExists,
	experiments.ErrConfigChanged,
	// Optimizers and ask/tell.
	optimizer.ErrUnknownTrial, optimizer.ErrFinished, optimizer.ErrNoBudget, optimizer.ErrHistoryMismatch,
	// Data: families, metrics, formats and files.
	datasets.ErrUnknownFamily, datasets.ErrUnknownMetric, datasets.ErrUnknownFormat,
	datasets.ErrBadLine, datasets.ErrSplitSize,
	// Search spaces (a bad assignment is left out: it may be an optimizer's bug).
	space.ErrInvalidSpace,
}

// exitCode maps a command's error to the process exit code: the one place
// that does.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, experiments.ErrStopped) || errors.Is(err, errInterrupted) {
		return exitInterrupted
	}
	var ue *usageError
	var fe flagError
	// cobra reports an unknown subcommand with an untyped error.
	if errors.As(err, &ue) || errors.As(err, &fe) || strings.HasPrefix(err.Error(), "unknown command") {
		return exitUsage
	}
	for _, target := range inputErrors {
		if errors.Is(err, target) {
			return exitUsage
		}
	}
	return exitFailure
}
