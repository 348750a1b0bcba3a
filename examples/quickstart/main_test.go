package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's Go section from main.go and its output")

const readme = "../../README.md"

// goSection returns the README's "## In Go" section and where it starts.
func goSection(t *testing.T, doc string) (section string, at int) {
	t.Helper()
	at = strings.Index(doc, "\n## In Go\n")
	if at < 0 {
		t.Fatalf("%s has no \"## In Go\" section", readme)
	}
	section = doc[at+1:]
	if end := strings.Index(section[1:], "\n## "); end >= 0 {
		section = section[:end+2]
	}
	return section, at + 1
}

// block returns the first fenced block of kind (```go, ```text) in s,
// its content's start and end in s; ok is false if there is none.
func block(s, kind string) (content string, start, end int, ok bool) {
	open := "```" + kind + "\n"
	i := strings.Index(s, open)
	if i < 0 {
		return "", 0, 0, false
	}
	start = i + len(open)
	n := strings.Index(s[start:], "```\n")
	if n < 0 {
		return "", 0, 0, false
	}
	return s[start : start+n], start, start + n, true
}

// The README's Go section is this program, byte for byte, and the output
// it shows is what the program prints: go test -update rewrites both.
func TestReadme(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	sec, at := goSection(t, doc)
	code, codeStart, codeEnd, ok1 := block(sec, "go")
	shown, outStart, outEnd, ok2 := block(sec, "text")
	if !ok1 || !ok2 || outStart < codeEnd {
		t.Fatalf("the README's Go section needs a ```go block, then a ```text block of its output")
	}
	if *update {
		doc = doc[:at] + sec[:codeStart] + string(src) + sec[codeEnd:outStart] + out.String() + sec[outEnd:] + doc[at+len(sec):]
		if err := os.WriteFile(readme, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if code != string(src) {
		t.Errorf("the README's ```go block differs from examples/quickstart/main.go; run go test ./examples/quickstart -update")
	}
	if shown != out.String() {
		t.Errorf("the README shows the output\n%s\nthe program prints\n%s\n(go test ./examples/quickstart -update rewrites it)", shown, out.String())
	}
}

// The program finds a best team and scores it on test.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, "failed:") {
		t.Errorf("failed trials:\n%s", s)
	}
	for _, re := range []string{
		`(?m)^12 trials, [1-9]\d* LM calls, \$\d+\.\d{4}$`,
		`(?m)^best: trial \d+, validation (\d\.\d{3}) on 40 examples$`,
		`(?m)^agent solver1 \(solver\): model=sim-\w+`,
		`(?m)^test: (\d\.\d{3}), 95% CI \[\d\.\d{3}, \d\.\d{3}\], on 100 examples$`,
	} {
		m := regexp.MustCompile(re).FindStringSubmatch(s)
		if m == nil {
			t.Errorf("output has no line matching %s:\n%s", re, s)
			continue
		}
		if len(m) > 1 {
			if v, _ := strconv.ParseFloat(m[1], 64); v <= 0.3 || v > 1 {
				t.Errorf("score %s outside (0.3, 1]:\n%s", m[1], s)
			}
		}
	}
}
