package experiments

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
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

// lm.delay slows the surrogate model without changing a result, so not the
// studies' config hash either; it is a sim setting.
func TestDelay(t *testing.T) {
	plain := mustStudies(t, mustParse(t, edited(nil), "d.yaml"))
	c := mustParse(t, edited(map[int]string{3: "lm: {backend: sim, seed: 0, delay: 30ms}"}), "d.yaml")
	slow := mustStudies(t, c)
	if slow[0].ConfigHash != plain[0].ConfigHash {
		t.Errorf("lm.delay changed the config hash")
	}
	m, err := c.NewModel()
	if err != nil {
		t.Fatal(err)
	}
	req := lm.Request{Model: "sim-small", Messages: []lm.Message{{Role: "user", Content: "What is 2 + 3?"}}}
	start := time.Now()
	got, err := m.Generate(context.Background(), req)
	if took := time.Since(start); err != nil || took < 30*time.Millisecond {
		t.Errorf("a call with lm.delay 30ms took %v (%v)", took, err)
	}
	want, _ := sim.New(nil).Generate(context.Background(), req)
	if got.Text != want.Text || got.Latency != want.Latency {
		t.Errorf("the delay changed the reply: %+v, want %+v", got, want)
	}
	_, err = Parse([]byte(edited(map[int]string{3: "lm: {backend: openai, base_url: 'http://127.0.0.1:1/v1', prices: {m: {prompt: 0, completion: 0}}, delay: 20ms}"})), "d.yaml")
	if err == nil || !strings.Contains(err.Error(), "lm.delay is a setting of backend sim") {
		t.Errorf("openai with lm.delay: %v", err)
	}
}
