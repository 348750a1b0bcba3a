package experiments

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/space"
)

// Keys of each mapping of the format, in the order the docs list them.
var (
	topKeys      = []string{"name", "description", "seeds", "lm", "datasets", "team", "baseline", "optimizers", "budget", "workers"}
	lmKeys       = []string{"backend", "seed", "cache", "record_calls", "profiles", "delay", "base_url", "api_key_env", "models", "prices", "concurrency", "requests_per_minute", "tokens_per_minute", "timeout", "max_retries", "backoff"}
	priceKeys    = []string{"prompt", "completion"}
	datasetKeys  = []string{"name", "family", "difficulty", "file", "format", "train", "val", "test", "metric", "seed"}
	teamKeys     = []string{"agents", "topology", "rounds", "aggregation", "budget_allocation", "token_budget", "bid_reserve", "edges", "search_edges", "min_active", "max_active", "hub", "max_model_cost", "vars"}
	agentKeys    = []string{"id", "role", "optional", "model", "temperature", "max_tokens", "instruction", "demos", "rules", "weight", "vars"}
	paramKeys    = []string{"type", "choices", "weights", "default", "low", "high", "step", "log"}
	optimizerKey = []string{"name", "label", "settings"}
	budgetKeys   = []string{"trials", "calls", "cost"}
	edgeKeys     = []string{"from", "to", "type"}
)

// Conventional variables: their kinds, and the order they take in
// AgentConfig.Vars and TeamConfig.Vars.
var (
	agentVarOrder = []string{space.LocalModel, space.LocalTemperature, space.LocalMaxTokens, space.LocalInstruction, space.LocalDemos, space.LocalRules, "weight"}
	agentVarKinds = map[string]space.Kind{
		space.LocalModel: space.KindComponent, space.LocalTemperature: space.KindFloat, space.LocalMaxTokens: space.KindInt,
		space.LocalInstruction: space.KindChoice, space.LocalDemos: space.KindInt, space.LocalRules: space.KindInt, "weight": space.KindFloat,
	}
	teamVarOrder = []string{"topology", "rounds", "aggregation", "budget_allocation", "token_budget", "bid_reserve"}
	teamVarKinds = map[string]space.Kind{
		"topology": space.KindChoice, "rounds": space.KindInt, "aggregation": space.KindChoice, "budget_allocation": space.KindChoice,
		"token_budget": space.KindInt, "bid_reserve": space.KindFloat,
	}
)

// typeNames are the values of a variable's "type" key.
var typeNames = map[string]space.Kind{"int": space.KindInt, "float": space.KindFloat, "choice": space.KindChoice, "bool": space.KindBool}

// Bounds on what decoding expands, against alias bombs and cycles.
const (
	maxNodes  = 200000
	maxDepth  = 40
	maxErrors = 50 // shape errors reported at most
)

// decoder turns the YAML node tree into a Config, recording the line of
// every field and collecting shape errors (unknown keys, wrong types,
// missing keys).
type decoder struct {
	file  string
	errs  ErrorList
	lines map[string]int
	nodes int // nodes visited, bounded by maxNodes
}

// field is one key of a mapping and its value.
type field struct {
	name     string
	key, val *yaml.Node
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode parses data into a Config without semantic checks.
func decode(data []byte, file string) (*Config, error) {
	d := &decoder{file: file, lines: map[string]int{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ConfigError{File: file, Line: 1, Msg: "empty config: it needs at least name, seeds, datasets, team, optimizers and budget"}
		}
		return nil, d.syntaxError(err, data)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, d.syntaxError(err, data)
		}
		return nil, &ConfigError{File: file, Line: more.Line, Msg: `a second YAML document: a config is one document (remove the "---" line)`}
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	c := d.config(root)
	if err := d.errs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// studyLM reads the lm section of a study's stored config (Study.Config's
// canonical JSON) with the config decoder. A sim study's section holds what
// the decoder does not read (the profiles file's hash), so only an openai
// section's problems are errors.
func studyLM(config []byte) (LMConfig, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(config, &doc); err != nil {
		return LMConfig{}, err
	}
	c := &Config{LM: LMConfig{Backend: "sim"}}
	d := &decoder{file: "the stored config", lines: map[string]int{}}
	if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		m := doc.Content[0].Content
		for i := 0; i+1 < len(m); i += 2 {
			if m[i].Value == "lm" {
				d.lm(c, m[i+1])
			}
		}
	}
	if err := d.errs.err(); err != nil && c.Backend() == "openai" {
		return LMConfig{}, err
	}
	return c.LM, nil
}

// syntaxError turns a YAML parser error into a *ConfigError with its line.
func (d *decoder) syntaxError(err error, data []byte) *ConfigError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	switch {
	case slices.Contains(parserProblems, msg):
		line++ // the parser reports its 0-based line, the scanner a 1-based one
	case line == 0 && slices.Contains(readerProblems, msg):
		line = badCharLine(data)
	case line == 0 && strings.HasPrefix(msg, "unknown anchor '"):
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		if i := bytes.Index(data, []byte("*"+name)); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
	}
	if line == 0 {
		line = 1 // the YAML library leaves out a position on its first line
	}
	return &ConfigError{File: d.file, Line: line, Msg: "YAML syntax: " + msg, Err: err}
}

