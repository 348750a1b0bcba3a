package prompt

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestRenderTrajectory(t *testing.T) {
	tr := Trajectory{Score: 0.5, Answer: "42", Steps: []Step{
		{Agent: "a1", Round: 0, Answer: "42", Confidence: 0.83},
		{Agent: "a2", Round: 0, Answer: "41", Confidence: 0.4},
		{Agent: "judge: 1", Round: 1, Answer: "42\nsure", Confidence: 1},
	}}
	want := "Score: 0.5\n- round 0, a1: 42 (confidence 0.83)\n- round 0, a2: 41 (confidence 0.4)\n" +
		`- round 1, judge\: 1: 42\nsure (confidence 1)` + "\nAnswer: 42"
	if got := RenderTrajectory(tr); got != want {
		t.Errorf("RenderTrajectory =\n%s\nwant\n%s", got, want)
	}
	if got := RenderTrajectory(Trajectory{}); got != "Score: 0\nAnswer: " {
		t.Errorf("RenderTrajectory(zero) = %q", got)
	}
}

// trajectoryCases are trajectories with awkward text in every field.
func trajectoryCases() []Trajectory {
	return []Trajectory{
		{},
		{Score: 1, Answer: "42"},
		{Score: 0.1 + 0.2, Answer: "Answer: 7\nConfidence: 1", Steps: []Step{
			{Agent: "a1", Round: 0, Answer: "Answer: 5", Confidence: 0.1 + 0.7},
			{Agent: "a: b", Round: 3, Answer: "6 (confidence 0.90)", Confidence: 1e-9},
			{Agent: `x\`, Round: -1, Answer: `\n\`, Confidence: -0.5},
			{Agent: "", Round: 12, Answer: "", Confidence: 0},
			{Agent: "- round 1, a1: 2 (confidence 1)\nScore: 3", Round: 1 << 40, Answer: "\nAnswer: 9\n", Confidence: math.Inf(1)},
			{Agent: `a\: b\\`, Round: 2, Answer: "(confidence 0.5)", Confidence: 0.5},
		}},
		{Score: math.Inf(-1), Answer: "\\", Steps: []Step{{Agent: "a", Answer: "b ()"}}},
		{Score: -1e300, Answer: "### Worse\n#", Steps: []Step{{Agent: "#", Answer: "#"}}},
	}
}

func TestTrajectoryRoundTrip(t *testing.T) {
	for i, want := range trajectoryCases() {
		s := RenderTrajectory(want)
		got, err := ParseTrajectory(s)
		if err != nil {
			t.Errorf("case %d: %v\n%s", i, err, s)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("case %d:\n got %#v\nwant %#v\n%s", i, got, want, s)
		}
		// Through a prompt's Better and Worse, too.
		p := Prompt{Task: TaskAdvise, Question: "q", Better: s, Worse: s}
		q, err := Parse(Render(&p))
		if err != nil || q.Better != s || q.Worse != s {
			t.Errorf("case %d: through a prompt: %v, %q, %q", i, err, q.Better, q.Worse)
		}
	}
}

// TestTrajectoryShortTexts tries every text of up to 3 characters over the
// characters that matter to the format, in every field at once.
func TestTrajectoryShortTexts(t *testing.T) {
	const alphabet = "\\n\n: ,()#-"
	texts := []string{""}
	for k := 0; len(texts[k]) < 3; k++ {
		for i := range len(alphabet) {
			texts = append(texts, texts[k]+alphabet[i:i+1])
		}
	}
	for _, s := range texts {
		want := Trajectory{Score: 0.75, Answer: s, Steps: []Step{{Agent: s, Round: 1, Answer: s, Confidence: 0.3},
			{Agent: s + ":", Answer: s + " (confidence 0.5)", Confidence: 0.5}, {Agent: s + ", ", Answer: "x"}}}
		got, err := ParseTrajectory(RenderTrajectory(want))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("text %q: %v\n got %#v\nwant %#v\n%s", s, err, got, want, RenderTrajectory(want))
		}
	}
}

// TestTrajectoryAnswer: ParseAnswer of a rendered trajectory, as a team or
// the surrogate reads the final answer of a Worse text, is the team's
// answer, not a step's, even when steps' answers look like answer lines.
func TestTrajectoryAnswer(t *testing.T) {
	for _, tr := range []Trajectory{
		{Score: 0, Answer: "41", Steps: []Step{{Agent: "a1", Answer: "42", Confidence: 0.9}, {Agent: "Answer", Round: 1, Answer: "Answer: 43"}}},
		{Score: 1, Answer: "Paris", Steps: []Step{{Agent: "a1", Round: 2, Answer: "Lyon\nAnswer: Nice", Confidence: 0.9}}},
		{Score: 0.5, Answer: "x y"},
	} {
		s := RenderTrajectory(tr)
		if a, _, ok := ParseAnswer(s); !ok || a != tr.Answer {
			t.Errorf("ParseAnswer(%q) = %q, %v; want the team's answer %q", s, a, ok, tr.Answer)
		}
	}
}

func TestParseTrajectoryErrors(t *testing.T) {
	for _, s := range []string{
		"",
		"Answer: 5",
		"trace 1\nline",
		"Score: 1",
		"Score: x\nAnswer: 5",
		"Score: 1\nAnswer: 5\n",
		"Score: 1\nsomething\nAnswer: 5",
		"Score: 1\n- round x, a1: 5 (confidence 0.5)\nAnswer: 5",
		"Score: 1\n- round 0 a1: 5 (confidence 0.5)\nAnswer: 5",
		"Score: 1\n- round 0, a1 5 (confidence 0.5)\nAnswer: 5",
		"Score: 1\n- round 0, a1: 5\nAnswer: 5",
		"Score: 1\n- round 0, a1: 5 (confidence x)\nAnswer: 5",
		"Score: 1\n- round 0, a1: 5 (confidence 0.5)",
		"Score: 1\nAnswer: 5\n- round 0, a1: 5 (confidence 0.5)",
	} {
		if tr, err := ParseTrajectory(s); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseTrajectory(%q) = %#v, %v; want ErrFormat", s, tr, err)
		}
	}
}

func FuzzTrajectory(f *testing.F) {
	f.Add(0.5, "42", "a1", 0, "41", 0.83, "a: b", "x\n- round 1, y: 2 (confidence 1)")
	f.Add(-1.0, "", "", -3, "", 0.0, `\`, `\n`)
	f.Add(1e-300, "Answer: 1\n", "- round 0, x", 1<<20, "(confidence 0.5)", 1.0, `a\: b\`, "### Worse")
	f.Fuzz(func(t *testing.T, score float64, answer, agent1 string, round int, answer1 string, c float64, agent2, answer2 string) {
		if math.IsNaN(score) || math.IsNaN(c) {
			t.Skip("NaN does not equal itself")
		}
		want := Trajectory{Score: score, Answer: answer, Steps: []Step{{Agent: agent1, Round: round, Answer: answer1, Confidence: c},
			{Agent: agent2, Round: round + 1, Answer: answer2, Confidence: 1 - c}}}
		s := RenderTrajectory(want)
		got, err := ParseTrajectory(s)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%v\n got %#v\nwant %#v\n%s", err, got, want, s)
		}
		if n := strings.Count(s, "\n"); n != 3 {
			t.Fatalf("%d line breaks, want 3:\n%s", n, s)
		}
	})
}

func TestFormatLineTargets(t *testing.T) {
	p := Prompt{Task: TaskAdvise, Question: "q", Better: "a", Worse: "b"}
	single := RenderSystem(&p)
	if !strings.HasSuffix(single, "\n### Format\nReply with one line: Rule: <one rule that would turn the worse trajectory into the better one>") {
		t.Errorf("single-rule format changed:\n%s", single)
	}
	p.Targets = []string{"a1", "a2"}
	multi := RenderSystem(&p)
	if !strings.Contains(multi, "Rule for <agent>: <") || multi == single {
		t.Errorf("format with targets does not ask for one rule per agent:\n%s", multi)
	}
	if got := RenderUser(&p); !strings.HasSuffix(got, "\n### Targets\n- a1\n- a2") {
		t.Errorf("user message with targets:\n%s", got)
	}
	// The other tasks do not depend on targets.
	for _, task := range []Task{TaskAnswer, TaskProposeInstruction} {
		p := Prompt{Task: task, Question: "q"}
		a := RenderSystem(&p)
		p.Targets = []string{"a1"}
		if b := RenderSystem(&p); a != b {
			t.Errorf("%s: format changed with targets: %q, %q", task, a, b)
		}
	}
}

// nastyIDs are agent ids that the advice format must escape.
var nastyIDs = []string{"a1", "", "judge: final", "a: b: c", `x\`, `x\:`, `\: `, "a:", ":", ": ", "two\nlines", `back\nslash`,
	"Rule for a1: forged", "- a", "  spaced  ", "#", `\\`, "(confidence 0.5)"}

func TestAdviceRoundTrip(t *testing.T) {
	rules := make([]string, len(nastyIDs))
	for i := range rules {
		rules[i] = []string{"Check the sum.", "x: y", "two\nlines", `\n`, "Rule for a1: forged", `\`, "a\nRule for a2: b"}[i%7]
	}
	reply := FormatAdvice(nastyIDs, rules)
	if n := strings.Count(reply, "\n") + 1; n != len(nastyIDs) {
		t.Fatalf("FormatAdvice wrote %d lines for %d agents:\n%s", n, len(nastyIDs), reply)
	}
	got, err := ParseAdvice(reply)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i, id := range nastyIDs {
		want[id] = rules[i]
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseAdvice(FormatAdvice(...)) =\n%#v\nwant\n%#v\nreply:\n%s", got, want, reply)
	}
	if got := FormatAdvice([]string{"a1", "a: b"}, []string{"r1", "r2"}); got != "Rule for a1: r1\n"+`Rule for a\: b: r2` {
		t.Errorf("FormatAdvice = %q", got)
	}
	if got := FormatAdvice(nil, nil); got != "" {
		t.Errorf("FormatAdvice(nil, nil) = %q", got)
	}
}

// TestAdviceTargetsCopied: an id copied from a rendered Targets line into a
// reply reads back as that id, as a model copying the list would write it.
func TestAdviceTargetsCopied(t *testing.T) {
	p := Prompt{Task: TaskAdvise, Question: "q", Targets: nastyIDs}
	user := RenderUser(&p)
	_, body, _ := strings.Cut(user, "### Targets\n")
	var reply strings.Builder
	for line := range strings.Lines(body) {
		reply.WriteString("Rule for " + strings.TrimSuffix(strings.TrimPrefix(line, "- "), "\n") + ": check it\n")
	}
	got, err := ParseAdvice(reply.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range nastyIDs {
		if got[id] != "check it" {
			t.Errorf("id %q copied from Targets: rule %q", id, got[id])
		}
	}
}

func TestParseAdviceLenient(t *testing.T) {
	reply := "Here are the rules.\n\n  - Rule for a1:   Check twice.  \r\n* Rule for a2: Re-read.\nRule: generic\nRule for a3: \n" +
		"Rule for a1: Check the sum.\nRule for no colon\nrule for a4: lower case"
	got, err := ParseAdvice(reply)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a1": "Check the sum.", "a2": "Re-read."}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseAdvice = %#v, want %#v", got, want)
	}
}

func TestParseAdviceErrors(t *testing.T) {
	for _, s := range []string{"", "Rule: check twice", "Rule for a1 check twice", "Rule for a1: ", "no rules here\n" + strings.Repeat("x", 200)} {
		m, err := ParseAdvice(s)
		if !errors.Is(err, ErrFormat) || m != nil || !strings.Contains(err.Error(), "Rule for <agent>: <rule>") {
			t.Errorf("ParseAdvice(%q) = %v, %v; want ErrFormat naming the line format", s, m, err)
		}
		if len(err.Error()) > 200 {
			t.Errorf("error too long: %d bytes", len(err.Error()))
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("FormatAdvice with more agents than rules did not panic")
		}
	}()
	FormatAdvice([]string{"a1", "a2"}, []string{"r1"})
}

func FuzzAdvice(f *testing.F) {
	f.Add("a1", "check twice", "a: b", "x\ny")
	f.Add(`\`, `\n`, "", "Rule for a1: x")
	f.Fuzz(func(t *testing.T, id1, rule1, id2, rule2 string) {
		rule1, rule2 = strings.TrimSpace(rule1), strings.TrimSpace(rule2)
		if rule1 == "" || rule2 == "" || id1 == id2 {
			t.Skip()
		}
		got, err := ParseAdvice(FormatAdvice([]string{id1, id2}, []string{rule1, rule2}))
		want := map[string]string{id1: rule1, id2: rule2}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%v\n got %#v\nwant %#v", err, got, want)
		}
	})
}
