package experiments

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mabeam/mabeam/space"
)

// The canonical form of a config is an ordered tree (omap, []any and
// scalars) with every default written out, rendered as YAML (Config.YAML)
// or JSON (Config.JSON and Study.Config).

// omap is an ordered mapping.
type omap []kv

type kv struct {
	k string
	v any
}

func (m *omap) add(k string, v any) { *m = append(*m, kv{k, v}) }

// YAML writes the config in canonical form: every key in the documented
// order, defaults written out. Parse reads it back to an equal Config.
func (c *Config) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(yamlNode(c.tree())); err != nil {
		return nil, fmt.Errorf("experiments: writing YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("experiments: writing YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// JSON writes the config in canonical form as one line of JSON, keys in
// the documented order; equal configs give equal bytes.
func (c *Config) JSON() []byte {
	var b bytes.Buffer
	writeJSON(&b, c.tree())
	return b.Bytes()
}

// tree is the canonical form of the whole config.
func (c *Config) tree() omap {
	var m omap
	m.add("name", c.Name)
	if c.Description != "" {
		m.add("description", c.Description)
	}
	seeds := make([]any, len(c.Seeds))
	for i, s := range c.Seeds {
		seeds[i] = s
	}
	m.add("seeds", seeds)
	lm := c.lmTree()
	lm.add("cache", c.LMCache())
	if c.LM.RecordCalls != nil || c.Backend() == "openai" {
		lm.add("record_calls", c.RecordCalls())
	}
	if c.Backend() == "openai" {
		lm.add("api_key_env", c.APIKeyEnv())
		if c.LM.Concurrency != 0 {
			lm.add("concurrency", c.LM.Concurrency)
		}
		if c.LM.RequestsPerMinute != 0 {
			lm.add("requests_per_minute", c.LM.RequestsPerMinute)
		}
		if c.LM.TokensPerMinute != 0 {
			lm.add("tokens_per_minute", c.LM.TokensPerMinute)
		}
		if c.LM.Timeout != 0 {
			lm.add("timeout", c.LM.Timeout.String())
		}
		if c.LM.MaxRetries != nil {
			lm.add("max_retries", *c.LM.MaxRetries)
		}
		if c.LM.Backoff != 0 {
			lm.add("backoff", c.LM.Backoff.String())
		}
	}
	m.add("lm", lm)
	var ds []any
	for i := range c.Datasets {
		ds = append(ds, datasetTree(&c.Datasets[i], ""))
	}
	m.add("datasets", ds)
	m.add("team", c.teamTree())
	if b := c.baselineTree(); len(b) > 0 {
		m.add("baseline", b)
	}
	var os []any
	for i := range c.Optimizers {
		os = append(os, optimizerTree(&c.Optimizers[i]))
	}
	m.add("optimizers", os)
	m.add("budget", c.budgetTree())
	m.add("workers", c.Workers)
	return m
}

// studyJSON is the canonical JSON of what determines one study's results.
func (c *Config) studyJSON(di, oi int, seed uint64, dataSHA string) []byte {
	var m omap
	m.add("experiment", c.Name)
	m.add("lm", c.lmTree())
	m.add("dataset", datasetTree(&c.Datasets[di], dataSHA))
	m.add("optimizer", optimizerTree(&c.Optimizers[oi]))
	m.add("team", c.teamTree())
	m.add("baseline", c.baselineTree())
	m.add("budget", c.budgetTree())
	m.add("seed", seed)
	var b bytes.Buffer
	writeJSON(&b, m)
	return b.Bytes()
}

// lmTree is what of lm determines a study's results: the backend and the
// world it answers from (sim: the seed and the profiles file with its
// SHA-256; openai: the server, the model mapping and the prices). The
// cache, the call records and the limits do not.
func (c *Config) lmTree() omap {
	if c.Backend() == "openai" {
		m := omap{{"backend", "openai"}, {"base_url", c.LM.BaseURL}}
		var models omap
		for _, n := range slices.Sorted(maps.Keys(c.LM.Models)) {
			models.add(n, c.LM.Models[n])
		}
		m.add("models", models)
		var prices omap
		for _, n := range slices.Sorted(maps.Keys(c.LM.Prices)) {
			p := c.LM.Prices[n]
			prices.add(n, omap{{"prompt", p.Prompt}, {"completion", p.Completion}})
		}
		m.add("prices", prices)
		return m
	}
	m := omap{{"backend", "sim"}, {"seed", c.LM.Seed}}
	if c.LM.Profiles != "" {
		m.add("profiles", c.LM.Profiles)
		if data, err := c.readFile(c.ProfilesPath()); err == nil {
			sum := sha256.Sum256(data)
			m.add("profiles_sha256", hex.EncodeToString(sum[:]))
		}
	}
	return m
}

func datasetTree(d *DatasetConfig, sha string) omap {
	var m omap
	m.add("name", d.Name)
	if d.Family != "" {
		m.add("family", d.Family)
		m.add("difficulty", d.Difficulty)
	}
	if d.File != "" {
		m.add("file", d.File)
		format := d.Format
		if format == "" {
			format = "auto"
		}
		m.add("format", format)
		if sha != "" {
			m.add("sha256", sha)
		}
	}
	m.add("train", d.Train)
	m.add("val", d.Val)
	m.add("test", d.Test)
	metric := d.Metric
	if metric == "" {
		metric = "exact"
	}
	m.add("metric", metric)
	if d.Seed != nil {
		m.add("seed", *d.Seed)
	}
	return m
}

func (c *Config) teamTree() omap {
	t := &c.Team
	var m omap
	var agents []any
	for _, a := range t.Agents {
		var am omap
		am.add("id", a.ID)
		role := a.Role
		if role == "" {
			role = "solver"
		}
		am.add("role", role)
		am.add("optional", a.Optional)
		addVars(&am, a.Vars, agentVarKinds)
		agents = append(agents, am)
	}
	m.add("agents", agents)
	addVars(&m, t.Vars, teamVarKinds)
	if len(t.Edges) > 0 {
		var es []any
		for _, e := range t.Edges {
			es = append(es, []any{e.From, e.To, e.Type.String()})
		}
		// Put edges before the extra variables, after the team variables.
		m = insertBefore(m, "vars", kv{"edges", es})
	}
	m = insertBefore(m, "vars", kv{"search_edges", t.SearchEdges})
	m = insertBefore(m, "vars", kv{"min_active", t.MinActive})
	m = insertBefore(m, "vars", kv{"max_active", t.MaxActive})
	if t.Hub != "" {
		m = insertBefore(m, "vars", kv{"hub", t.Hub})
	}
	if t.MaxModelCost != 0 {
		m = insertBefore(m, "vars", kv{"max_model_cost", t.MaxModelCost})
	}
	return m
}

// insertBefore inserts e before key, or at the end if key is absent.
func insertBefore(m omap, key string, e kv) omap {
	i := slices.IndexFunc(m, func(x kv) bool { return x.k == key })
	if i < 0 {
		return append(m, e)
	}
	return slices.Insert(m, i, e)
}

// addVars adds the conventional variables as keys and the others under
// "vars".
func addVars(m *omap, vs []Param, conventional map[string]space.Kind) {
	var extras omap
	for i := range vs {
		v := &vs[i]
		if _, ok := conventional[v.Name]; ok {
			m.add(v.Name, paramTree(v, false))
		} else {
			extras.add(v.Name, paramTree(v, true))
		}
	}
	if len(extras) > 0 {
		m.add("vars", extras)
	}
}

// paramTree writes a variable: its value if fixed, else a mapping; searched
// extra variables always say their type, so reading them back gives the
// same kind.
func paramTree(v *Param, extra bool) any {
	if v.Fixed != nil {
		x, _ := normalizeValue(v.Kind, v.Fixed)
		if x == nil {
			x = v.Fixed
		}
		return x
	}
	var m omap
	if extra {
		m.add("type", kindName(v.Kind))
	}
	switch v.Kind {
	case space.KindFloat, space.KindInt:
		m.add("low", numOf(v.Kind, v.Low))
		m.add("high", numOf(v.Kind, v.High))
		if v.Step != 0 {
			m.add("step", numOf(v.Kind, v.Step))
		}
		if v.Log {
			m.add("log", true)
		}
	case space.KindChoice, space.KindComponent:
		cs := make([]any, len(v.Choices))
		for i, s := range v.Choices {
			cs[i] = s
		}
		m.add("choices", cs)
		if v.Weights != nil {
			ws := make([]any, len(v.Weights))
			for i, w := range v.Weights {
				ws[i] = w
			}
			m.add("weights", ws)
		}
	}
	if v.Default != nil {
		x, _ := normalizeValue(v.Kind, v.Default)
		if x == nil {
			x = v.Default
		}
		m.add("default", x)
	}
	return m
}

func numOf(k space.Kind, f float64) any {
	if k == space.KindInt {
		return int(f)
	}
	return f
}

// baselineTree writes the overrides sorted by key, values in their
// variable's type where the key resolves.
func (c *Config) baselineTree() omap {
	keys := make([]string, 0, len(c.Baseline))
	for k := range c.Baseline {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var m omap
	for _, k := range keys {
		x := c.Baseline[k]
		if tg, _ := c.target(k); tg.param != nil {
			if y, msg := normalizeValue(tg.param.Kind, x); msg == "" {
				x = y
			}
		}
		m.add(k, x)
	}
	return m
}

func optimizerTree(o *OptimizerConfig) omap {
	var m omap
	m.add("name", o.Name)
	if o.Label != "" {
		m.add("label", o.Label)
	}
	if len(o.Settings) > 0 {
		m.add("settings", o.Settings)
	}
	return m
}

func (c *Config) budgetTree() omap {
	var m omap
	if c.Budget.Trials != 0 {
		m.add("trials", c.Budget.Trials)
	}
	if c.Budget.Calls != 0 {
		m.add("calls", c.Budget.Calls)
	}
	if c.Budget.Cost != 0 {
		m.add("cost", c.Budget.Cost)
	}
	return m
}

// yamlNode renders a canonical tree. Lists of short scalars are written
// in flow style ([1, 2, 3]); floats always have a decimal point, so they
// read back as floats.
func yamlNode(v any) *yaml.Node {
	switch x := v.(type) {
	case omap:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, e := range x {
			n.Content = append(n.Content, yamlNode(e.k), yamlNode(e.v))
		}
		return n
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		m := make(omap, len(keys))
		for i, k := range keys {
			m[i] = kv{k, x[k]}
		}
		return yamlNode(m)
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		width := 0
		for _, y := range x {
			c := yamlNode(y)
			if c.Kind != yaml.ScalarNode {
				width = math.MaxInt
			} else {
				width += len(c.Value) + 2
			}
			n.Content = append(n.Content, c)
		}
		if width < 60 {
			n.Style = yaml.FlowStyle
		}
		return n
	case float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: floatText(x)}
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil { // strings, ints, bools: cannot fail
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(v)}
	}
	return n
}

// floatText writes a finite float in shortest form with a decimal point or
// exponent.
func floatText(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64) // never valid config; kept visible
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// writeJSON writes a canonical tree as compact JSON.
func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case omap:
		b.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e.k)
			b.WriteByte(':')
			writeJSON(b, e.v)
		}
		b.WriteByte('}')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		m := make(omap, len(keys))
		for i, k := range keys {
			m[i] = kv{k, x[k]}
		}
		writeJSON(b, m)
	case []any:
		b.WriteByte('[')
		for i, y := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, y)
		}
		b.WriteByte(']')
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			b.WriteString("null")
		} else {
			b.WriteString(floatText(x))
		}
	case nil:
		b.WriteString("null")
	default:
		js, err := json.Marshal(x)
		if err != nil {
			js, _ = json.Marshal(fmt.Sprint(x))
		}
		b.Write(js)
	}
}