// readerProblems are the YAML reader's messages, which carry no line.
var readerProblems = []string{
	"invalid leading UTF-8 octet", "incomplete UTF-8 octet sequence", "invalid trailing UTF-8 octet",
	"invalid length of a UTF-8 sequence", "invalid Unicode character", "control characters are not allowed",
	"incomplete UTF-16 character", "unexpected low surrogate area", "incomplete UTF-16 surrogate pair",
	"expected low surrogate area",
}

// badCharLine returns the line of the first byte YAML does not accept:
// invalid UTF-8 or a control character other than tab and line breaks;
// 1 if there is none.
func badCharLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1,
			r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r >= 0x7f && r < 0xa0 && r != 0x85,
			r >= 0xd800 && r < 0xe000, r == 0xfffe, r == 0xffff:
			return line
		case r == '\n':
			line++
		}
		i += size
	}
	return 1
}

// parserProblems are the messages of the YAML parser (as opposed to its
// scanner), whose line numbers count from 0.
var parserProblems = []string{
	"did not find expected <stream-start>", "did not find expected <document start>", "found undefined tag handle",
	"did not find expected node content", "did not find expected '-' indicator", "did not find expected key",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'", "found duplicate %YAML directive",
	"found incompatible YAML document", "found duplicate %TAG directive",
}

// fail records an error at node n (its line) and field path.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	if len(d.errs) >= maxErrors {
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &ConfigError{File: d.file, Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases and counts the node; nil after an error.
func (d *decoder) resolve(n *yaml.Node, path string) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > maxDepth {
			d.fail(n, path, "alias chain too long")
			return nil
		}
		n = n.Alias
	}
	d.nodes++
	if d.nodes == maxNodes {
		d.fail(n, path, "the config expands to more than %d YAML nodes (aliases?)", maxNodes)
	}
	if d.nodes >= maxNodes || n == nil {
		return nil
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what a node is, for "want X, have Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	}
	switch t := n.ShortTag(); t {
	case "!!str":
		return strconv.Quote(n.Value) + " (a string)"
	case "!!int", "!!float":
		return n.Value + " (a number)"
	case "!!bool":
		return n.Value + " (a bool)"
	case "!!null":
		return "nothing (null)"
	default:
		return fmt.Sprintf("a value tagged %s", t)
	}
}

// fields returns the keys of mapping n in order, merge keys ("<<: *x")
// expanded, rejecting duplicates and, if allowed is not nil, unknown keys.
// A null n is an empty mapping. ok is false if n is not a mapping.
func (d *decoder) fields(n *yaml.Node, path string, allowed []string) (out []field, ok bool) {
	n = d.resolve(n, path)
	if n == nil {
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		if allowed != nil {
			d.fail(n, path, "want a mapping with keys %s; have %s", strings.Join(allowed, ", "), describe(n))
		} else {
			d.fail(n, path, "want a mapping; have %s", describe(n))
		}
		return nil, false
	}
	seen := map[string]int{}
	d.collect(n, path, allowed, &out, seen, 0, false)
	for _, f := range out {
		d.lines[join(path, f.name)] = f.key.Line
	}
	return out, true
}

