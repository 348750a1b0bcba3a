package prompt

import (
	"errors"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	cases := []Prompt{
		{Task: TaskAnswer, Agent: "a1", Role: "solver", Instruction: "Think step by step.\nCheck units.",
			Rules:    []string{"Show the final number only.", "Re-read the question."},
			Demos:    []Demo{{Question: "What is 2+2?\nContext: none", Answer: "4"}, {Question: "Q2", Answer: "x y"}},
			Question: "Tom has 3 apples.\nHe buys 4 more. How many?",
			Peers:    []Peer{{Agent: "a2", Answer: "7", Confidence: 0.8}, {Agent: "a3", Answer: "six (maybe)", Confidence: 0.25}}},
		{Task: TaskAnswer, Question: "only a question"},
		{Task: TaskAdvise, Role: "critic", Question: "q", Better: "trace 1\nline", Worse: "trace 2"},
		{Task: TaskProposeInstruction, Instruction: "old", Demos: []Demo{{Question: "q", Answer: "a"}}, Question: "Write a new instruction."},
	}
	for i, want := range cases {
		got, err := Parse(Render(&want))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !reflect.DeepEqual(normal(got), normal(want)) {
			t.Errorf("case %d:\n got %#v\nwant %#v", i, got, want)
		}
	}
}

func normal(p Prompt) Prompt {
	if len(p.Rules) == 0 {
		p.Rules = nil
	}
	if len(p.Demos) == 0 {
		p.Demos = nil
	}
	if len(p.Peers) == 0 {
		p.Peers = nil
	}
	return p
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"no header", "### Peers\n- a1: 3 (confidence 0.5)", "### Question\nq\n### Peers\nnot a peer"} {
		var p Prompt
		if err := ParseUser(s, &p); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseUser(%q) = %v, want ErrFormat", s, err)
		}
	}
}

func TestParseAnswer(t *testing.T) {
	cases := []struct {
		in   string
		ans  string
		conf float64
		ok   bool
	}{
		{FormatAnswer("42", 0.83), "42", 0.83, true},
		{"Let me think.\nAnswer: Paris\nConfidence: 2", "Paris", 1, true},
		{"The result is\n17", "17", 0.5, true},
		{"   ", "", 0.5, false},
	}
	for _, c := range cases {
		a, conf, ok := ParseAnswer(c.in)
		if a != c.ans || conf != c.conf || ok != c.ok {
			t.Errorf("ParseAnswer(%q) = %q, %v, %v; want %q, %v, %v", c.in, a, conf, ok, c.ans, c.conf, c.ok)
		}
	}
	if v, ok := ParseField("Sure.\nRule: check the sum twice", "Rule"); !ok || v != "check the sum twice" {
		t.Errorf("ParseField = %q, %v", v, ok)
	}
}

func BenchmarkRenderParse(b *testing.B) {
	p := &Prompt{Agent: "a1", Role: "solver", Instruction: "Think step by step.", Question: "Tom has 3 apples. He buys 4 more. How many?",
		Peers: []Peer{{Agent: "a2", Answer: "7", Confidence: 0.8}, {Agent: "a3", Answer: "6", Confidence: 0.25}}}
	sys := RenderSystem(p)
	b.ReportAllocs()
	var q Prompt
	for b.Loop() {
		u := RenderUser(p)
		_ = ParseSystem(sys, &q)
		_ = ParseUser(u, &q)
	}
}

func TestParseConfidence(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{{"0.83", 0.83, true}, {"1.00", 1, true}, {"0.5", 0.5, true}, {"1e-1", 0.1, true}, {"x.yz", 0, false}, {"", 0, false}} {
		got, ok := parseConfidence(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("parseConfidence(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	p, ok := parsePeer("- a2: the (odd) one (confidence 0.40)")
	if !ok || p.Answer != "the (odd) one" || p.Confidence != 0.4 {
		t.Errorf("parsePeer = %+v, %v", p, ok)
	}
}
