package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3" // also registers the "sqlite3" driver
)

// Errors of Open and OpenExisting, matched with errors.Is (see also
// ErrSchemaTooNew, and ErrNotFound for a missing file given to
// OpenExisting).
var (
	// ErrNotAStore: the file is not a MABEAM store: empty (refused by
	// OpenExisting only), not an SQLite database, or an SQLite database of
	// another program (tables of its own and no schema_version table). The
	// file is left as it was.
	ErrNotAStore = errors.New("store: not a MABEAM store")
	// ErrDamaged: the file holds the store's tables but its schema_version
	// table is missing or empty, so its schema version is not known.
	// Nothing is changed; restore the file from a backup, or use another.
	ErrDamaged = errors.New("store: damaged store")
)

// busyTimeout is how long a statement waits for another process's write
// lock before failing with "database is locked".
const busyTimeout = 10 * time.Second

// Store is an open trial store. It is safe for concurrent use, and several
// Stores (in one process or many) may use the same file at once: writers
// take turns, readers never wait for them.
type Store struct {
	db   *sql.DB
	path string

	// writeMu serialises this Store's write transactions, so that its
	// goroutines queue here instead of polling in SQLite's busy handler.
	writeMu sync.Mutex

	statsMu sync.Mutex // protects stats
	stats   CacheStats // Hits, Misses and SavedCost since Open
}

// Open opens the store at path, creating the file if needed and bringing
// its schema up to date. ":memory:" is a private in-memory store (for tests).
// A file is used in WAL mode with foreign keys enforced. Open refuses,
// leaving the file as it was: a path whose directory does not exist (an
// error matching fs.ErrNotExist; Open never creates directories), a file
// that is not an SQLite database or is another program's (ErrNotAStore), a
// damaged store (ErrDamaged), and a database written by a newer program
// (ErrSchemaTooNew). An empty file becomes a new store.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, migrations())
}

// OpenExisting opens the store at path as Open does, but only if the file
// is already a MABEAM store: a missing file is refused with ErrNotFound; an
// empty file, a file that is not an SQLite database, and an SQLite database
// without the store's schema_version table with ErrNotAStore. Nothing is
// created or written in a refused file. A store of an older schema version
// is brought up to date, as by Open. Commands that read a store use it, so
// that a mistyped path is never made into a new, empty store.
func OpenExisting(ctx context.Context, path string) (*Store, error) {
	return openFile(ctx, path, migrations(), true)
}

// open is Open with the given migration steps.
func open(ctx context.Context, path string, steps []string) (*Store, error) {
	return openFile(ctx, path, steps, false)
}