// collect appends the fields of mapping n: its own keys first, then those
// of merged mappings that are not already there.
func (d *decoder) collect(n *yaml.Node, path string, allowed []string, out *[]field, seen map[string]int, depth int, merged bool) {
	if depth > maxDepth {
		d.fail(n, path, "merge keys nested too deeply")
		return
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.resolve(n.Content[i], path), n.Content[i+1]
		if k == nil {
			return
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "a key must be a plain name; have %s", describe(k))
			continue
		}
		name := k.Value
		if first, dup := seen[name]; dup {
			if !merged {
				d.fail(k, join(path, name), "key %q repeated (first on line %d)", name, first)
			}
			continue
		}
		if allowed != nil && !slices.Contains(allowed, name) {
			d.fail(k, join(path, name), "unknown key %q%s (valid: %s)", name, suggest(name, allowed), strings.Join(allowed, ", "))
			continue
		}
		seen[name] = k.Line
		*out = append(*out, field{name: name, key: k, val: v})
	}
	for _, m := range merges {
		m = d.resolve(m, path)
		if m == nil {
			return
		}
		var maps []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			maps = []*yaml.Node{m}
		case yaml.SequenceNode:
			for _, x := range m.Content {
				if x = d.resolve(x, path); x == nil {
					return
				}
				maps = append(maps, x)
			}
		}
		for _, x := range maps {
			if x.Kind != yaml.MappingNode {
				d.fail(x, path, "a merge key (<<) takes a mapping or a list of mappings; have %s", describe(x))
				continue
			}
			d.collect(x, path, allowed, out, seen, depth+1, true)
		}
		if len(maps) == 0 {
			d.fail(m, path, "a merge key (<<) takes a mapping or a list of mappings; have %s", describe(m))
		}
	}
}

// suggest returns ` (did you mean "x"?)` for the closest allowed key within
// two edits, or "".
func suggest(name string, allowed []string) string {
	best, dist := "", 3
	for _, a := range allowed {
		if dd := editDistance(name, a); dd < dist {
			best, dist = a, dd
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// require reports the keys of names missing from fs, at the mapping n.
func (d *decoder) require(fs []field, n *yaml.Node, path string, names ...string) bool {
	ok := true
	for _, name := range names {
		if !slices.ContainsFunc(fs, func(f field) bool { return f.name == name }) {
			what := "missing key " + strconv.Quote(name)
			if path != "" {
				what += " in " + path
			}
			if ex, found := keyExamples[name]; found {
				what += " (e.g. " + ex + ")"
			}
			d.fail(n, join(path, name), "%s", what)
			ok = false
		}
	}
	return ok
}

var keyExamples = map[string]string{
	"name":       "name: quickstart",
	"seeds":      "seeds: [1, 2, 3]",
	"datasets":   "datasets: [{name: arith, family: arithmetic, val: 40}]",
	"team":       "team: {agents: [{id: a1, role: solver}]}",
	"agents":     "agents: [{id: a1, role: solver}]",
	"optimizers": "optimizers: [{name: random}]",
	"budget":     "budget: {trials: 12}",
	"id":         "id: a1",
	"val":        "val: 40",
	"low":        "low: 0",
	"high":       "high: 1",
	"choices":    "choices: [a, b]",
	"from":       "from: a1",
	"to":         "to: a2",
}

// Scalars.

func (d *decoder) scalar(n *yaml.Node, path, want string) *yaml.Node {
	n = d.resolve(n, path)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.fail(n, path, "want %s; have %s", want, describe(n))
		return nil
	}
	return n
}

func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	if n = d.scalar(n, path, "a string"); n == nil {
		return "", false
	}
	if n.ShortTag() != "!!str" {
		d.fail(n, path, "want a string; have %s (quote it: %q)", describe(n), n.Value)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	if n = d.scalar(n, path, "true or false"); n == nil {
		return false, false
	}
	var b bool
	if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.fail(n, path, "want true or false; have %s", describe(n))
		return false, false
	}
	return b, true
}

func (d *decoder) number(n *yaml.Node, path string) (float64, bool) {
	if n = d.scalar(n, path, "a number"); n == nil {
		return 0, false
	}
	var f float64
	if t := n.ShortTag(); t != "!!int" && t != "!!float" || n.Decode(&f) != nil {
		d.fail(n, path, "want a number; have %s", describe(n))
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.fail(n, path, "want a finite number; have %s", n.Value)
		return 0, false
	}
	return f, true
}

// integer reads a whole number within ±2^53 (an integral float such as 2.0
// counts).
func (d *decoder) integer(n *yaml.Node, path string) (int, bool) {
	if n = d.scalar(n, path, "a whole number"); n == nil {
		return 0, false
	}
	var f float64
	switch n.ShortTag() {
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil && i > -1<<53 && i < 1<<53 {
			return int(i), true
		}
	case "!!float":
		if n.Decode(&f) == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int(f), true
		}
	}
	d.fail(n, path, "want a whole number (at most 2^53 in size); have %s", describe(n))
	return 0, false
}

