package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// cliDocPath is the CLI reference TestCLIDoc holds to the command tree.
const cliDocPath = "../../docs/cli.md"

// docSection is one "## experiment ..." section of the CLI reference.
type docSection struct {
	line  int               // of the heading
	text  string            // the section's lines, heading included
	flags map[string]string // flag row's first cell by flag name
	deflt map[string]string // flag row's default cell by flag name
}

// parseCLIDoc splits the reference into its command sections, keyed by
// command path, and reads each section's flag table: rows whose first cell
// is `--name` or `--name VALUE`. It returns the fenced sh code blocks too.
func parseCLIDoc(t *testing.T, doc string) (map[string]*docSection, []string) {
	t.Helper()
	secs := map[string]*docSection{}
	var cur *docSection
	var blocks []string
	var block *strings.Builder
	sc := bufio.NewScanner(strings.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case block != nil && strings.HasPrefix(line, "```"):
			blocks = append(blocks, block.String())
			block = nil
			continue
		case block != nil:
			block.WriteString(line + "\n")
			continue
		case line == "```sh":
			block = &strings.Builder{}
			continue
		case strings.HasPrefix(line, "## "):
			cur = nil
			if name, ok := strings.CutPrefix(line, "## "); ok && (name == "experiment" || strings.HasPrefix(name, "experiment ")) {
				if prev, dup := secs[name]; dup {
					t.Errorf("%s:%d: section %q repeats the one at line %d", cliDocPath, n, name, prev.line)
				}
				cur = &docSection{line: n, flags: map[string]string{}, deflt: map[string]string{}}
				secs[name] = cur
			}
		}
		if cur == nil {
			continue
		}
		cur.text += line + "\n"
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			t.Errorf("%s:%d: a flag row needs the columns flag, default, meaning: %s", cliDocPath, n, line)
			continue
		}
		first := strings.Trim(strings.TrimSpace(cells[0]), "`")
		name := strings.TrimPrefix(strings.Fields(first)[0], "--")
		if _, dup := cur.flags[name]; dup {
			t.Errorf("%s:%d: --%s listed twice", cliDocPath, n, name)
		}
		cur.flags[name] = first
		cur.deflt[name] = strings.TrimSpace(cells[1])
	}
	if block != nil {
		t.Errorf("%s: an unclosed code block", cliDocPath)
	}
	return secs, blocks
}

// documented returns the commands of the tree that the reference must
// document: every command but cobra's own help and completion, and hidden
// or deprecated ones.
func documented(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" || c.Hidden || c.Deprecated != "" {
			continue
		}
		out = append(out, documented(c)...)
	}
	return out
}

// flagMention matches a flag named in the reference's text.
var flagMention = regexp.MustCompile("(?:^|[\\s`(\\[])--([a-z][a-z0-9-]*)")

// zeroDefault reports whether a flag's default is a "none" value whose
// meaning the reference may state in words (e.g. --ack-wait 0: 30s).
func zeroDefault(v string) bool {
	return slices.Contains([]string{"", "0", "0s", "-1", "false", "[]"}, v)
}