func openFile(ctx context.Context, path string, steps []string, existing bool) (*Store, error) {
	if path == "" {
		return nil, errorf(ErrInvalid, "open: empty path (use \":memory:\" for a temporary store)")
	}
	params := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=on&_txlock=immediate", busyTimeout.Milliseconds())
	var dsn string
	mem := path == ":memory:"
	var filled bool // the file exists and is not empty
	if mem {
		dsn = "file::memory:?" + params
	} else {
		var err error
		if filled, err = checkFile(path, existing); err != nil {
			return nil, err
		}
		// synchronous=NORMAL (in WAL mode) keeps every commit across a killed
		// process; only power loss can drop the last ones.
		dsn = "file:" + escapePath(path) + "?" + params + "&_synchronous=NORMAL"
		if existing {
			dsn += "&mode=rw" // never create the file
		}
	}
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if mem {
		// Every connection to ":memory:" is a database of its own: keep one.
		db.SetMaxOpenConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	} else {
		db.SetMaxIdleConns(4)
	}
	s := &Store{db: db, path: path}
	if filled {
		// Before anything writes to the file (the switch to WAL does).
		if err := s.checkTables(ctx, steps, existing); err != nil {
			db.Close()
			return nil, err
		}
	}
	if !mem {
		if err := s.useWAL(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := s.migrate(ctx, steps); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// sqliteHeader starts every SQLite database file.
const sqliteHeader = "SQLite format 3\x00"

// checkFile checks what is at path before SQLite opens it: a file whose
// first bytes are SQLite's header, an empty file (unless existing), or
// nothing in an existing directory (unless existing). It reports whether
// the file exists and is not empty.
func checkFile(path string, existing bool) (filled bool, err error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if existing {
			return false, errorf(ErrNotFound, "open %s: no such file", path)
		}
		dir := filepath.Dir(path)
		if di, err := os.Stat(dir); err != nil || !di.IsDir() {
			return false, &wrapped{msg: fmt.Sprintf("store: open %s: directory %s does not exist", path, dir), err: fs.ErrNotExist}
		}
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: open %s: %w", path, err)
	case fi.IsDir():
		return false, errorf(ErrNotAStore, "not a MABEAM store: %s is a directory", path)
	case fi.Size() == 0:
		if existing {
			return false, errorf(ErrNotAStore, "not a MABEAM store: %s is empty", path)
		}
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false, fmt.Errorf("store: open %s: %w", path, err)
	}
	if string(head) != sqliteHeader {
		return false, errorf(ErrNotAStore, "not a MABEAM store: %s is not an SQLite database", path)
	}
	return true, nil
}

// checkTables refuses an SQLite database that is not a store: one with
// tables but no schema_version table (damaged if they are the store's own,
// another program's otherwise) and, if existing, one without tables. It
// only reads.
func (s *Store) checkTables(ctx context.Context, steps []string, existing bool) error {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return s.openError(err)
	}
	defer rows.Close()
	ours := storeTables(steps)
	var versioned, own, other bool
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return s.openError(err)
		}
		switch {
		case name == "schema_version":
			versioned = true
		case ours[name]:
			own = true
		default:
			other = true
		}
	}
	if err := rows.Err(); err != nil {
		return s.openError(err)
	}
	switch {
	case versioned:
		return nil
	case own:
		return errorf(ErrDamaged, "open %s: damaged store: it has the store's tables but no schema_version table (restore it from a backup, or use another file)", s.path)
	case other:
		return errorf(ErrNotAStore, "not a MABEAM store: %s is an SQLite database of another program (it has no schema_version table)", s.path)
	case existing:
		return errorf(ErrNotAStore, "not a MABEAM store: %s is an SQLite database without tables", s.path)
	}
	return nil
}

// openError wraps an SQLite error met while opening: a file SQLite finds
// is no database, or a corrupt one, matches ErrNotAStore or ErrDamaged.
func (s *Store) openError(err error) error {
	var e sqlite3.Error
	if errors.As(err, &e) {
		switch e.Code {
		case sqlite3.ErrNotADB:
			return errorf(ErrNotAStore, "not a MABEAM store: %s is not an SQLite database: %v", s.path, err)
		case sqlite3.ErrCorrupt:
			return errorf(ErrDamaged, "open %s: damaged store: %v", s.path, err)
		}
	}
	return fmt.Errorf("store: open %s: %w", s.path, err)
}

var createTable = regexp.MustCompile(`(?i)\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?["\x60]?(\w+)`)

// storeTables returns the names of the tables the steps create.
func storeTables(steps []string) map[string]bool {
	out := map[string]bool{}
	for _, st := range steps {
		for _, m := range createTable.FindAllStringSubmatch(st, -1) {
			out[m[1]] = true
		}
	}
	delete(out, "schema_version")
	return out
}

// escapePath escapes the characters a SQLite file URI gives a meaning to.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// Close closes the database. Calls after Close fail.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the path the store was opened with.
func (s *Store) Path() string { return s.path }

// SchemaVersion returns the schema version of the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: %s: schema version: %w", s.path, err)
	}
	return v, nil
}

