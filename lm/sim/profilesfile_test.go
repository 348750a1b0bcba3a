package sim_test

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mabeam/mabeam/lm/sim"
)

// TestProfilesRoundTrip: WriteProfiles then ReadProfiles gives back the
// very profiles, for the built-in ones, one with every field set and
// awkward text, and random ones.
func TestProfilesRoundTrip(t *testing.T) {
	odd := probe()
	odd.Name = "gpt: 4o-mini #1"
	odd.Description = "fitted to 1,200 calls: \"quoted\", 'single'\n  second line, trailing space "
	odd.BaseSkill = 0.1 + 0.2
	odd.PromptPrice, odd.CompletionPrice = 1e-300, 1e6
	odd.Latency, odd.PromptTokenLatency, odd.CompletionTokenLatency = 1500, 90*time.Minute+time.Nanosecond, time.Hour
	odd.Skill["null"], odd.Hardness["yes"] = -0.0, 123
	odd.ConfidenceBias = -2.5e-9
	empty := sim.Profile{Name: "123", Skill: map[string]float64{}, Hardness: map[string]float64{}}
	ps := append(sim.DefaultProfiles(), odd, empty)
	r := rand.New(rand.NewPCG(8, 9))
	for i := range 20 {
		ps = append(ps, sim.Profile{Name: "r" + string(rune('a'+i)), BaseSkill: r.NormFloat64(), Skill: map[string]float64{"arithmetic": r.NormFloat64() * 1e3},
			Hardness: map[string]float64{"logic": r.ExpFloat64()}, PromptPrice: r.ExpFloat64(), CompletionPrice: r.ExpFloat64(),
			Latency: time.Duration(r.Int64N(1e12)), PromptTokenLatency: time.Duration(r.Int64N(1e6)), CompletionTokenLatency: time.Duration(r.Int64N(1e9)),
			Conformity: r.Float64(), ConfidenceBias: r.NormFloat64(), Verbosity: r.ExpFloat64()})
	}
	var buf bytes.Buffer
	if err := sim.WriteProfiles(&buf, ps, "fitted by a test\n\nsecond line"); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	got, err := sim.ReadProfiles(strings.NewReader(text), "round.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !reflect.DeepEqual(got, ps) {
		for i := range ps {
			if i < len(got) && !reflect.DeepEqual(got[i], ps[i]) {
				t.Errorf("profile %d:\n got %+v\nwant %+v", i, got[i], ps[i])
			}
		}
		t.Fatalf("round trip changed the profiles:\n%s", text)
	}
	if !strings.HasPrefix(text, "# fitted by a test\n#\n# second line\nprofiles:\n") {
		t.Errorf("the comment heads the file as # lines:\n%s", text[:80])
	}

	// LoadProfiles, and the loaded profiles replace the built-in ones.
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte("profiles:\n  - name: sim-medium\n    base_skill: 0.1\n    description: mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := sim.LoadProfiles(path)
	if err != nil {
		t.Fatal(err)
	}
	m := sim.New(&sim.Options{Profiles: loaded})
	if p := profileByName(m.Profiles(), "sim-medium"); p.Description != "mine" || p.Skill != nil || p.Latency != 0 {
		t.Errorf("loaded sim-medium served as %+v", p)
	}
	if _, err := sim.LoadProfiles(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestProfilesErrors: each mistake is reported with the file, its line
// and its field.
func TestProfilesErrors(t *testing.T) {
	const head = "profiles:\n  - name: a\n"
	for _, c := range []struct {
		name, text string
		want       []string // in the error: "file:line", the field, the reason
	}{
		{"unknown key", head + "    skil: {arithmetic: 1}\n", []string{"bad.yaml:3", "profiles[0].skil", "unknown key"}},
		{"unknown top key", "profile:\n  - name: a\n", []string{"bad.yaml:1", "profile", "unknown key"}},
		{"price a string", head + "    prompt_price: cheap\n", []string{"bad.yaml:3", "profiles[0].prompt_price", "want a number"}},
		{"negative price", head + "    completion_price: -1\n", []string{"bad.yaml:3", "profiles[0].completion_price", "negative price"}},
		{"conformity", head + "    conformity: 1.5\n", []string{"bad.yaml:3", "profiles[0].conformity", "outside [0, 1]"}},
		{"NaN skill", head + "    skill: {arithmetic: .nan}\n", []string{"bad.yaml:3", "profiles[0].skill.arithmetic", "not a finite number"}},
		{"infinite slope", head + "    hardness:\n      logic: -.inf\n", []string{"bad.yaml:4", "profiles[0].hardness.logic", "not a finite number"}},
		{"skill a list", head + "    skill: [1, 2]\n", []string{"bad.yaml:3", "profiles[0].skill", "want a mapping"}},
		{"bad duration", head + "    latency: 250\n", []string{"bad.yaml:3", "profiles[0].latency", "want a duration"}},
		{"negative latency", head + "    completion_token_latency: -8ms\n", []string{"bad.yaml:3", "profiles[0].completion_token_latency", "negative latency"}},
		{"negative verbosity", head + "    verbosity: -1\n", []string{"bad.yaml:3", "profiles[0].verbosity", "negative verbosity"}},
		{"duplicate name", head + "  - name: b\n  - name: a\n", []string{"bad.yaml:4", "profiles[2].name", `duplicate profile "a" (first at line 2)`}},
		{"duplicate key", head + "    base_skill: 1\n    base_skill: 2\n", []string{"bad.yaml:4", "profiles[0].base_skill", "duplicate key (first at line 3)"}},
		{"no name", "profiles:\n  - base_skill: 1\n", []string{"bad.yaml:2", "profiles[0].name", "needs a name"}},
		{"name a number", "profiles:\n  - name: 7\n", []string{"bad.yaml:2", "profiles[0].name", "want a string"}},
		{"not a list", "profiles: {name: a}\n", []string{"bad.yaml:1", "profiles", "want a list"}},
		{"empty list", "profiles: []\n", []string{"bad.yaml:1", "profiles", "empty"}},
		{"empty file", "", []string{"bad.yaml:1", "empty file"}},
		{"syntax", "profiles:\n  - name: a\n   base_skill: [\n", []string{"bad.yaml:", "YAML syntax"}},
		{"alias", "profiles:\n  - &p {name: a}\n  - *p\n", []string{"bad.yaml:3", "profiles[1]", "aliases are not supported"}},
		{"profile a string", "profiles:\n  - sim-medium\n", []string{"bad.yaml:2", "profiles[0]", `want a mapping of a profile's fields, not "sim-medium"`}},
		{"two documents", head + "---\nprofiles: []\n", []string{"bad.yaml:", "second YAML document"}},
	} {
		_, err := sim.ReadProfiles(strings.NewReader(c.text), "bad.yaml")
		if err == nil {
			t.Errorf("%s: no error for\n%s", c.name, c.text)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
		var fe *sim.FileError
		if !errors.As(err, &fe) || fe.File != "bad.yaml" {
			t.Errorf("%s: %v is not a *sim.FileError of bad.yaml", c.name, err)
		}
	}
	// All the mistakes of a file at once.
	_, err := sim.ReadProfiles(strings.NewReader(head+"    prompt_price: x\n    verbosity: -2\n"), "bad.yaml")
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:3") || !strings.Contains(err.Error(), "bad.yaml:4") {
		t.Errorf("two mistakes: %v", err)
	}
	// WriteProfiles refuses what ReadProfiles would.
	for name, ps := range map[string][]sim.Profile{
		"NaN":       {{Name: "a", BaseSkill: math.NaN()}},
		"duplicate": {{Name: "a"}, {Name: "a"}},
		"invalid":   {{Name: "a", Conformity: 2}},
		"no name":   {{}},
		"none":      nil,
		"bad UTF-8": {{Name: "a\xff"}},
	} {
		if err := sim.WriteProfiles(&bytes.Buffer{}, ps, ""); err == nil {
			t.Errorf("WriteProfiles wrote profiles with %s", name)
		}
	}
}