func (d *decoder) unsigned(n *yaml.Node, path string) (uint64, bool) {
	if n = d.scalar(n, path, "a whole number >= 0"); n == nil {
		return 0, false
	}
	var u uint64
	if n.ShortTag() != "!!int" || strings.HasPrefix(n.Value, "-") || n.Decode(&u) != nil {
		d.fail(n, path, "want a whole number from 0 to 2^64-1; have %s", describe(n))
		return 0, false
	}
	return u, true
}

// value reads a scalar as a Go value by its tag: string, int, float64 or
// bool.
func (d *decoder) value(n *yaml.Node, path string) (any, bool) {
	if n = d.scalar(n, path, "a value"); n == nil {
		return nil, false
	}
	switch n.ShortTag() {
	case "!!str":
		return n.Value, true
	case "!!bool":
		return d.boolean(n, path)
	case "!!int":
		return d.integer(n, path)
	case "!!float":
		return d.number(n, path)
	}
	d.fail(n, path, "want a string, number or bool; have %s", describe(n))
	return nil, false
}

// anyValue reads a node as plain Go data (map[string]any, []any, scalars;
// null is nil), for optimizer settings.
func (d *decoder) anyValue(n *yaml.Node, path string, depth int) (any, bool) {
	if depth > maxDepth {
		d.fail(n, path, "nested too deeply")
		return nil, false
	}
	n = d.resolve(n, path)
	if n == nil {
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		fs, ok := d.fields(n, path, nil)
		m := make(map[string]any, len(fs))
		for _, f := range fs {
			v, vok := d.anyValue(f.val, join(path, f.name), depth+1)
			m[f.name], ok = v, ok && vok
		}
		return m, ok
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		ok := true
		for i, x := range n.Content {
			v, vok := d.anyValue(x, index(path, i), depth+1)
			out[i], ok = v, ok && vok
		}
		return out, ok
	}
	if isNull(n) {
		return nil, true
	}
	return d.value(n, path)
}

// list returns the items of sequence n (nil for null); ok is false if n is
// not a sequence.
func (d *decoder) list(n *yaml.Node, path, example string) ([]*yaml.Node, bool) {
	n = d.resolve(n, path)
	if n == nil {
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "want a list, e.g. %s; have %s", example, describe(n))
		return nil, false
	}
	return n.Content, true
}

// The sections.

func (d *decoder) config(root *yaml.Node) *Config {
	c := &Config{lines: d.lines, LM: LMConfig{Backend: "sim"}}
	c.File = d.file
	if r := d.resolve(root, ""); r == nil || r.Kind != yaml.MappingNode {
		n := root
		if r != nil {
			n = r
		}
		d.fail(n, "", "a config is a YAML mapping with keys %s; have %s", strings.Join(topKeys, ", "), describe(n))
		return c
	}
	fs, ok := d.fields(root, "", topKeys)
	if !ok {
		return c
	}
	d.require(fs, d.resolve(root, ""), "", "name", "seeds", "datasets", "team", "optimizers", "budget")
	for _, f := range fs {
		p := f.name
		switch f.name {
		case "name":
			c.Name, _ = d.str(f.val, p)
		case "description":
			c.Description, _ = d.str(f.val, p)
		case "seeds":
			items, _ := d.list(f.val, p, "seeds: [1, 2, 3]")
			for i, x := range items {
				if s, ok := d.unsigned(x, index(p, i)); ok {
					c.Seeds = append(c.Seeds, s)
				}
				d.lines[index(p, i)] = x.Line
			}
		case "lm":
			d.lm(c, f.val)
		case "datasets":
			items, _ := d.list(f.val, p, "datasets: [{name: arith, family: arithmetic, val: 40}]")
			for i, x := range items {
				c.Datasets = append(c.Datasets, d.dataset(x, index(p, i)))
			}
		case "team":
			c.Team = d.team(f.val)
		case "baseline":
			bs, _ := d.fields(f.val, p, nil)
			for _, b := range bs {
				if v, ok := d.value(b.val, join(p, b.name)); ok {
					if c.Baseline == nil {
						c.Baseline = map[string]any{}
					}
					c.Baseline[b.name] = v
				}
			}
		case "optimizers":
			items, _ := d.list(f.val, p, "optimizers: [{name: random}]")
			for i, x := range items {
				c.Optimizers = append(c.Optimizers, d.optimizer(x, index(p, i)))
			}
		case "budget":
			d.budget(c, f.val)
		case "workers":
			c.Workers, _ = d.integer(f.val, p)
		}
	}
	return c
}

