package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// FileError is an error in a profiles file: where it is and what is wrong.
type FileError struct {
	File string // the name ReadProfiles was given
	Line int    // 1-based; 0 when unknown
	// Field is the path of the field, e.g. "profiles[2].prompt_price";
	// "" for the file as a whole.
	Field string
	Err   error
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

func (e *FileError) Unwrap() error { return e.Err }

// The keys of a profile in a profiles file, in the order WriteProfiles
// writes them.
const (
	keyName                   = "name"
	keyDescription            = "description"
	keyBaseSkill              = "base_skill"
	keySkill                  = "skill"
	keyHardness               = "hardness"
	keyPromptPrice            = "prompt_price"
	keyCompletionPrice        = "completion_price"
	keyLatency                = "latency"
	keyPromptTokenLatency     = "prompt_token_latency"
	keyCompletionTokenLatency = "completion_token_latency"
	keyConformity             = "conformity"
	keyConfidenceBias         = "confidence_bias"
	keyVerbosity              = "verbosity"
)

var profileKeys = []string{keyName, keyDescription, keyBaseSkill, keySkill, keyHardness, keyPromptPrice, keyCompletionPrice,
	keyLatency, keyPromptTokenLatency, keyCompletionTokenLatency, keyConformity, keyConfidenceBias, keyVerbosity}

// maxFileErrors bounds the errors ReadProfiles reports at once.
const maxFileErrors = 20

// LoadProfiles reads the profiles file at path (see ReadProfiles).
func LoadProfiles(path string) ([]Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ReadProfiles(bytes.NewReader(data), path)
}

// ReadProfiles reads a profiles file, a YAML document with a top-level
// "profiles" list of profiles, each a mapping of name, description,
// base_skill, skill ({family: logit}), hardness ({family: slope}),
// prompt_price and completion_price (USD per million tokens), latency,
// prompt_token_latency and completion_token_latency (Go durations such as
// "250ms"), conformity, confidence_bias and verbosity; a missing key is
// the field's zero value. name names the file in errors. Unknown keys,
// values of the wrong type, values New rejects, numbers that are not
// finite and duplicate names are errors (*FileError, joined), each with
// its line and field.
func ReadProfiles(r io.Reader, name string) ([]Profile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &FileError{File: name, Err: err}
	}
	d := &fileDecoder{file: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FileError{File: name, Line: 1, Err: errors.New(`empty file: want a "profiles:" list`)}
		}
		return nil, syntaxError(name, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxError(name, err)
		}
		return nil, &FileError{File: name, Line: more.Line, Err: errors.New(`a second YAML document: a profiles file is one document`)}
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	ps := d.file1(root)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return ps, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError is a YAML parser error as a *FileError with its line.
func syntaxError(file string, err error) *FileError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1 // the YAML library leaves out a position on the first line
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if strings.HasPrefix(msg, "did not find expected") || strings.HasPrefix(msg, "found ") {
			line++ // the parser counts lines from 0, the scanner from 1
		}
	}
	return &FileError{File: file, Line: line, Err: errors.New("YAML syntax: " + msg)}
}

// fileDecoder collects the errors of one file.
type fileDecoder struct {
	file string
	errs []error
}

func (d *fileDecoder) fail(n *yaml.Node, field, format string, args ...any) {
	if len(d.errs) >= maxFileErrors {
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &FileError{File: d.file, Line: line, Field: field, Err: fmt.Errorf(format, args...)})
}

