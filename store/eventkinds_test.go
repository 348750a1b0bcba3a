package store

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// eventCall matches a call of Event (or of a helper named event...) and the
// first string literal among its arguments, which may hold calls such as
// context.WithoutCancel(ctx).
var eventCall = regexp.MustCompile("\\b[eE]vent\\w*\\((?:[^\"()]|\\([^()]*\\))*?\"([a-z][a-z0-9._-]*)\"")

// writtenEventKinds returns the event kinds the module's non-test Go code
// writes.
func writtenEventKinds(t *testing.T) []string {
	t.Helper()
	var kinds []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != ".." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "out" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range eventCall.FindAllSubmatch(src, -1) {
			if k := string(m[1]); !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(kinds)
	return kinds
}

// documentedEventKinds returns the kinds in the table under "Event kinds"
// in docs/schema.md.
func documentedEventKinds(t *testing.T) []string {
	t.Helper()
	_, section, ok := strings.Cut(readSchemaDoc(t), "#### Event kinds")
	if !ok {
		t.Fatal("docs/schema.md has no \"#### Event kinds\" section")
	}
	if i := strings.Index(section, "\n#"); i >= 0 {
		section = section[:i]
	}
	var kinds []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(section, -1) {
		kinds = append(kinds, m[1])
	}
	slices.Sort(kinds)
	return kinds
}

// TestSchemaDocEventKinds: docs/schema.md lists exactly the event kinds the
// code writes: none that is never written, none written but not listed.
func TestSchemaDocEventKinds(t *testing.T) {
	written, documented := writtenEventKinds(t), documentedEventKinds(t)
	t.Logf("written: %v", written)
	if len(written) == 0 {
		t.Fatal("found no Event call in the sources; the pattern is out of date")
	}
	for _, k := range documented {
		if !slices.Contains(written, k) {
			t.Errorf("docs/schema.md lists event kind %q, which no code writes (written: %v)", k, written)
		}
	}
	for _, k := range written {
		if !slices.Contains(documented, k) {
			t.Errorf("the code writes event kind %q, which docs/schema.md does not list (listed: %v)", k, documented)
		}
	}
}