func (d *decoder) lm(c *Config, n *yaml.Node) {
	if m := d.resolve(n, "lm"); m != nil && m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "api_key" {
				// Never echo the value: it is a secret.
				d.fail(k, "lm.api_key", "the API key is never read from the config file: export it in an environment variable and name that variable in lm.api_key_env (default OPENAI_API_KEY); remove lm.api_key from the file")
				m.Content = append(m.Content[:i:i], m.Content[i+2:]...)
				break
			}
		}
	}
	fs, _ := d.fields(n, "lm", lmKeys)
	for _, f := range fs {
		switch p := join("lm", f.name); f.name {
		case "backend":
			c.LM.Backend, _ = d.str(f.val, p)
		case "seed":
			c.LM.Seed, _ = d.unsigned(f.val, p)
		case "cache":
			if b, ok := d.boolean(f.val, p); ok {
				c.LM.Cache = &b
			}
		case "record_calls":
			if b, ok := d.boolean(f.val, p); ok {
				c.LM.RecordCalls = &b
			}
		case "profiles":
			c.LM.Profiles, _ = d.str(f.val, p)
		case "delay":
			c.LM.Delay = d.duration(f.val, p, "20ms")
		case "base_url":
			c.LM.BaseURL, _ = d.str(f.val, p)
		case "api_key_env":
			c.LM.APIKeyEnv, _ = d.str(f.val, p)
		case "models":
			ms, _ := d.fields(f.val, p, nil)
			for _, m := range ms {
				if v, ok := d.str(m.val, join(p, m.name)); ok {
					if c.LM.Models == nil {
						c.LM.Models = map[string]string{}
					}
					c.LM.Models[m.name] = v
				}
			}
		case "prices":
			ms, _ := d.fields(f.val, p, nil)
			for _, m := range ms {
				pp := join(p, m.name)
				ks, ok := d.fields(m.val, pp, priceKeys)
				if !ok {
					continue
				}
				d.require(ks, d.resolve(m.val, pp), pp, "prompt", "completion")
				var pr lm.Price
				for _, k := range ks {
					v, _ := d.number(k.val, join(pp, k.name))
					if k.name == "prompt" {
						pr.Prompt = v
					} else {
						pr.Completion = v
					}
				}
				if c.LM.Prices == nil {
					c.LM.Prices = map[string]lm.Price{}
				}
				c.LM.Prices[m.name] = pr
			}
		case "concurrency":
			c.LM.Concurrency, _ = d.integer(f.val, p)
		case "requests_per_minute":
			c.LM.RequestsPerMinute, _ = d.number(f.val, p)
		case "tokens_per_minute":
			c.LM.TokensPerMinute, _ = d.number(f.val, p)
		case "timeout":
			c.LM.Timeout = d.duration(f.val, p, "60s or 2m")
		case "backoff":
			c.LM.Backoff = d.duration(f.val, p, "500ms or 2s")
		case "max_retries":
			if r, ok := d.integer(f.val, p); ok {
				c.LM.MaxRetries = &r
			}
		}
	}
}

// duration reads a positive Go duration ("60s"); examples are shown in
// the error.
func (d *decoder) duration(n *yaml.Node, path, examples string) time.Duration {
	v, ok := d.str(n, path)
	if !ok {
		return 0
	}
	t, err := time.ParseDuration(v)
	if err != nil || t <= 0 {
		d.fail(n, path, "%q: want a positive duration such as %s", v, examples)
		return 0
	}
	return t
}

func (d *decoder) dataset(n *yaml.Node, path string) DatasetConfig {
	ds := DatasetConfig{Metric: "exact"}
	d.lines[path] = n.Line
	fs, ok := d.fields(n, path, datasetKeys)
	if !ok {
		return ds
	}
	d.require(fs, d.resolve(n, path), path, "name", "val")
	for _, f := range fs {
		p := join(path, f.name)
		switch f.name {
		case "name":
			ds.Name, _ = d.str(f.val, p)
		case "family":
			ds.Family, _ = d.str(f.val, p)
		case "difficulty":
			ds.Difficulty, _ = d.integer(f.val, p)
		case "file":
			ds.File, _ = d.str(f.val, p)
		case "format":
			ds.Format, _ = d.str(f.val, p)
		case "train":
			ds.Train, _ = d.integer(f.val, p)
		case "val":
			ds.Val, _ = d.integer(f.val, p)
		case "test":
			ds.Test, _ = d.integer(f.val, p)
		case "metric":
			ds.Metric, _ = d.str(f.val, p)
		case "seed":
			if s, ok := d.unsigned(f.val, p); ok {
				ds.Seed = &s
			}
		}
	}
	if ds.File != "" && ds.Format == "" {
		ds.Format = "auto"
	}
	return ds
}

