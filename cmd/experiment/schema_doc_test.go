package main

// docs/schema.md checked against a store `run` writes: its tables and
// columns are the store's, its schema version is the store's, and each of
// its SQL queries runs and returns rows.

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

const schemaDocPath = "../../docs/schema.md"

// schemaDocConfig is a small quickstart: the doc's queries name the
// quickstart's experiment, study (quickstart/arith/random/seed1) and
// parameter (agent/solver1/temperature), so they are kept here. It caches
// and records calls, so lm_cache and calls have rows too.
const schemaDocConfig = `
name: quickstart
seeds: [1]
lm:
  backend: sim
  cache: true
  record_calls: true
datasets:
  - name: arith
    family: arithmetic
    difficulty: 2
    train: 4
    val: 12
    test: 12
    metric: numeric
team:
  agents:
    - id: solver1
      role: solver
      model: {choices: [sim-medium, sim-small, sim-large]}
      temperature: {low: 0, high: 1, step: 0.25}
    - id: solver2
      role: planner
      model: sim-medium
    - id: critic
      role: critic
      optional: true
      model: sim-medium
  topology: {choices: [mesh, chain, star]}
  rounds: 1
optimizers:
  - name: random
budget:
  trials: 8
`

func TestSchemaDoc(t *testing.T) {
	raw, err := os.ReadFile(schemaDocPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	db := schemaDocStore(t)
	ctx := context.Background()

	got, err := storeColumns(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range docSchemaProblems(docColumns(doc), got) {
		t.Error(p)
	}

	m := regexp.MustCompile(`schema\s+version\s+is\s+(\d+)`).FindStringSubmatch(doc)
	var v int
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if m == nil {
		t.Errorf("%s does not state the schema version (\"schema version is N\"); the store's is %d", schemaDocPath, v)
	} else if m[1] != strconv.Itoa(v) {
		t.Errorf("%s states schema version %s; the store's is %d", schemaDocPath, m[1], v)
	}

	qs := docQueries(doc)
	if len(qs) < 10 {
		t.Fatalf("%s: %d SQL queries found; the parser missed some", schemaDocPath, len(qs))
	}
	for _, p := range queryProblems(ctx, db, qs) {
		t.Error(p)
	}
	t.Logf("%d queries, %d tables checked", len(qs), len(got))
}

// TestSchemaDocCatches checks that the checks fail on a wrong doc.
func TestSchemaDocCatches(t *testing.T) {
	db := schemaDocStore(t)
	ctx := context.Background()
	bad := "Broken:\n\n```sql\nSELECT nosuch FROM studies;\n```\n\nEmpty:\n\n```sql\n" +
		"SELECT 1 FROM studies WHERE 0;\nSELECT * FROM studies WHERE name = ?;\n```\n"
	if p := queryProblems(ctx, db, docQueries(bad)); len(p) != 3 {
		t.Errorf("a broken, an empty and an unbound query: %d problems, want 3: %q", len(p), p)
	}
	got, err := storeColumns(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "### `studies`\n\n| column | type | meaning |\n| --- | --- | --- |\n| `id` | INTEGER PK | x |\n| `nosuch` | TEXT | x |\n" +
		"\n### `nosuch_table`\n| column | type | meaning |\n| --- | --- | --- |\n| `a` | TEXT | x |\n"
	p := docSchemaProblems(docColumns(wrong), got)
	for _, want := range []string{`nosuch_table`, `studies.nosuch`, `studies.name`, `table trials`} {
		if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("no problem mentions %s: %q", want, p)
		}
	}
}

// schemaDocStore runs schemaDocConfig into a new store and returns it
// opened read-only, as a notebook opens it.
func schemaDocStore(t *testing.T) *sql.DB {
	t.Helper()
	dir := t.TempDir()
	cfg, path := filepath.Join(dir, "quickstart.yaml"), filepath.Join(dir, "quickstart.db")
	if err := os.WriteFile(cfg, []byte(schemaDocConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, "run", cfg, "--db", path); code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// storeColumns returns each table of the store with its columns.
func storeColumns(ctx context.Context, db *sql.DB) (map[string][]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			return nil, err
		}
		out[table] = append(out[table], col)
	}
	return out, rows.Err()
}

// docColumns returns the tables of a doc (its "### `name`" headings) with
// the columns of each (the first cell of its "| column |" table's rows).
func docColumns(doc string) map[string][]string {
	out := map[string][]string{}
	table, inCols := "", false
	for line := range strings.Lines(doc) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "### `"):
			table, inCols = strings.Trim(strings.TrimPrefix(line, "### "), "`"), false
			out[table] = nil
		case strings.HasPrefix(line, "#"):
			table, inCols = "", false
		case table != "" && strings.HasPrefix(line, "| column |"):
			inCols = true
		case inCols && strings.HasPrefix(line, "| `"):
			cell, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " |")
			out[table] = append(out[table], strings.Trim(cell, "`"))
		case !strings.HasPrefix(line, "|"):
			inCols = false
		}
	}
	return out
}

