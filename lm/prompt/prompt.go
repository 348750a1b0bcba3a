// Package prompt renders an agent's prompt into chat messages and parses it
// back. It is the one text format the team writes and the surrogate model
// reads, so both go through the same code path a real model sees.
//
// A prompt is two messages. The system message holds what is fixed for an
// agent (task, agent id, role, instruction, rules, demos), so a team renders
// it once per agent; the user message holds what changes per call (question,
// peers' answers, and for proposal tasks the material to work from).
// Sections start with a line "### Name"; demos inside "### Examples" start
// with "#### Example". Texts must not contain lines that start with "###".
package prompt

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mabeam/mabeam/lm"
)

// Task says what the model is asked to do.
type Task string

// Tasks.
const (
	// TaskAnswer: answer the question (solver, critic, judge, planner).
	TaskAnswer Task = "answer"
	// TaskProposeInstruction: write a better instruction for a role, given
	// the current instruction and grounding examples. Reply: "Instruction: ...".
	TaskProposeInstruction Task = "propose-instruction"
	// TaskAdvise: compare a better and a worse trajectory and write one rule
	// (SIMBA's introspection). Reply: "Rule: ...".
	TaskAdvise Task = "advise"
)

// Demo is a worked example shown to the agent.
type Demo struct {
	Question string
	Answer   string
}

// Peer is an in-neighbour's last message.
type Peer struct {
	Agent      string
	Answer     string
	Confidence float64
}

// Prompt is the structured content of one call.
type Prompt struct {
	Task        Task   // "" means TaskAnswer
	Agent       string // agent id
	Role        string // solver, critic, judge, planner, ...
	Instruction string
	Rules       []string
	Demos       []Demo

	Question string
	Peers    []Peer
	// Better and Worse are the two trajectories compared by TaskAdvise.
	Better, Worse string
}

const (
	hdr     = "### "
	demoHdr = "#### Example\n"
)

// Render returns the system and user messages of p.
func Render(p *Prompt) []lm.Message {
	return []lm.Message{{Role: lm.RoleSystem, Content: RenderSystem(p)}, {Role: lm.RoleUser, Content: RenderUser(p)}}
}

// RenderSystem renders the fixed part of p: task, agent, role, instruction,
// rules, demos and the reply format.
func RenderSystem(p *Prompt) string {
	var b strings.Builder
	n := 128 + len(p.Instruction)
	for _, r := range p.Rules {
		n += len(r) + 3
	}
	for _, d := range p.Demos {
		n += len(d.Question) + len(d.Answer) + 32
	}
	b.Grow(n)
	task := p.Task
	if task == "" {
		task = TaskAnswer
	}
	b.WriteString("### Task\n")
	b.WriteString(string(task))
	if p.Agent != "" {
		b.WriteString("\n### Agent\n")
		b.WriteString(p.Agent)
	}
	if p.Role != "" {
		b.WriteString("\n### Role\n")
		b.WriteString(p.Role)
	}
	if p.Instruction != "" {
		b.WriteString("\n### Instruction\n")
		b.WriteString(p.Instruction)
	}
	if len(p.Rules) > 0 {
		b.WriteString("\n### Rules")
		for _, r := range p.Rules {
			b.WriteString("\n- ")
			b.WriteString(r)
		}
	}
	if len(p.Demos) > 0 {
		b.WriteString("\n### Examples")
		for _, d := range p.Demos {
			b.WriteString("\n#### Example\nQuestion: ")
			b.WriteString(d.Question)
			b.WriteString("\nAnswer: ")
			b.WriteString(d.Answer)
		}
	}
	b.WriteString("\n### Format\n")
	b.WriteString(formatLine(task))
	return b.String()
}

func formatLine(t Task) string {
	switch t {
	case TaskProposeInstruction:
		return "Reply with one line: Instruction: <the new instruction>"
	case TaskAdvise:
		return "Reply with one line: Rule: <one rule that would turn the worse trajectory into the better one>"
	default:
		return "Reply with two lines: Answer: <final answer only> and Confidence: <a number from 0 to 1>"
	}
}

