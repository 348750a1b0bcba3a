package store

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/optimizer"
)

// readSchemaDoc returns docs/schema.md, which must describe this schema.
func readSchemaDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/schema.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSchemaDocumentsEveryColumn(t *testing.T) {
	s, _ := openTemp(t)
	doc := readSchemaDoc(t)
	rows, err := s.db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	for _, table := range tables {
		_, section, ok := strings.Cut(doc, "### `"+table+"`")
		if !ok {
			t.Errorf("docs/schema.md has no section for table %s", table)
			continue
		}
		section, _, _ = strings.Cut(section, "\n### ")
		cols, err := s.db.Query(`SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		for cols.Next() {
			var col string
			cols.Scan(&col)
			if !strings.Contains(section, "| `"+col+"` |") {
				t.Errorf("docs/schema.md: table %s: column %s is not documented", table, col)
			}
		}
		cols.Close()
	}
}

// TestSchemaDocQueries runs every SQL block of docs/schema.md, and checks
// the best-trial query agrees with optimizer.Best.
func TestSchemaDocQueries(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	stMax := mustStudy(t, s, "max")
	stMin, err := s.CreateStudy(ctx, Study{Name: "min", Experiment: "exp", Direction: optimizer.Minimize})
	if err != nil {
		t.Fatal(err)
	}
	values := []float64{0.3, 0.9, 0.1, 0.9, 0.5}
	want := map[string]int{"max": 1, "min": 2}
	for _, st := range []Study{stMax, stMin} {
		for n, v := range values {
			r := record(n, 3)
			r.Trial.Value = v
			if err := s.FinishTrial(ctx, st.ID, r); err != nil {
				t.Fatal(err)
			}
		}
		b := 1
		if err := s.UpdateStudyResult(ctx, st.Name, Result{BestTrial: &b}); err != nil {
			t.Fatal(err)
		}
	}
	blocks := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(readSchemaDoc(t), -1)
	if len(blocks) < 5 {
		t.Fatalf("found %d SQL blocks in docs/schema.md", len(blocks))
	}
	for i, b := range blocks {
		for _, q := range strings.Split(b[1], ";\n") {
			if strings.TrimSpace(q) == "" {
				continue
			}
			args := make([]any, strings.Count(q, "?"))
			for j := range args {
				args[j] = 1
			}
			rows, err := s.db.Query(q, args...)
			if err != nil {
				t.Errorf("SQL block %d: %v\n%s", i, err, q)
				continue
			}
			n := 0
			for rows.Next() {
				if i == 0 {
					var name, params string
					var opt, dataset, seed, value any
					var best int
					if err := rows.Scan(&name, &opt, &dataset, &seed, &best, &value, &params); err != nil {
						t.Fatal(err)
					}
					if best != want[name] {
						t.Errorf("best-trial query: study %s: trial %d, want %d", name, best, want[name])
					}
				}
				n++
			}
			if err := rows.Err(); err != nil {
				t.Errorf("SQL block %d: %v", i, err)
			}
			rows.Close()
			if i == 0 && n != 2 {
				t.Errorf("best-trial query returned %d rows, want 2", n)
			}
		}
	}
}