func (d *decoder) team(n *yaml.Node) TeamConfig {
	var t TeamConfig
	fs, ok := d.fields(n, "team", teamKeys)
	if !ok {
		return t
	}
	d.require(fs, d.resolve(n, "team"), "team", "agents")
	conv := map[string]Param{}
	var extras []Param
	for _, f := range fs {
		p := join("team", f.name)
		switch f.name {
		case "agents":
			items, _ := d.list(f.val, p, "agents: [{id: a1, role: solver}]")
			for i, x := range items {
				t.Agents = append(t.Agents, d.agent(x, index(p, i)))
			}
		case "topology", "rounds", "aggregation", "budget_allocation", "token_budget", "bid_reserve":
			if v, ok := d.param(f.name, f.val, p, teamVarKinds[f.name]); ok {
				conv[f.name] = v
			}
		case "edges":
			items, _ := d.list(f.val, p, "edges: [[a1, a2], [a2, a1]]")
			for i, x := range items {
				if e, ok := d.edge(x, index(p, i)); ok {
					t.Edges = append(t.Edges, e)
				}
			}
		case "search_edges":
			t.SearchEdges, _ = d.boolean(f.val, p)
		case "min_active":
			t.MinActive, _ = d.integer(f.val, p)
		case "max_active":
			t.MaxActive, _ = d.integer(f.val, p)
		case "hub":
			t.Hub, _ = d.str(f.val, p)
		case "max_model_cost":
			t.MaxModelCost, _ = d.number(f.val, p)
		case "vars":
			extras = d.extraVars(f.val, p, teamVarKinds, []string{"budget", "active", "edge"})
		}
	}
	for _, name := range teamVarOrder {
		if v, ok := conv[name]; ok {
			t.Vars = append(t.Vars, v)
		}
	}
	t.Vars = append(t.Vars, extras...)
	return t
}

func (d *decoder) agent(n *yaml.Node, path string) AgentConfig {
	a := AgentConfig{Role: "solver"}
	d.lines[path] = n.Line
	fs, ok := d.fields(n, path, agentKeys)
	if !ok {
		return a
	}
	d.require(fs, d.resolve(n, path), path, "id")
	conv := map[string]Param{}
	var extras []Param
	for _, f := range fs {
		p := join(path, f.name)
		switch f.name {
		case "id":
			a.ID, _ = d.str(f.val, p)
		case "role":
			a.Role, _ = d.str(f.val, p)
		case "optional":
			a.Optional, _ = d.boolean(f.val, p)
		case "vars":
			extras = d.extraVars(f.val, p, agentVarKinds, []string{"active"})
		default:
			if v, ok := d.param(f.name, f.val, p, agentVarKinds[f.name]); ok {
				conv[f.name] = v
			}
		}
	}
	for _, name := range agentVarOrder {
		if v, ok := conv[name]; ok {
			a.Vars = append(a.Vars, v)
		}
	}
	a.Vars = append(a.Vars, extras...)
	return a
}

var varName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// extraVars reads a "vars" mapping of extra variables.
func (d *decoder) extraVars(n *yaml.Node, path string, conventional map[string]space.Kind, reserved []string) []Param {
	fs, _ := d.fields(n, path, nil)
	var out []Param
	for _, f := range fs {
		p := join(path, f.name)
		switch _, conv := conventional[f.name]; {
		case conv:
			d.fail(f.key, p, "%s is a built-in variable: write it one level up, without vars", f.name)
			continue
		case slices.Contains(reserved, f.name):
			d.fail(f.key, p, "%s is a reserved name; choose another", f.name)
			continue
		case !varName.MatchString(f.name):
			d.fail(f.key, p, "variable name %q: use lower-case letters, digits and _, starting with a letter", f.name)
			continue
		}
		if v, ok := d.param(f.name, f.val, p, 0); ok {
			out = append(out, v)
		}
	}
	return out
}