// pairs returns the keys and values of mapping n, reporting aliases,
// duplicate keys and keys that are not strings.
func (d *fileDecoder) pairs(n *yaml.Node, field string) (keys []string, keyNodes, vals []*yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" || k.Value == "" {
			d.fail(k, field, "key %q is not a name", k.Value)
			continue
		}
		if j := slices.Index(keys, k.Value); j >= 0 {
			d.fail(k, join(field, k.Value), "duplicate key (first at line %d)", keyNodes[j].Line)
			continue
		}
		if v.Kind == yaml.AliasNode {
			d.fail(v, join(field, k.Value), "aliases are not supported in a profiles file")
			continue
		}
		keys, keyNodes, vals = append(keys, k.Value), append(keyNodes, k), append(vals, v)
	}
	return keys, keyNodes, vals
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func (d *fileDecoder) file1(root *yaml.Node) []Profile {
	if root.Kind != yaml.MappingNode {
		d.fail(root, "", `want a mapping with a "profiles:" list`)
		return nil
	}
	keys, keyNodes, vals := d.pairs(root, "")
	var list *yaml.Node
	for i, k := range keys {
		if k != "profiles" {
			d.fail(keyNodes[i], k, `unknown key (a profiles file has only "profiles")`)
			continue
		}
		list = vals[i]
	}
	switch {
	case list == nil:
		if len(d.errs) == 0 {
			d.fail(root, "", `no "profiles:" list`)
		}
		return nil
	case list.Kind != yaml.SequenceNode:
		d.fail(list, "profiles", "want a list of profiles")
		return nil
	case len(list.Content) == 0:
		d.fail(list, "profiles", "the list is empty")
		return nil
	}
	var ps []Profile
	names := map[string]int{} // name → line
	for i, item := range list.Content {
		field := fmt.Sprintf("profiles[%d]", i)
		switch item.Kind {
		case yaml.MappingNode:
		case yaml.AliasNode:
			d.fail(item, field, "aliases are not supported in a profiles file")
			continue
		default:
			d.fail(item, field, "want a mapping of a profile's fields, not %s", describe(item))
			continue
		}
		p, nameNode := d.profile(item, field)
		switch {
		case nameNode == nil:
			d.fail(item, field+"."+keyName, "missing: a profile needs a name")
		case names[p.Name] > 0:
			d.fail(nameNode, field+"."+keyName, "duplicate profile %q (first at line %d)", p.Name, names[p.Name])
		default:
			names[p.Name] = nameNode.Line
		}
		if err := p.validate(); err != nil && nameNode != nil {
			d.fail(item, field, "%v", err) // a check the fields' own did not catch
		}
		ps = append(ps, p)
	}
	return ps
}

// profile decodes one profile mapping; nameNode is the value node of its
// name, nil if it has none.
func (d *fileDecoder) profile(n *yaml.Node, field string) (p Profile, nameNode *yaml.Node) {
	keys, keyNodes, vals := d.pairs(n, field)
	nerrs := len(d.errs)
	for i, k := range keys {
		f, v := field+"."+k, vals[i]
		switch k {
		case keyName:
			if s, ok := d.str(v, f); ok {
				if s == "" {
					d.fail(v, f, "empty name")
				} else {
					p.Name, nameNode = s, v
				}
			}
		case keyDescription:
			p.Description, _ = d.str(v, f)
		case keyBaseSkill:
			p.BaseSkill, _ = d.num(v, f)
		case keySkill:
			p.Skill = d.families(v, f)
		case keyHardness:
			p.Hardness = d.families(v, f)
		case keyPromptPrice, keyCompletionPrice:
			x, ok := d.num(v, f)
			if ok && x < 0 {
				d.fail(v, f, "negative price %v", x)
			}
			if k == keyPromptPrice {
				p.PromptPrice = x
			} else {
				p.CompletionPrice = x
			}
		case keyLatency:
			p.Latency = d.duration(v, f)
		case keyPromptTokenLatency:
			p.PromptTokenLatency = d.duration(v, f)
		case keyCompletionTokenLatency:
			p.CompletionTokenLatency = d.duration(v, f)
		case keyConformity:
			x, ok := d.num(v, f)
			if ok && (x < 0 || x > 1) {
				d.fail(v, f, "%v outside [0, 1]", x)
			}
			p.Conformity = x
		case keyConfidenceBias:
			p.ConfidenceBias, _ = d.num(v, f)
		case keyVerbosity:
			x, ok := d.num(v, f)
			if ok && x < 0 {
				d.fail(v, f, "negative verbosity %v (0 means 1)", x)
			}
			p.Verbosity = x
		default:
			d.fail(keyNodes[i], f, "unknown key (a profile has %s)", strings.Join(profileKeys, ", "))
		}
	}
	if len(d.errs) > nerrs && nameNode != nil {
		// Do not report validate's version of an error already reported.
		p = Profile{Name: p.Name}
	}
	return p, nameNode
}

func (d *fileDecoder) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.fail(n, field, "want a string, not %s", describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *fileDecoder) num(n *yaml.Node, field string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		d.fail(n, field, "want a number, not %s", describe(n))
		return 0, false
	}
	var x float64
	if err := n.Decode(&x); err != nil {
		d.fail(n, field, "want a number: %v", err)
		return 0, false
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		d.fail(n, field, "%s is not a finite number", n.Value)
		return 0, false
	}
	return x, true
}