// useWAL puts the file in WAL mode (which lets readers run beside a
// writer, and persists in the file). Switching fails at once, without
// waiting for the busy timeout, while another process opens the same new
// file, so it is retried here.
func (s *Store) useWAL(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		var mode string
		err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
		if err == nil && mode != "wal" {
			err = fmt.Errorf("journal mode is %q, not wal", mode)
		}
		var e sqlite3.Error
		if err == nil || !errors.As(err, &e) || e.Code != sqlite3.ErrBusy || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("store: open %s: WAL mode: %w", s.path, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: open %s: %w", s.path, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// migrate applies the steps the database has not seen, each in its own
// transaction, and refuses a database newer than len(steps).
func (s *Store) migrate(ctx context.Context, steps []string) error {
	var v int
	// In a write transaction from the start: a statement that reads and then
	// writes can fail at once with "database is locked" when another
	// process wrote in between, without waiting for the busy timeout.
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    INTEGER PRIMARY KEY,
			applied_at TEXT NOT NULL
		)`); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil || v > 0 {
			return err
		}
		// No version: a new file, unless the store's tables are there.
		return damagedIfTables(ctx, tx, s.path, storeTables(steps))
	})
	if errors.Is(err, ErrDamaged) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: open %s: schema version: %w", s.path, err)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if v > len(steps) {
		return errorf(ErrSchemaTooNew, "open %s: database schema version %d is newer than this program's %d (upgrade the program, or use another file)", s.path, v, len(steps))
	}
	for i := v; i < len(steps); i++ {
		if err := s.applyStep(ctx, i+1, steps[i]); err != nil {
			return err
		}
	}
	return nil
}

// damagedIfTables returns an ErrDamaged error if any of tables exists.
func damagedIfTables(ctx context.Context, tx *sql.Tx, path string, tables map[string]bool) error {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		if tables[name] {
			return errorf(ErrDamaged, "open %s: damaged store: its schema_version table is empty but table %s exists, so its schema version is not known (restore it from a backup, or use another file)", path, name)
		}
	}
	return rows.Err()
}

// applyStep brings the schema to version to, unless another process did
// it first.
func (s *Store) applyStep(ctx context.Context, to int, step string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: open %s: migrate to version %d: %w", s.path, to, err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return fmt.Errorf("store: open %s: migrate to version %d: %w", s.path, to, err)
	}
	if v >= to {
		return nil
	}
	if _, err := tx.ExecContext(ctx, step); err != nil {
		return fmt.Errorf("store: open %s: migrate to version %d: %w", s.path, to, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`, to, formatTime(time.Now())); err != nil {
		return fmt.Errorf("store: open %s: migrate to version %d: %w", s.path, to, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: open %s: migrate to version %d: %w", s.path, to, err)
	}
	return nil
}

// write runs f in one write transaction, committed if f returns nil.
func (s *Store) write(ctx context.Context, f func(tx *sql.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return ctxCause(ctx, err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return ctxCause(ctx, err)
	}
	return ctxCause(ctx, tx.Commit())
}

// ctxCause is err, marked as caused by ctx's end when ctx has ended (the
// driver rolls a transaction back then, with an error that does not say
// why), so callers can tell an abandoned write (errors.Is
// context.Canceled) from a failed one.
func ctxCause(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// timeLayout is fixed-width UTC with microseconds, so the text sorts in time
// order and SQLite's date functions and pandas read it.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime is NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q: %w", s.String, err)
	}
	return t, nil
}

// nullFloat is NULL for NaN, which SQL has no value for.
func nullFloat(x float64) any {
	if math.IsNaN(x) {
		return nil
	}
	return x
}

// floatOrNaN reads a nullable REAL, NULL as NaN.
func floatOrNaN(x sql.NullFloat64) float64 {
	if !x.Valid {
		return math.NaN()
	}
	return x.Float64
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var e sqlite3.Error
	return errors.As(err, &e) &&
		(e.ExtendedCode == sqlite3.ErrConstraintUnique || e.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}

// isForeignKey reports whether err is a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	var e sqlite3.Error
	return errors.As(err, &e) && e.ExtendedCode == sqlite3.ErrConstraintForeignKey
}