func (d *decoder) edge(n *yaml.Node, path string) (space.Edge, bool) {
	var e space.Edge
	n = d.resolve(n, path)
	if n == nil {
		return e, false
	}
	d.lines[path] = n.Line
	typ, ok := "", true
	switch n.Kind {
	case yaml.SequenceNode:
		if len(n.Content) < 2 || len(n.Content) > 3 {
			d.fail(n, path, "an edge is [from, to] or [from, to, type]; have a list of %d", len(n.Content))
			return e, false
		}
		var ok1, ok2 bool
		e.From, ok1 = d.str(n.Content[0], index(path, 0))
		e.To, ok2 = d.str(n.Content[1], index(path, 1))
		ok = ok1 && ok2
		if len(n.Content) == 3 {
			var ok3 bool
			typ, ok3 = d.str(n.Content[2], index(path, 2))
			ok = ok && ok3
		}
	case yaml.MappingNode:
		fs, fok := d.fields(n, path, edgeKeys)
		if !fok || !d.require(fs, n, path, "from", "to") {
			return e, false
		}
		for _, f := range fs {
			var sok bool
			switch f.name {
			case "from":
				e.From, sok = d.str(f.val, join(path, f.name))
			case "to":
				e.To, sok = d.str(f.val, join(path, f.name))
			case "type":
				typ, sok = d.str(f.val, join(path, f.name))
			}
			ok = ok && sok
		}
	default:
		d.fail(n, path, "an edge is [from, to], [from, to, type] or {from, to, type}; have %s", describe(n))
		return e, false
	}
	if typ != "" {
		if err := e.Type.UnmarshalText([]byte(typ)); err != nil {
			d.fail(n, path, "unknown edge type %q (valid: data, feedback, command, supervision)", typ)
			return e, false
		}
	}
	return e, ok
}

func (d *decoder) optimizer(n *yaml.Node, path string) OptimizerConfig {
	var o OptimizerConfig
	n = d.resolve(n, path)
	if n == nil {
		return o
	}
	d.lines[path] = n.Line
	if n.Kind == yaml.ScalarNode && !isNull(n) { // the short form: "- random"
		d.lines[join(path, "name")] = n.Line
		o.Name, _ = d.str(n, join(path, "name"))
		return o
	}
	fs, ok := d.fields(n, path, optimizerKey)
	if !ok {
		return o
	}
	d.require(fs, n, path, "name")
	for _, f := range fs {
		p := join(path, f.name)
		switch f.name {
		case "name":
			o.Name, _ = d.str(f.val, p)
		case "label":
			o.Label, _ = d.str(f.val, p)
		case "settings":
			if v, ok := d.anyValue(f.val, p, 0); ok && v != nil {
				m, isMap := v.(map[string]any)
				if !isMap {
					d.fail(f.val, p, "want a mapping of settings; have %s", describe(f.val))
				} else if len(m) > 0 {
					o.Settings = m
				}
			}
		}
	}
	return o
}

func (d *decoder) budget(c *Config, n *yaml.Node) {
	fs, _ := d.fields(n, "budget", budgetKeys)
	for _, f := range fs {
		p := join("budget", f.name)
		switch f.name {
		case "trials":
			c.Budget.Trials, _ = d.integer(f.val, p)
		case "calls":
			v, _ := d.integer(f.val, p)
			c.Budget.Calls = int64(v)
		case "cost":
			c.Budget.Cost, _ = d.number(f.val, p)
		}
	}
}

// kindName is the name of a kind as the config's "type" key writes it.
func kindName(k space.Kind) string {
	if k == space.KindComponent {
		return "choice"
	}
	return k.String()
}

// aKind is "an int", "a float", "a choice" or "a bool".
func aKind(k space.Kind) string {
	if k == space.KindInt {
		return "an int"
	}
	return "a " + kindName(k)
}