func (d *fileDecoder) duration(n *yaml.Node, field string) time.Duration {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!int") {
		d.fail(n, field, `want a duration such as "250ms", not %s`, describe(n))
		return 0
	}
	x, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		d.fail(n, field, `want a duration such as "250ms", not %q`, n.Value)
	case x < 0:
		d.fail(n, field, "negative latency %v", x)
	}
	return x
}

// families decodes a mapping of family names to numbers.
func (d *fileDecoder) families(n *yaml.Node, field string) map[string]float64 {
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want a mapping of family names to numbers, not %s", describe(n))
		return nil
	}
	keys, _, vals := d.pairs(n, field)
	m := make(map[string]float64, len(keys))
	for i, k := range keys {
		m[k], _ = d.num(vals[i], field+"."+k)
	}
	return m
}

// describe names what a node is, for errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!null":
		return "an empty value"
	case "!!str":
		return strconv.Quote(n.Value)
	}
	return n.Value
}

// WriteProfiles writes ps as a profiles file that ReadProfiles reads back
// exactly, headed by comment (one "# " line per line; none if empty). It
// refuses what ReadProfiles would: profiles New rejects, numbers that are
// not finite, duplicate names, and text that is not UTF-8.
func WriteProfiles(w io.Writer, ps []Profile, comment string) error {
	if len(ps) == 0 {
		return errors.New("sim: no profiles to write")
	}
	list := &yaml.Node{Kind: yaml.SequenceNode}
	seen := map[string]bool{}
	for _, p := range ps {
		if err := p.validate(); err != nil {
			return err
		}
		if seen[p.Name] {
			return fmt.Errorf("sim: profile %q twice", p.Name)
		}
		seen[p.Name] = true
		n, err := profileNode(&p)
		if err != nil {
			return fmt.Errorf("sim: profile %q: %w", p.Name, err)
		}
		list.Content = append(list.Content, n)
	}
	var b bytes.Buffer
	if comment != "" {
		for line := range strings.Lines(comment) {
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				b.WriteString("#\n")
			} else {
				b.WriteString("# " + line + "\n")
			}
		}
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{strNode("profiles"), list}}
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("sim: writing profiles: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("sim: writing profiles: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func profileNode(p *Profile) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	var err error
	add := func(key string, v *yaml.Node) { n.Content = append(n.Content, strNode(key), v) }
	text := func(key, s string) {
		if !utf8.ValidString(s) {
			err = fmt.Errorf("%s is not valid UTF-8", key)
		}
		add(key, strNode(s))
	}
	num := func(key string, x float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			err = fmt.Errorf("%s is %v", key, x)
		}
		add(key, numNode(x))
	}
	fams := func(key string, m map[string]float64) {
		if m == nil {
			return
		}
		fm := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if k == "" || !utf8.ValidString(k) {
				err = fmt.Errorf("%s has a family named %q", key, k)
			}
			if math.IsNaN(m[k]) || math.IsInf(m[k], 0) {
				err = fmt.Errorf("%s[%q] is %v", key, k, m[k])
			}
			fm.Content = append(fm.Content, strNode(k), numNode(m[k]))
		}
		add(key, fm)
	}
	text(keyName, p.Name)
	if p.Description != "" {
		text(keyDescription, p.Description)
	}
	num(keyBaseSkill, p.BaseSkill)
	fams(keySkill, p.Skill)
	fams(keyHardness, p.Hardness)
	num(keyPromptPrice, p.PromptPrice)
	num(keyCompletionPrice, p.CompletionPrice)
	add(keyLatency, strNode(p.Latency.String()))
	add(keyPromptTokenLatency, strNode(p.PromptTokenLatency.String()))
	add(keyCompletionTokenLatency, strNode(p.CompletionTokenLatency.String()))
	num(keyConformity, p.Conformity)
	num(keyConfidenceBias, p.ConfidenceBias)
	if p.Verbosity != 0 {
		num(keyVerbosity, p.Verbosity)
	}
	return n, err
}

// strNode is a string scalar, quoted where plain text would read as
// something else or lose characters.
func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if s != strings.TrimSpace(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// numNode is a number written so that it reads back exactly.
func numNode(x float64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatFloat(x, 'g', -1, 64)}
}
