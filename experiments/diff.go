package experiments

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ConfigChange is one field a study's config changed since it was stored:
// its path in the canonical config (e.g. "budget.trials",
// "team.agents[1].model") and the stored and new values as JSON ("" where
// the field is absent).
type ConfigChange struct {
	Path     string
	Old, New string
}

func (c ConfigChange) String() string {
	old, nw := c.Old, c.New
	if old == "" {
		old = "(none)"
	}
	if nw == "" {
		nw = "(none)"
	}
	return fmt.Sprintf("%s: %s → %s", c.Path, old, nw)
}

// budgetOnly reports whether every change is to the budget.
func budgetOnly(cs []ConfigChange) bool {
	for _, c := range cs {
		if c.Path != "budget" && !strings.HasPrefix(c.Path, "budget.") {
			return false
		}
	}
	return true
}

// diffConfigs lists the fields in which two canonical config JSONs differ,
// in path order. Configs that do not parse differ as a whole.
func diffConfigs(old, now []byte) []ConfigChange {
	var a, b any
	if json.Unmarshal(old, &a) != nil || json.Unmarshal(now, &b) != nil {
		return []ConfigChange{{Path: "(config)", Old: string(old), New: string(now)}}
	}
	var out []ConfigChange
	diffValues("", a, b, &out)
	slices.SortFunc(out, func(x, y ConfigChange) int { return strings.Compare(x.Path, y.Path) })
	return out
}

func diffValues(path string, a, b any, out *[]ConfigChange) {
	switch x := a.(type) {
	case map[string]any:
		if y, ok := b.(map[string]any); ok {
			for k, v := range x {
				diffValues(joinPath(path, k), v, y[k], out)
			}
			for k, v := range y {
				if _, ok := x[k]; !ok {
					diffValues(joinPath(path, k), nil, v, out)
				}
			}
			return
		}
	case []any:
		if y, ok := b.([]any); ok && len(x) == len(y) {
			for i := range x {
				diffValues(fmt.Sprintf("%s[%d]", path, i), x[i], y[i], out)
			}
			return
		}
	}
	ja, jb := text(a), text(b)
	if ja != jb {
		*out = append(*out, ConfigChange{Path: path, Old: ja, New: jb})
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// text is v as compact JSON; "" for an absent field.
func text(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
