package experiments

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// referenceFile is the config reference that TestConfigReference checks.
const referenceFile = "../docs/config.md"

// keyLists places each key list of decode.go in the reference's notation:
// the keys of list name are accepted under prefix.
var keyLists = []struct {
	prefix, name string
	keys         []string
}{
	{"", "topKeys", topKeys},
	{"lm", "lmKeys", lmKeys},
	{"lm.prices.<model>", "priceKeys", priceKeys},
	{"datasets[]", "datasetKeys", datasetKeys},
	{"team", "teamKeys", teamKeys},
	{"team.agents[]", "agentKeys", agentKeys},
	{"team.edges[]", "edgeKeys", edgeKeys},
	{"<variable>", "paramKeys", paramKeys},
	{"optimizers[]", "optimizerKey", optimizerKey},
	{"budget", "budgetKeys", budgetKeys},
}

// freeKeys are the mappings whose keys the researcher chooses. decode.go
// reads them, and optimizer settings, with d.fields(..., nil): there are
// freeSites such calls (settings values, baseline, lm.models, lm.prices,
// and extraVars for both kinds of vars).
var freeKeys = []string{"baseline.<key>", "lm.models.<name>", "lm.prices.<model>", "team.vars.<name>", "team.agents[].vars.<name>"}

const freeSites = 5

// settingsFallback names the settings type of an optimizer whose value has
// no Settings field.
var settingsFallback = map[string]reflect.Type{"random": reflect.TypeFor[optimizer.RandomSettings]()}

// refRow is one row of a key table of the reference.
type refRow struct {
	line  int
	path  string   // the key path, without backticks
	cells []string // Key, Type, Default, Meaning, Constraints, Example
}

var (
	backticked = regexp.MustCompile("^`([^`]+)`$")
	refSegment = regexp.MustCompile(`^(?:<[a-z]+>|[a-z_]+(?:\[[a-z]*\])?)$`)
)

// TestConfigReference checks docs/config.md against the decoder: every
// documented key is accepted where the reference puts it and its example
// decodes there, every key the decoder accepts is documented, and every
// yaml block is a valid config.
func TestConfigReference(t *testing.T) {
	rows, blocks := readReference(t)
	checkFieldsCalls(t)

	documented := map[string]bool{}
	for _, r := range rows {
		if documented[r.path] {
			t.Errorf("%s:%d: %s is documented twice", referenceFile, r.line, r.path)
		}
		documented[r.path] = true
	}
	accepted := decoderPaths(t)
	for _, r := range rows {
		if !accepted[r.path] {
			t.Errorf("%s:%d: %s is documented but the decoder does not accept it", referenceFile, r.line, r.path)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(accepted)) {
		if !documented[p] {
			t.Errorf("the decoder accepts %s, which %s does not document", p, referenceFile)
		}
	}
	for _, r := range rows {
		checkRow(t, r)
	}
	if len(blocks) == 0 {
		t.Errorf("%s has no yaml block", referenceFile)
	}
	for _, line := range slices.Sorted(maps.Keys(blocks)) {
		if _, err := Parse([]byte(blocks[line]), referenceFile); err != nil {
			t.Errorf("%s: the yaml block of line %d is not a valid config (lines count from the block's first):\n%v", referenceFile, line, err)
		}
	}
	t.Logf("%d key paths documented and checked against the decoder; %d configs parsed", len(rows), len(blocks))
}

// readReference returns the rows of the key tables (those whose first
// header cell is "Key") and the yaml blocks by their first line.
func readReference(t *testing.T) ([]refRow, map[int]string) {
	t.Helper()
	f, err := os.Open(referenceFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []refRow
	blocks := map[int]string{}
	inTable, inBlock, start := false, false, 0
	var block strings.Builder
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case inBlock && line == "```":
			inBlock, blocks[start] = false, block.String()
			continue
		case inBlock:
			block.WriteString(line + "\n")
			continue
		case line == "```yaml":
			inBlock, start = true, n+1
			block.Reset()
			continue
		}
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), "|"), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case !inTable:
			inTable = cells[0] == "Key"
			if inTable && len(cells) != 6 {
				t.Errorf("%s:%d: a key table has the columns Key, Type, Default, Meaning, Constraints, Example", referenceFile, n)
			}
			continue
		case strings.Trim(cells[0], "- ") == "":
			continue // the separator row
		}
		if len(cells) != 6 || slices.Contains(cells, "") {
			t.Errorf("%s:%d: want 6 non-empty cells (a | inside a cell?); have %q", referenceFile, n, cells)
			continue
		}
		m := backticked.FindStringSubmatch(cells[0])
		if m == nil {
			t.Errorf("%s:%d: the first cell %q is not a key path in backticks", referenceFile, n, cells[0])
			continue
		}
		for _, s := range strings.Split(m[1], ".") {
			if !refSegment.MatchString(s) {
				t.Errorf("%s:%d: %s: segment %q is not a key, key[], key[name] or <placeholder>", referenceFile, n, m[1], s)
			}
		}
		rows = append(rows, refRow{line: n, path: m[1], cells: cells})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if inBlock {
		t.Errorf("%s:%d: unterminated yaml block", referenceFile, start)
	}
	return rows, blocks
}