// RenderUser renders the per-call part of p: the question, peers' answers,
// and the trajectories of TaskAdvise.
func RenderUser(p *Prompt) string {
	var b strings.Builder
	b.Grow(32 + len(p.Question) + 40*len(p.Peers) + len(p.Better) + len(p.Worse))
	b.WriteString("### Question\n")
	b.WriteString(p.Question)
	if len(p.Peers) > 0 {
		b.WriteString("\n### Peers")
		var num [24]byte
		for _, pe := range p.Peers {
			b.WriteString("\n- ")
			b.WriteString(pe.Agent)
			b.WriteString(": ")
			b.WriteString(pe.Answer)
			b.WriteString(" (confidence ")
			b.Write(strconv.AppendFloat(num[:0], pe.Confidence, 'f', 2, 64))
			b.WriteByte(')')
		}
	}
	if p.Better != "" || p.Worse != "" {
		b.WriteString("\n### Better\n")
		b.WriteString(p.Better)
		b.WriteString("\n### Worse\n")
		b.WriteString(p.Worse)
	}
	return b.String()
}

// ErrFormat reports a message that does not follow this package's format.
var ErrFormat = errors.New("prompt: malformed message")

// Parse reads a prompt rendered by Render. Unknown sections are ignored; a
// message without a "### Question" section is an error.
func Parse(msgs []lm.Message) (Prompt, error) {
	var p Prompt
	for _, m := range msgs {
		switch m.Role {
		case lm.RoleSystem:
			if err := ParseSystem(m.Content, &p); err != nil {
				return p, err
			}
		case lm.RoleUser:
			if err := ParseUser(m.Content, &p); err != nil {
				return p, err
			}
		}
	}
	if p.Task == "" {
		p.Task = TaskAnswer
	}
	return p, nil
}

// sections calls fn for each "### Name" section of s with its body.
func sections(s string, fn func(name, body string) error) error {
	if !strings.HasPrefix(s, hdr) {
		return fmt.Errorf("%w: does not start with a %q section", ErrFormat, hdr)
	}
	s = s[len(hdr):]
	for len(s) > 0 {
		nl := strings.IndexByte(s, '\n')
		var name, body string
		if nl < 0 {
			name, s = s, ""
		} else {
			name, s = s[:nl], s[nl+1:]
			end := strings.Index(s, "\n"+hdr)
			if end < 0 {
				body, s = s, ""
			} else {
				body, s = s[:end], s[end+1+len(hdr):]
			}
		}
		if err := fn(name, body); err != nil {
			return err
		}
	}
	return nil
}

// ParseSystem fills p's fixed fields from a system message.
func ParseSystem(s string, p *Prompt) error {
	return sections(s, func(name, body string) error {
		switch name {
		case "Task":
			p.Task = Task(body)
		case "Agent":
			p.Agent = body
		case "Role":
			p.Role = body
		case "Instruction":
			p.Instruction = body
		case "Rules":
			p.Rules = p.Rules[:0]
			for _, line := range strings.Split(body, "\n") {
				if r, ok := strings.CutPrefix(line, "- "); ok {
					p.Rules = append(p.Rules, r)
				}
			}
		case "Examples":
			p.Demos = p.Demos[:0]
			rest := body
			for {
				i := strings.Index(rest, demoHdr)
				if i < 0 {
					break
				}
				rest = rest[i+len(demoHdr):]
				next := strings.Index(rest, "\n"+demoHdr)
				one := rest
				if next >= 0 {
					one, rest = rest[:next], rest[next+1:]
				} else {
					rest = ""
				}
				q, a, ok := strings.Cut(one, "\nAnswer: ")
				q, ok2 := strings.CutPrefix(q, "Question: ")
				if !ok || !ok2 {
					return fmt.Errorf("%w: example %d lacks \"Question: \" or \"Answer: \"", ErrFormat, len(p.Demos)+1)
				}
				p.Demos = append(p.Demos, Demo{Question: q, Answer: a})
			}
		}
		return nil
	})
}

