package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sqliteFile writes an SQLite database (not a store) made by stmts at path.
func sqliteFile(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestOpenExistingRefusesNonStores: OpenExisting refuses a missing file,
// an empty one, one that is no SQLite database, and an SQLite database
// that is not a store, each with a message naming the path and without
// writing to it; Open refuses all but the empty file (which becomes a store).
func TestOpenExistingRefusesNonStores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	foreign := filepath.Join(dir, "foreign.db")
	sqliteFile(t, foreign, `CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)`, `INSERT INTO notes (text) VALUES ('mine')`)
	bare := filepath.Join(dir, "bare.db")
	sqliteFile(t, bare, `PRAGMA user_version = 3`)
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path       string
		want       error
		frag       string
		openRefuse bool // Open refuses it too
	}{
		{filepath.Join(dir, "missing.db"), ErrNotFound, "no such file", false},
		{write("empty.db", nil), ErrNotAStore, "is empty", false},
		{write("text.db", []byte("id,score\n1,0.5\n")), ErrNotAStore, "is not an SQLite database", true},
		{write("short.db", []byte("SQLite")), ErrNotAStore, "is not an SQLite database", true},
		{foreign, ErrNotAStore, "another program", true},
		{bare, ErrNotAStore, "without tables", false},
		{sub, ErrNotAStore, "is a directory", true},
	}
	for _, c := range cases {
		before, _ := os.ReadFile(c.path)
		s, err := OpenExisting(ctx, c.path)
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("OpenExisting(%s) = %v; want %v naming the path and saying %q", filepath.Base(c.path), err, c.want, c.frag)
		}
		after, _ := os.ReadFile(c.path)
		if !bytes.Equal(before, after) {
			t.Errorf("OpenExisting(%s) changed the file", filepath.Base(c.path))
		}
		if c.openRefuse {
			s, err := Open(ctx, c.path)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, c.want) {
				t.Errorf("Open(%s) = %v; want %v", filepath.Base(c.path), err, c.want)
			}
			if after, _ := os.ReadFile(c.path); !bytes.Equal(before, after) {
				t.Errorf("Open(%s) changed the file", filepath.Base(c.path))
			}
		}
	}
	for _, c := range cases {
		if _, err := os.Stat(c.path + "-wal"); err == nil {
			t.Errorf("%s-wal was created", filepath.Base(c.path))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("OpenExisting created the missing file")
	}

	// A store opens; an empty file given to Open becomes one.
	s, err := Open(ctx, filepath.Join(dir, "empty.db"))
	if err != nil {
		t.Fatalf("Open of an empty file: %v", err)
	}
	s.Close()
	s, err = OpenExisting(ctx, filepath.Join(dir, "empty.db"))
	if err != nil {
		t.Fatalf("OpenExisting of a store: %v", err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations()) {
		t.Errorf("schema version %d, %v", v, err)
	}
}

// TestOpenRefusesMissingDirectory: Open never creates directories.
func TestOpenRefusesMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no", "such")
	path := filepath.Join(dir, "x.db")
	s, err := Open(context.Background(), path)
	if err == nil {
		s.Close()
	}
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "directory "+dir+" does not exist") {
		t.Errorf("Open in a missing directory: %v; want an fs.ErrNotExist error naming %s", err, dir)
	}
	if _, err := os.Stat(filepath.Dir(dir)); err == nil {
		t.Error("Open created a directory")
	}
}

// TestOpenDamaged: a store whose schema_version table was emptied or
// dropped is reported as damaged (not "table studies already exists"),
// by Open and OpenExisting, and left as it was.
func TestOpenDamaged(t *testing.T) {
	ctx := context.Background()
	for _, damage := range []string{`DELETE FROM schema_version`, `DROP TABLE schema_version`} {
		s, path := openTemp(t)
		mustStudy(t, s, "kept")
		if _, err := s.db.Exec(damage); err != nil {
			t.Fatal(err)
		}
		s.Close()
		for name, openFn := range map[string]func(context.Context, string) (*Store, error){"Open": Open, "OpenExisting": OpenExisting} {
			s, err := openFn(ctx, path)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "damaged store") || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: %s after %q: %v; want ErrDamaged naming the file", damage, name, damage, err)
			}
		}
		db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		var versions, studies int
		db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_version'`).Scan(&versions)
		if err := db.QueryRow(`SELECT COUNT(*) FROM studies`).Scan(&studies); err != nil || studies != 1 {
			t.Errorf("%s: the damaged store's study is gone: %d, %v", damage, studies, err)
		}
		if strings.HasPrefix(damage, "DROP") && versions != 0 {
			t.Errorf("%s: opening recreated schema_version", damage)
		}
		db.Close()
	}
}