// checkFieldsCalls checks that keyLists covers every key list decode.go
// reads mappings with, and that no list is written inline there.
func checkFieldsCalls(t *testing.T) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "decode.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	placed := map[string]bool{}
	for _, l := range keyLists {
		placed[l.name] = false
	}
	nils := 0
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 3 {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "fields" {
			return true
		}
		pos := fset.Position(call.Pos())
		switch a := call.Args[2].(type) {
		case *ast.Ident:
			if _, ok := placed[a.Name]; ok {
				placed[a.Name] = true
			} else if a.Name == "nil" {
				nils++
			} else {
				t.Errorf("%s: d.fields reads the key list %s, which keyLists does not place in the reference", pos, a.Name)
			}
		default:
			t.Errorf("%s: d.fields with an inline key list: hoist it into a package-level var and add it to keyLists", pos)
		}
		return true
	})
	for name, used := range placed {
		if !used {
			t.Errorf("keyLists places %s, which no d.fields call in decode.go reads", name)
		}
	}
	if nils != freeSites {
		t.Errorf("decode.go reads %d mappings of free keys (d.fields with nil); the test knows %d: document the new one and add it to freeKeys", nils, freeSites)
	}
}

// decoderPaths is every key path the decoder accepts, from its key lists
// and the optimizers' settings types.
func decoderPaths(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, l := range keyLists {
		for _, k := range l.keys {
			out[join(l.prefix, k)] = true
		}
	}
	for _, p := range freeKeys {
		out[p] = true
	}
	for _, name := range optimizer.Names() {
		typ, ok := settingsFallback[name]
		if !ok {
			o, err := optimizer.New(name, nil)
			if err != nil {
				t.Fatal(err)
			}
			v := reflect.Indirect(reflect.ValueOf(o))
			if v.Kind() == reflect.Struct {
				if f := v.FieldByName("Settings"); f.IsValid() && f.Kind() == reflect.Struct {
					typ = f.Type()
				}
			}
		}
		if typ == nil {
			t.Errorf("optimizer %q: its value has no Settings struct; add its settings type to settingsFallback", name)
			continue
		}
		for _, k := range jsonKeys(typ) {
			out["optimizers["+name+"].settings."+k] = true
		}
	}
	return out
}

