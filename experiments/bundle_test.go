package experiments

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm/sim"
)

// A bundle carries a config's data and profiles files: parsed on a machine
// without them (the files removed here), it compiles the same studies, and
// a renamed experiment keeps its new name.
func TestBundle(t *testing.T) {
	dir := t.TempDir()
	exs, err := datasets.GenerateFamily("arithmetic", 30, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	var data strings.Builder
	for _, ex := range exs {
		data.WriteString(gsm8kLine(ex.Question, ex.Answer))
	}
	if err := os.WriteFile(filepath.Join(dir, "data.jsonl"), []byte(data.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p := sim.New(nil).Profiles()[0]
	p.Name = "sim-custom"
	var prof bytes.Buffer
	if err := sim.WriteProfiles(&prof, []sim.Profile{p}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "profiles.yaml"), prof.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	src := edited(map[int]string{3: "lm: {backend: sim, seed: 0, profiles: profiles.yaml}", 6: "    file: data.jsonl", 7: "    format: gsm8k",
		11: "    metric: numeric", 22: "      model: sim-custom"})
	file := filepath.Join(dir, "exp.yaml")
	c := mustParse(t, src, file)
	if err := c.Rename("renamed"); err != nil {
		t.Fatal(err)
	}
	want := mustStudies(t, c)
	b, err := c.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Files) != 2 || b.Files[filepath.Join(dir, "data.jsonl")] == nil || b.Files[filepath.Join(dir, "profiles.yaml")] == nil {
		t.Fatalf("bundle files %d, want the data and the profiles file", len(b.Files))
	}
	for _, f := range []string{"data.jsonl", "profiles.yaml"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	sts := mustStudies(t, got)
	if len(sts) != len(want) {
		t.Fatalf("%d studies from the bundle, %d from the files", len(sts), len(want))
	}
	for i := range want {
		if sts[i].Name != want[i].Name || sts[i].ConfigHash != want[i].ConfigHash || !strings.HasPrefix(sts[i].Name, "renamed/") {
			t.Errorf("study %d: %s %s from the bundle, %s %s from the files", i, sts[i].Name, sts[i].ConfigHash, want[i].Name, want[i].ConfigHash)
		}
		if len(sts[i].Problem.Test) != len(want[i].Problem.Test) || sts[i].Problem.Test[0] != want[i].Problem.Test[0] {
			t.Errorf("study %d: another test split from the bundle", i)
		}
	}

	// A bundle without a file the config names does not fall back on the
	// disk: the missing file is named.
	if err := os.WriteFile(filepath.Join(dir, "data.jsonl"), []byte(data.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	delete(b.Files, filepath.Join(dir, "data.jsonl"))
	_, err = ParseBundle(b)
	if !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "data.jsonl") {
		t.Errorf("ParseBundle without the data file = %v, want a config error naming data.jsonl", err)
	}
}
