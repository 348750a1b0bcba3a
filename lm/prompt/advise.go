package prompt

import (
	"fmt"
	"strconv"
	"strings"
)

// Trajectory is one run of a team on a question, as TaskAdvise compares
// two: its score, the team's answer, and what each agent answered in each
// round. RenderTrajectory writes it for Prompt.Better and Prompt.Worse.
type Trajectory struct {
	Score  float64
	Answer string // the team's answer
	Steps  []Step
}

// Step is one agent's answer in one round of a trajectory.
type Step struct {
	Agent      string
	Round      int
	Answer     string
	Confidence float64
}

const (
	scoreLine  = "Score: "
	stepPrefix = "- round "
	answerLine = "Answer: "
	rulePrefix = "Rule for "
)

// RenderTrajectory renders t as lines
//
//	Score: 0.5
//	- round 0, a1: 42 (confidence 0.83)
//	- round 0, a2: 41 (confidence 0.4)
//	Answer: 42
//
// a step per line in t's order, the team's answer last, so that
// ParseAnswer of the rendering reads the team's answer (exactly, when it is
// one line without surrounding white space or "Answer:" in it). Agents are
// escaped as a peer's agent is, answers as a peer's answer; the score and
// confidences are written in the shortest form that reads back exactly
// (strconv's 'g', -1).
func RenderTrajectory(t Trajectory) string {
	n := len(scoreLine) + 24 + 1 + len(answerLine) + len(t.Answer)
	for i := range t.Steps {
		n += len(stepPrefix) + 24 + len(t.Steps[i].Agent) + len(t.Steps[i].Answer) + len(conf) + 24
	}
	b := make([]byte, 0, n)
	b = append(b, scoreLine...)
	b = strconv.AppendFloat(b, t.Score, 'g', -1, 64)
	for i := range t.Steps {
		s := &t.Steps[i]
		b = append(b, '\n')
		b = append(b, stepPrefix...)
		b = strconv.AppendInt(b, int64(s.Round), 10)
		b = append(b, ", "...)
		b = appendLine(b, s.Agent, false, true)
		b = append(b, ": "...)
		b = appendLine(b, s.Answer, false, false)
		b = append(b, conf...)
		b = strconv.AppendFloat(b, s.Confidence, 'g', -1, 64)
		b = append(b, ')')
	}
	b = append(b, '\n')
	b = append(b, answerLine...)
	b = appendLine(b, t.Answer, false, false)
	return bytesString(b)
}

// ParseTrajectory reads a trajectory rendered by RenderTrajectory:
// ParseTrajectory(RenderTrajectory(t)) returns t for any text in any field
// (and any score and confidences but NaN), with nil Steps if there are
// none. Any other text, such as a free-text trajectory, is an ErrFormat
// error: the first line must be the score, the last the team's answer, and
// every line between a step.
func ParseTrajectory(s string) (Trajectory, error) {
	var t Trajectory
	line, rest, _ := strings.Cut(s, "\n")
	v, ok := strings.CutPrefix(line, scoreLine)
	if !ok {
		return t, fmt.Errorf("%w: trajectory does not start with a %q line", ErrFormat, scoreLine)
	}
	score, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return t, fmt.Errorf("%w: trajectory score %q", ErrFormat, v)
	}
	t.Score = score
	for {
		var more bool
		line, rest, more = strings.Cut(rest, "\n")
		if !more {
			break
		}
		st, ok := parseStep(line)
		if !ok {
			return Trajectory{}, fmt.Errorf("%w: trajectory step %q", ErrFormat, line)
		}
		t.Steps = append(t.Steps, st)
	}
	a, ok := strings.CutPrefix(line, answerLine)
	if !ok {
		return Trajectory{}, fmt.Errorf("%w: trajectory does not end with an %q line", ErrFormat, answerLine)
	}
	t.Answer = readLine(a, false, false)
	return t, nil
}

// parseStep reads "- round 0, a1: 42 (confidence 0.83)".
func parseStep(line string) (Step, bool) {
	line, ok := strings.CutPrefix(line, stepPrefix)
	if !ok {
		return Step{}, false
	}
	r, line, ok := strings.Cut(line, ", ")
	if !ok {
		return Step{}, false
	}
	round, err := strconv.Atoi(r)
	if err != nil {
		return Step{}, false
	}
	agent, rest, ok := cutAgent(line)
	if !ok {
		return Step{}, false
	}
	// The confidence is always written, and its text holds no conf.
	i := strings.LastIndex(rest, conf)
	if i < 0 || !strings.HasSuffix(rest, ")") {
		return Step{}, false
	}
	c, ok := parseConfidence(rest[i+len(conf) : len(rest)-1])
	if !ok {
		return Step{}, false
	}
	return Step{Agent: readLine(agent, false, true), Round: round, Answer: readLine(rest[:i], false, false), Confidence: c}, true
}

// FormatAdvice renders a TaskAdvise reply with targets: for each i a line
// "Rule for <agents[i]>: <rules[i]>", in order. Agents are escaped as a
// peer's agent is (": " as "\: "), rules as a single-line field (a newline
// as "\n"). It panics if agents and rules differ in length.
func FormatAdvice(agents, rules []string) string {
	if len(agents) != len(rules) {
		panic(fmt.Sprintf("prompt.FormatAdvice: %d agents but %d rules", len(agents), len(rules)))
	}
	n := 0
	for i := range agents {
		n += len(rulePrefix) + len(agents[i]) + 3 + len(rules[i])
	}
	b := make([]byte, 0, n)
	for i := range agents {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, rulePrefix...)
		b = appendLine(b, agents[i], false, true)
		b = append(b, ": "...)
		b = appendLine(b, rules[i], false, false)
	}
	return bytesString(b)
}

// ParseAdvice reads a TaskAdvise reply with targets: the rule of each
// agent, by agent id, from the lines "Rule for <agent>: <rule>". It is
// lenient, as real models are not exact: such a line may be indented and
// bulleted ("- " or "* "), other lines are ignored, white space around a
// rule is dropped, a line with an empty rule is ignored, and of several
// lines for one agent the last counts. The agent ends at the first ": "
// not escaped as "\: ". So ParseAdvice(FormatAdvice(agents, rules)) maps
// each agent to its rule, for any agent id and any rule without white
// space at either end. A reply without any such line is an ErrFormat
// error.
func ParseAdvice(reply string) (map[string]string, error) {
	out := map[string]string{}
	for line := range strings.Lines(reply) {
		line = strings.TrimLeft(line, " \t")
		if l, ok := strings.CutPrefix(line, "- "); ok {
			line = l
		} else if l, ok := strings.CutPrefix(line, "* "); ok {
			line = l
		}
		line, ok := strings.CutPrefix(line, rulePrefix)
		if !ok {
			continue
		}
		line = strings.TrimRight(line, "\r\n")
		agent, rule, ok := cutAgent(line)
		if !ok {
			continue
		}
		rule = strings.TrimSpace(rule)
		if rule == "" {
			continue
		}
		out[readLine(agent, false, true)] = readLine(rule, false, false)
	}
	if len(out) == 0 {
		const limit = 80
		r := reply
		if len(r) > limit {
			r = r[:limit] + "..."
		}
		return nil, fmt.Errorf("%w: advice reply has no %q line: %q", ErrFormat, "Rule for <agent>: <rule>", r)
	}
	return out, nil
}