// param reads a variable: a scalar fixes it, a mapping searches it. kind 0
// means an extra variable whose kind the YAML decides.
func (d *decoder) param(name string, n *yaml.Node, path string, kind space.Kind) (Param, bool) {
	p := Param{Name: name, Kind: kind}
	n = d.resolve(n, path)
	if n == nil {
		return p, false
	}
	if n.Kind == yaml.ScalarNode {
		if isNull(n) {
			d.fail(n, path, "missing value: a value fixes the variable, a mapping such as {choices: [...]} or {low: 0, high: 1} searches it")
			return p, false
		}
		if kind == 0 {
			switch n.ShortTag() {
			case "!!int":
				kind = space.KindInt
			case "!!float":
				kind = space.KindFloat
			case "!!bool":
				kind = space.KindBool
			default:
				kind = space.KindChoice
			}
			p.Kind = kind
		}
		v, ok := d.kindValue(n, path, kind)
		p.Fixed = v
		return p, ok
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a value (fixed) or a mapping such as {choices: [...]} or {low: 0, high: 1} (searched); have %s", describe(n))
		return p, false
	}
	fs, ok := d.fields(n, path, paramKeys)
	if !ok {
		return p, false
	}
	get := func(key string) *field {
		for i := range fs {
			if fs[i].name == key {
				return &fs[i]
			}
		}
		return nil
	}
	if t := get("type"); t != nil {
		tp := join(path, "type")
		s, sok := d.str(t.val, tp)
		if !sok {
			return p, false
		}
		tk, known := typeNames[s]
		switch {
		case !known:
			d.fail(t.val, tp, "unknown type %q (valid: int, float, choice, bool)", s)
			return p, false
		case kind != 0 && kindName(kind) != s:
			d.fail(t.val, tp, "%s is %s variable; drop type or write type: %s", name, aKind(kind), kindName(kind))
			return p, false
		case kind == 0:
			kind = tk
		}
	}
	rangeKeys := []string{"low", "high", "step", "log"}
	hasRange := slices.ContainsFunc(rangeKeys, func(k string) bool { return get(k) != nil })
	if kind == 0 {
		switch {
		case get("choices") != nil:
			kind = space.KindChoice
		case hasRange:
			kind = space.KindInt
			for _, k := range []string{"low", "high", "step", "default"} {
				if f := get(k); f != nil {
					if x := d.resolve(f.val, path); x != nil && x.ShortTag() == "!!float" {
						kind = space.KindFloat
					}
				}
			}
			if kind == space.KindInt {
				d.fail(n, join(path, "type"), "type: int or float is required: the bounds are whole numbers, so %s could be either", name)
				return p, false
			}
		default:
			d.fail(n, path, "want choices: [...] or low/high (with type: int, float, choice or bool)")
			return p, false
		}
	}
	p.Kind = kind
	ok = true
	switch kind {
	case space.KindFloat, space.KindInt:
		for _, k := range []string{"choices", "weights"} {
			if f := get(k); f != nil {
				d.fail(f.key, join(path, k), "%s is %s variable: it takes low, high, step, log and default, not %s", name, aKind(kind), k)
				ok = false
			}
		}
		if !d.require(fs, n, path, "low", "high") {
			ok = false
		}
	case space.KindChoice, space.KindComponent:
		for _, k := range rangeKeys {
			if f := get(k); f != nil {
				d.fail(f.key, join(path, k), "%s is a choice variable: it takes choices, weights and default, not %s", name, k)
				ok = false
			}
		}
		if !d.require(fs, n, path, "choices") {
			ok = false
		}
	case space.KindBool:
		for _, f := range fs {
			if f.name != "type" && f.name != "default" {
				d.fail(f.key, join(path, f.name), "%s is a bool variable: it takes only type and default", name)
				ok = false
			}
		}
	}
	for _, f := range fs {
		fp := join(path, f.name)
		var fok bool
		switch f.name {
		case "type":
			fok = true
		case "low", "high", "step":
			var x float64
			if kind == space.KindInt {
				var i int
				i, fok = d.integer(f.val, fp)
				x = float64(i)
			} else {
				x, fok = d.number(f.val, fp)
			}
			switch f.name {
			case "low":
				p.Low = x
			case "high":
				p.High = x
			default:
				p.Step = x
			}
		case "log":
			p.Log, fok = d.boolean(f.val, fp)
		case "choices":
			var items []*yaml.Node
			items, fok = d.list(f.val, fp, "choices: [a, b]")
			p.Choices = []string{}
			for i, x := range items {
				s, sok := d.str(x, index(fp, i))
				p.Choices, fok = append(p.Choices, s), fok && sok
			}
		case "weights":
			var items []*yaml.Node
			items, fok = d.list(f.val, fp, "weights: [2, 1]")
			p.Weights = []float64{}
			for i, x := range items {
				w, wok := d.number(x, index(fp, i))
				p.Weights, fok = append(p.Weights, w), fok && wok
			}
		case "default":
			p.Default, fok = d.kindValue(f.val, fp, kind)
		}
		ok = ok && fok
	}
	return p, ok
}

// kindValue reads a scalar as a value of kind.
func (d *decoder) kindValue(n *yaml.Node, path string, kind space.Kind) (any, bool) {
	switch kind {
	case space.KindFloat:
		return d.number(n, path)
	case space.KindInt:
		return d.integer(n, path)
	case space.KindBool:
		return d.boolean(n, path)
	}
	return d.str(n, path)
}