// jsonKeys are the keys optimizer.DecodeSettings accepts into a struct of
// type typ, embedded structs flattened as encoding/json does.
func jsonKeys(typ reflect.Type) []string {
	var out []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if ft := f.Type; f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonKeys(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// variablePlaces are the key paths of the variables <variable> stands
// for, with the kind each has (0 for an extra variable).
func variablePlaces() map[string]space.Kind {
	out := map[string]space.Kind{"team.vars.<name>": 0, "team.agents[].vars.<name>": 0}
	for name, k := range teamVarKinds {
		out["team."+name] = k
	}
	for name, k := range agentVarKinds {
		out["team.agents[]."+name] = k
	}
	return out
}

// checkRow checks that a row's variable type is the decoder's, and that
// its example decodes at its key path (and a wrong key there does not).
func checkRow(t *testing.T, r refRow) {
	t.Helper()
	at := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s:%d: %s: "+format, append([]any{referenceFile, r.line, r.path}, args...)...)
	}
	places := variablePlaces()
	kind, isVar := places[r.path]
	switch typ := r.cells[1]; {
	case isVar && kind == 0 && typ != "variable (any kind)":
		at("type %q; want variable (any kind)", typ)
	case isVar && kind != 0 && typ != "variable ("+kindName(kind)+")":
		at("type %q; want variable (%s)", typ, kindName(kind))
	case !isVar && strings.HasPrefix(typ, "variable"):
		at("type %q, but the decoder does not read it as a variable", typ)
	}

	m := backticked.FindStringSubmatch(r.cells[5])
	if m == nil {
		at("the example %q is not one line of YAML in backticks", r.cells[5])
		return
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(m[1]), &doc); err != nil || len(doc.Content) != 1 ||
		doc.Content[0].Kind != yaml.MappingNode || len(doc.Content[0].Content) != 2 {
		at("the example %q is not one key: value (%v)", m[1], err)
		return
	}
	exKey, exVal := doc.Content[0].Content[0].Value, doc.Content[0].Content[1]
	segs := strings.Split(r.path, ".")
	last := segs[len(segs)-1]
	switch {
	case strings.HasPrefix(last, "<"):
		segs[len(segs)-1] = exKey
	case exKey != last:
		at("the example's key is %q, not %q", exKey, last)
		return
	}
	one := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "1"}
	wrong := slices.Clone(segs)
	wrong[len(wrong)-1] = "no_such_key"

	if segs[0] == "<variable>" {
		decodes := false
		for _, place := range slices.Sorted(maps.Keys(places)) {
			in := append(strings.Split(place, "."), segs[1:]...)
			errs, path, _ := decodeAt(in, exVal)
			if e := unknownKey(errs, path); e != nil {
				at("not accepted at %s: %s", path, e.Msg)
			}
			// An extra variable without a type stops before reading its keys.
			decodes = decodes || places[place] != 0 && len(errsUnder(errs, path)) == 0
			errs, path, _ = decodeAt(append(strings.Split(place, "."), wrong[1:]...), one)
			if unknownKey(errs, path) == nil {
				at("the check is blind: %s is not rejected", path)
			}
		}
		if !decodes {
			at("the example %q decodes at no built-in variable", m[1])
		}
		return
	}

	errs, path, c := decodeAt(segs, exVal)
	for _, e := range errsUnder(errs, path) {
		at("the example %q does not decode at %s: %s", m[1], path, e.Msg)
	}
	opt, isSetting := settingOf(segs)
	if isSetting {
		if len(c.Optimizers) != 1 {
			at("decodes to %d optimizers", len(c.Optimizers))
			return
		}
		if _, err := optimizer.New(opt, cloneSettings(c.Optimizers[0].Settings)); err != nil {
			at("the example %q is refused: %v", m[1], err)
		}
		_, _, c = decodeAt(wrong, one)
		if _, err := optimizer.New(opt, cloneSettings(c.Optimizers[0].Settings)); err == nil {
			at("the check is blind: setting no_such_key is not rejected")
		}
		return
	}
	if !strings.HasPrefix(last, "<") {
		if errs, path, _ := decodeAt(wrong, one); unknownKey(errs, path) == nil {
			at("the check is blind: %s is not rejected", path)
		}
	}
}

// settingOf returns the optimizer of a path optimizers[name].settings.key.
func settingOf(segs []string) (string, bool) {
	if len(segs) != 3 || segs[1] != "settings" {
		return "", false
	}
	name, ok := strings.CutPrefix(segs[0], "optimizers[")
	name, ok2 := strings.CutSuffix(name, "]")
	return name, ok && ok2 && name != ""
}

// decodeAt decodes a config holding only val at the key path segs (a
// list segment as a one-item list, optimizers[name] as an item with that
// name, a placeholder as the key x1) and returns the decoder's errors, the
// path as error messages write it, and the config.
func decodeAt(segs []string, val *yaml.Node) (ErrorList, string, *Config) {
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	name := func(s string) (key, item string, list bool) {
		key, rest, list := strings.Cut(s, "[")
		if strings.HasPrefix(key, "<") {
			key = "x1"
		}
		return key, strings.TrimSuffix(rest, "]"), list
	}
	n := val
	for i := len(segs) - 1; i >= 0; i-- {
		key, item, list := name(segs[i])
		if list {
			if item != "" {
				n.Content = append([]*yaml.Node{str("name"), str(item)}, n.Content...)
			}
			n = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{n}}
		}
		n = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str(key), n}}
	}
	var path string
	for _, s := range segs {
		key, _, list := name(s)
		path = join(path, key)
		if list {
			path = index(path, 0)
		}
	}
	d := &decoder{file: referenceFile, lines: map[string]int{}}
	c := d.config(n)
	return d.errs, path, c
}

// errsUnder are the errors at path or inside it.
func errsUnder(errs ErrorList, path string) ErrorList {
	var out ErrorList
	for _, e := range errs {
		if e.Field == path || strings.HasPrefix(e.Field, path+".") || strings.HasPrefix(e.Field, path+"[") {
			out = append(out, e)
		}
	}
	return out
}

// unknownKey is the decoder's unknown-key error at path, or nil.
func unknownKey(errs ErrorList, path string) *ConfigError {
	for _, e := range errs {
		if e.Field == path && strings.HasPrefix(e.Msg, "unknown key") {
			return e
		}
	}
	return nil
}
