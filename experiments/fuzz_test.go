package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; every error is a *ConfigError (or a list
// of them) matching ErrInvalidConfig, and YAML syntax errors carry a line;
// a config that parses writes canonical YAML that parses back to the same
// canonical JSON.
func FuzzParse(f *testing.F) {
	f.Add([]byte(edited(nil)))
	f.Add([]byte(roundTripConfig))
	f.Add([]byte(edited(map[int]string{14: "    - &b {id: a1, model: sim-small}", 15: "    - {<<: *b, id: a3}", 16: "", 17: "", 18: "", 27: ""})))
	f.Add([]byte("name: x\nseeds: &s [1, *s]\n"))
	f.Add([]byte("a: &a {<<: [*a, *a]}\n"))
	shipped, _ := filepath.Glob("*.yaml")
	for _, file := range shipped {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %T does not match ErrInvalidConfig: %v", err, err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *ConfigError: %v", err, err)
			}
			var l ErrorList
			if errors.As(err, &l) && len(l) < 2 {
				t.Fatalf("an ErrorList of %d", len(l))
			}
			if strings.HasPrefix(ce.Msg, "YAML syntax") && ce.Line <= 0 {
				t.Fatalf("a YAML syntax error without a line: %v", err)
			}
			return
		}
		y, err := c.YAML()
		if err != nil {
			t.Fatalf("YAML of a valid config: %v", err)
		}
		c2, err := Parse(y, "fuzz.yaml")
		if err != nil {
			t.Fatalf("canonical YAML does not parse back: %v\n%s", err, y)
		}
		if a, b := c.JSON(), c2.JSON(); string(a) != string(b) {
			t.Fatalf("canonical JSON changed on the round trip:\n%s\n%s", a, b)
		}
	})
}