// ParseUser fills p's per-call fields from a user message.
func ParseUser(s string, p *Prompt) error {
	seen := false
	err := sections(s, func(name, body string) error {
		switch name {
		case "Question":
			p.Question, seen = body, true
		case "Peers":
			p.Peers = p.Peers[:0]
			for len(body) > 0 {
				var line string
				line, body, _ = strings.Cut(body, "\n")
				pe, ok := parsePeer(line)
				if !ok {
					return fmt.Errorf("%w: peer line %q", ErrFormat, line)
				}
				p.Peers = append(p.Peers, pe)
			}
		case "Better":
			p.Better = body
		case "Worse":
			p.Worse = body
		}
		return nil
	})
	if err == nil && !seen {
		err = fmt.Errorf("%w: no \"### Question\" section", ErrFormat)
	}
	return err
}

// parsePeer reads "- agent: answer (confidence 0.70)".
func parsePeer(line string) (Peer, bool) {
	line, ok := strings.CutPrefix(line, "- ")
	if !ok {
		return Peer{}, false
	}
	agent, rest, ok := strings.Cut(line, ": ")
	if !ok {
		return Peer{}, false
	}
	const conf = " (confidence "
	i := -1
	if strings.HasSuffix(rest, ")") {
		if j := strings.LastIndexByte(rest, '('); j > 0 && strings.HasPrefix(rest[j-1:], conf) {
			i = j - 1
		}
	}
	if i < 0 {
		return Peer{Agent: agent, Answer: rest, Confidence: 0.5}, true
	}
	c, ok := parseConfidence(rest[i+len(conf) : len(rest)-1])
	if !ok {
		return Peer{}, false
	}
	return Peer{Agent: agent, Answer: rest[:i], Confidence: c}, true
}

// parseConfidence reads the "0.83" FormatAnswer writes without the cost of
// strconv, and falls back to strconv for any other form.
func parseConfidence(s string) (float64, bool) {
	if len(s) == 4 && s[1] == '.' && s[0] >= '0' && s[0] <= '9' && s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9' {
		return float64(int(s[0]-'0')*100+int(s[2]-'0')*10+int(s[3]-'0')) / 100, true
	}
	c, err := strconv.ParseFloat(s, 64)
	return c, err == nil
}

// FormatAnswer renders a TaskAnswer reply.
func FormatAnswer(answer string, confidence float64) string {
	var num [24]byte
	return "Answer: " + answer + "\nConfidence: " + string(strconv.AppendFloat(num[:0], confidence, 'f', 2, 64))
}

// ParseAnswer reads a TaskAnswer reply. It is lenient, as real models are
// not exact: the answer is the text after the last "Answer:" (else the last
// non-empty line); the confidence is after "Confidence:" (else 0.5),
// clamped to [0, 1]. ok is false when the reply is empty.
func ParseAnswer(text string) (answer string, confidence float64, ok bool) {
	confidence = 0.5
	if i := strings.LastIndex(text, "Confidence:"); i >= 0 {
		v := strings.TrimSpace(firstLine(text[i+len("Confidence:"):]))
		if c, ok := parseConfidence(v); ok {
			confidence = min(max(c, 0), 1)
		}
	}
	if i := strings.LastIndex(text, "Answer:"); i >= 0 {
		answer = strings.TrimSpace(firstLine(text[i+len("Answer:"):]))
	} else {
		t := strings.TrimSpace(text)
		if j := strings.LastIndexByte(t, '\n'); j >= 0 {
			t = strings.TrimSpace(t[j+1:])
		}
		answer = t
	}
	return answer, confidence, answer != ""
}

// ParseField returns the text after "Name:" on its line, for the replies of
// TaskProposeInstruction ("Instruction") and TaskAdvise ("Rule").
func ParseField(text, name string) (string, bool) {
	i := strings.LastIndex(text, name+":")
	if i < 0 {
		return "", false
	}
	v := strings.TrimSpace(firstLine(text[i+len(name)+1:]))
	return v, v != ""
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