// TestCLIDoc holds docs/cli.md to the command tree: a section per command
// with its usage line, a table row per flag (a bool flag without a value
// placeholder, any other with one, a non-zero default stated), no row or
// section for what does not exist, no flag named in the text that no command
// has, every exit code, and examples that parse.
func TestCLIDoc(t *testing.T) {
	raw, err := os.ReadFile(cliDocPath)
	if err != nil {
		t.Fatal(err)
	}
	secs, blocks := parseCLIDoc(t, string(raw))
	root := newRoot(io.Discard, io.Discard)
	cmds := documented(root)
	nflags := 0
	known := map[string]bool{}
	allFlags := map[string]bool{"help": true}
	for _, c := range cmds {
		path := c.CommandPath()
		known[path] = true
		sec := secs[path]
		if sec == nil {
			t.Errorf("%s: no section \"## %s\" for the command %q", cliDocPath, path, path)
			continue
		}
		if !strings.Contains(sec.text, c.UseLine()) {
			t.Errorf("%s:%d: section %q does not show the usage line %q", cliDocPath, sec.line, path, c.UseLine())
		}
		seen := map[string]bool{}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" || f.Hidden || f.Deprecated != "" {
				return
			}
			nflags++
			seen[f.Name] = true
			allFlags[f.Name] = true
			cell, ok := sec.flags[f.Name]
			if !ok {
				t.Errorf("%s:%d: section %q has no row for --%s (%s)", cliDocPath, sec.line, path, f.Name, f.Usage)
				return
			}
			fields := strings.Fields(cell)
			switch isBool := f.Value.Type() == "bool"; {
			case isBool && len(fields) != 1:
				t.Errorf("%s: %s --%s is a bool flag: write `--%s`, not `%s`", cliDocPath, path, f.Name, f.Name, cell)
			case !isBool && len(fields) != 2:
				t.Errorf("%s: %s --%s takes a %s: write `--%s VALUE`, not `%s`", cliDocPath, path, f.Name, f.Value.Type(), f.Name, cell)
			}
			if d := sec.deflt[f.Name]; !zeroDefault(f.DefValue) && !strings.Contains(d, f.DefValue) {
				t.Errorf("%s: %s --%s: the default cell %q does not state the default %q", cliDocPath, path, f.Name, d, f.DefValue)
			}
		})
		for name := range sec.flags {
			if !seen[name] {
				t.Errorf("%s:%d: section %q documents --%s, which %q does not have", cliDocPath, sec.line, path, name, path)
			}
		}
	}
	for name, sec := range secs {
		if !known[name] {
			t.Errorf("%s:%d: section %q documents no command of the CLI", cliDocPath, sec.line, name)
		}
	}
	// A flag named anywhere, prose included, must be some command's.
	for _, m := range flagMention.FindAllStringSubmatch(string(raw), -1) {
		if !allFlags[m[1]] {
			t.Errorf("%s: --%s is named but no command has it", cliDocPath, m[1])
		}
	}
	for _, code := range []int{exitOK, exitFailure, exitUsage, exitInterrupted} {
		if !strings.Contains(string(raw), fmt.Sprintf("\n| %d | ", code)) {
			t.Errorf("%s: the exit code table has no row for %d", cliDocPath, code)
		}
	}
	nex := checkExamples(t, blocks)
	t.Logf("%s: %d commands, %d flags, %d examples checked", cliDocPath, len(cmds), nflags, nex)
}

// checkExamples parses every `experiment ...` line of the reference's sh
// blocks against a fresh command tree: the command must exist, its flags
// parse and its arguments satisfy the command's Args. It returns how many
// it checked.
func checkExamples(t *testing.T, blocks []string) int {
	t.Helper()
	n := 0
	for _, b := range blocks {
		for _, line := range strings.Split(strings.ReplaceAll(b, "\\\n", " "), "\n") {
			words, err := shellWords(line)
			if err != nil {
				t.Errorf("%s: example %q: %v", cliDocPath, line, err)
				continue
			}
			if len(words) == 0 || (words[0] != "experiment" && words[0] != "bin/experiment") {
				continue
			}
			n++
			root := newRoot(io.Discard, io.Discard)
			c, args, err := root.Find(words[1:])
			if err != nil {
				t.Errorf("%s: example %q: %v", cliDocPath, line, err)
				continue
			}
			c.InitDefaultHelpFlag()
			if err := c.ParseFlags(args); err != nil {
				t.Errorf("%s: example %q: %v", cliDocPath, line, err)
				continue
			}
			if help, _ := c.Flags().GetBool("help"); help {
				continue
			}
			if err := c.ValidateArgs(c.Flags().Args()); err != nil {
				t.Errorf("%s: example %q: %v", cliDocPath, line, err)
			}
		}
	}
	return n
}

// shellWords splits a command line as sh would for the reference's
// examples: single and double quotes, and a comment from an unquoted #.
func shellWords(line string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '\'' || ch == '"':
			j := strings.IndexByte(line[i+1:], ch)
			if j < 0 {
				return nil, fmt.Errorf("unclosed %c", ch)
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case ch == '#' && !inWord:
			i = len(line)
		default:
			w.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