// docSchemaProblems compares the doc's tables and columns with the store's.
func docSchemaProblems(doc, store map[string][]string) []string {
	var out []string
	for table, cols := range doc {
		have, ok := store[table]
		if !ok {
			out = append(out, fmt.Sprintf("%s documents table %s, which the store does not have", schemaDocPath, table))
			continue
		}
		for _, c := range cols {
			if !slices.Contains(have, c) {
				out = append(out, fmt.Sprintf("%s documents column %s.%s, which the store does not have", schemaDocPath, table, c))
			}
		}
		for _, c := range have {
			if !slices.Contains(cols, c) {
				out = append(out, fmt.Sprintf("%s does not document column %s.%s", schemaDocPath, table, c))
			}
		}
	}
	for table := range store {
		if _, ok := doc[table]; !ok {
			out = append(out, fmt.Sprintf("%s does not document table %s", schemaDocPath, table))
		}
	}
	slices.Sort(out)
	return out
}

// docQuery is one SQL statement of a doc, named by the doc line its block
// starts on and the first line of the paragraph before it.
type docQuery struct {
	name, sql string
}

var (
	sqlBlock = regexp.MustCompile("(?ms)^```sql\n(.*?)^```")
	// A statement ends at a semicolon that ends a line (the doc's
	// queries have none inside a string).
	statementEnd = regexp.MustCompile(`;[ \t]*(?:\n|$)`)
)

// docQueries returns the statements of the doc's ```sql blocks.
func docQueries(doc string) []docQuery {
	var out []docQuery
	for _, m := range sqlBlock.FindAllStringSubmatchIndex(doc, -1) {
		paras := strings.Split(strings.TrimSpace(doc[:m[0]]), "\n\n")
		caption, _, _ := strings.Cut(paras[len(paras)-1], "\n")
		name := fmt.Sprintf("%s:%d (%q)", schemaDocPath, strings.Count(doc[:m[0]], "\n")+1, caption)
		for i, st := range statementEnd.Split(doc[m[2]:m[3]], -1) {
			if st = strings.TrimSpace(st); st != "" {
				out = append(out, docQuery{fmt.Sprintf("%s statement %d", name, i+1), st})
			}
		}
	}
	return out
}

// queryProblems runs each query and returns one problem for each that
// fails or returns no rows.
func queryProblems(ctx context.Context, db *sql.DB, qs []docQuery) []string {
	var out []string
	for _, q := range qs {
		rows, err := db.QueryContext(ctx, q.sql)
		if err != nil {
			out = append(out, fmt.Sprintf("query %s: %v\n%s", q.name, err, q.sql))
			continue
		}
		found := rows.Next()
		err = rows.Err()
		rows.Close()
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("query %s: %v\n%s", q.name, err, q.sql))
		case !found:
			out = append(out, fmt.Sprintf("query %s returns no rows\n%s", q.name, q.sql))
		}
	}
	return out
}
