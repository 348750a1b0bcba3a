// Package prompt renders an agent's prompt into chat messages and parses it
// back. It is the one text format the team writes and the surrogate model
// reads, so both go through the same code path a real model sees: Render
// turns a Prompt into the messages of an lm.Request, Parse reads them
// back, and ReadAnswer reads a reply's answer and confidence (FormatAnswer
// writes one).
//
// A prompt is two messages. The system message holds what is fixed for an
// agent (task, agent id, role, instruction, rules, demos), so a team renders
// it once per agent; the user message holds what changes per call (question,
// the agent's own previous answer, peers' answers, and for proposal tasks
// the material to work from: the gold answer, the better and the worse
// trajectory and the agents to advise). Sections start with a line
// "### Name"; rules inside "### Rules" start with "- "; demos inside
// "### Examples" start with "#### Example", then "Question: " and
// "Answer: " lines; peers inside "### Peers" are lines
// "- agent: answer (confidence 0.70)", the body of "### Previous" is
// "answer (confidence 0.70)", and targets inside "### Targets" are lines
// "- agent". Sections of empty fields are left out.
//
// A trajectory (Trajectory, RenderTrajectory) is the text of a Better or
// Worse field: a line "Score: 0.5", a line per step
// "- round 0, agent: answer (confidence 0.83)", and last "Answer: " and
// the team's answer. With Targets, the Format of a TaskAdvise system
// message asks for a line "Rule for agent: rule" per target (FormatAdvice,
// ParseAdvice), without them for one line "Rule: rule".
//
// # Escaping
//
// Parse(Render(p)) returns p for any text in any field, so no text can forge
// a section, rule, demo or peer. The escape character is a backslash, and
// texts without special lines or characters are rendered as they are.
//
// Multi-line fields (Instruction, each rule, demo Question and Answer,
// Question, Gold, Better, Worse): every line of the text that starts a
// line of the message and starts with "#" or "\" gets a "\" in front, and
// so do a rule's continuation lines that start with "- " and a demo
// question's that start with "Answer: " (the first line of a rule or demo
// field follows its "- ", "Question: " or "Answer: " on the same line, so
// it needs none). Parsing drops the "\" at the start of such a line.
//
// Single-line fields (Task, Agent, Role, a peer's Agent and Answer, the
// Previous answer, each target; in a trajectory a step's Agent and Answer
// and the team's Answer; in advice the agent and the rule) never span
// lines: a newline is written as the two characters "\n", and a backslash
// is doubled where it would read as an escape: before "n", "\" or a
// newline, and in an agent id (a peer's, a target, a step's, advice's)
// before ":" and at its end, where ": " is written "\: " so that the
// first unescaped ": " of a peer, step or advice line ends the agent (a
// target is escaped the same way, so that a model can copy it into its
// reply). Other backslashes (as in "\frac") are left alone. Task, Agent,
// Role and the Previous answer start their line, so a leading "#" or "\"
// (or a newline) gets a "\" in front as well. Confidences of peers and
// Previous are written with two decimals, so they round-trip rounded to
// 0.01; a trajectory's score and confidences round-trip exactly.
// Previous.Agent is not rendered.
package prompt

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

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
	// (SIMBA's introspection). Reply: "Rule: ...". With Targets, one rule
	// per target agent instead, a line "Rule for <agent>: ..." each
	// (FormatAdvice, ParseAdvice).
	TaskAdvise Task = "advise"
)

// Demo is a worked example shown to the agent.
type Demo struct {
	Question string
	// Answer may be a whole reply over several lines, e.g.
	// "Reasoning: ...\nAnswer: 42\nConfidence: 0.90".
	Answer string
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
	// Previous is the agent's own answer from the previous debate round;
	// nil in round 0. Only its Answer and Confidence are rendered.
	Previous *Peer
	Peers    []Peer
	// Gold is the gold answer to Question, shown to TaskAdvise.
	Gold string
	// Better and Worse are the two trajectories compared by TaskAdvise:
	// free text, or a Trajectory as RenderTrajectory writes it.
	Better, Worse string
	// Targets are the ids of the agents TaskAdvise is to advise, one rule
	// each; none asks for a single rule. They are rendered in the user
	// message, and RenderSystem words the reply format by whether there
	// are any.
	Targets []string
}

const (
	hdr     = "### "
	demoHdr = "#### Example\n"
	esc     = '\\' // the escape character
	conf    = " (confidence "
)

// Render returns the system and user messages of p.
func Render(p *Prompt) []lm.Message {
	return []lm.Message{{Role: lm.RoleSystem, Content: RenderSystem(p)}, {Role: lm.RoleUser, Content: RenderUser(p)}}
}

// RenderSystem renders the fixed part of p: task, agent, role, instruction,
// rules, demos and the reply format (for TaskAdvise, one rule per target
// if p has Targets).
func RenderSystem(p *Prompt) string {
	task := p.Task
	if task == "" {
		task = TaskAnswer
	}
	// The length without escapes, and some room for a few.
	format := formatLine(task, len(p.Targets) > 0)
	n := 82 + 16 + len(task) + len(p.Agent) + len(p.Role) + len(p.Instruction) + len(format)
	for _, r := range p.Rules {
		n += len(r) + 3
	}
	for _, d := range p.Demos {
		n += len(d.Question) + len(d.Answer) + 33
	}
	b := make([]byte, 0, n)
	b = append(b, "### Task\n"...)
	b = appendLine(b, string(task), true, false)
	if p.Agent != "" {
		b = append(b, "\n### Agent\n"...)
		b = appendLine(b, p.Agent, true, false)
	}
	if p.Role != "" {
		b = append(b, "\n### Role\n"...)
		b = appendLine(b, p.Role, true, false)
	}
	if p.Instruction != "" {
		b = append(b, "\n### Instruction\n"...)
		b = appendText(b, p.Instruction, true, "")
	}
	if len(p.Rules) > 0 {
		b = append(b, "\n### Rules"...)
		for _, r := range p.Rules {
			b = append(b, "\n- "...)
			b = appendText(b, r, false, "- ")
		}
	}
	if len(p.Demos) > 0 {
		b = append(b, "\n### Examples"...)
		for _, d := range p.Demos {
			b = append(b, "\n#### Example\nQuestion: "...)
			b = appendText(b, d.Question, false, "Answer: ")
			b = append(b, "\nAnswer: "...)
			b = appendText(b, d.Answer, false, "")
		}
	}
	b = append(b, "\n### Format\n"...)
	b = append(b, format...)
	return bytesString(b)
}

// bytesString returns b as a string without a copy; b must not be
// written again (as strings.Builder does).
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// formatLine is the reply format of task t; targets says the user message
// lists agents to advise.
func formatLine(t Task, targets bool) string {
	switch t {
	case TaskProposeInstruction:
		return "Reply with one line: Instruction: <the new instruction>"
	case TaskAdvise:
		if targets {
			return "Reply with one line per agent under Targets, its id written as there: " +
				"Rule for <agent>: <one rule for that agent that would turn the worse trajectory into the better one>"
		}
		return "Reply with one line: Rule: <one rule that would turn the worse trajectory into the better one>"
	default:
		return "Reply with two lines: Answer: <final answer only> and Confidence: <a number from 0 to 1>"
	}
}

// RenderUser renders the per-call part of p: the question, the gold
// answer, the agent's previous answer, peers' answers, and the
// trajectories and targets of TaskAdvise.
func RenderUser(p *Prompt) string {
	return bytesString(AppendUser(make([]byte, 0, userSize(p)), p))
}

// userSize is the room to reserve for p's user message: its length as
// RenderUser renders it without escapes, and a little more.
func userSize(p *Prompt) int {
	n := 13 + 16 + len(p.Question)
	if p.Gold != "" {
		n += 10 + len(p.Gold)
	}
	if p.Previous != nil {
		n += 32 + len(p.Previous.Answer)
	}
	if len(p.Peers) > 0 {
		n += 10
		for i := range p.Peers {
			n += 23 + len(p.Peers[i].Agent) + len(p.Peers[i].Answer)
		}
	}
	if p.Better != "" || p.Worse != "" {
		n += 23 + len(p.Better) + len(p.Worse)
	}
	if len(p.Targets) > 0 {
		n += 12
		for _, t := range p.Targets {
			n += 3 + len(t)
		}
	}
	return n
}

// AppendUser appends the user message of p, as RenderUser renders it, to
// dst and returns the extended buffer, so that a caller rendering many
// messages can reuse one.
func AppendUser(dst []byte, p *Prompt) []byte {
	b := append(dst, "### Question\n"...)
	b = appendText(b, p.Question, true, "")
	if p.Gold != "" {
		b = append(b, "\n### Gold\n"...)
		b = appendText(b, p.Gold, true, "")
	}
	if p.Previous != nil {
		b = append(b, "\n### Previous\n"...)
		b = appendLine(b, p.Previous.Answer, true, false)
		b = append(b, conf...)
		b = strconv.AppendFloat(b, p.Previous.Confidence, 'f', 2, 64)
		b = append(b, ')')
	}
	if len(p.Peers) > 0 {
		b = append(b, "\n### Peers"...)
		for i := range p.Peers {
			pe := &p.Peers[i]
			b = append(b, "\n- "...)
			b = appendLine(b, pe.Agent, false, true)
			b = append(b, ": "...)
			b = appendLine(b, pe.Answer, false, false)
			b = append(b, conf...)
			b = strconv.AppendFloat(b, pe.Confidence, 'f', 2, 64)
			b = append(b, ')')
		}
	}
	if p.Better != "" || p.Worse != "" {
		b = append(b, "\n### Better\n"...)
		b = appendText(b, p.Better, true, "")
		b = append(b, "\n### Worse\n"...)
		b = appendText(b, p.Worse, true, "")
	}
	if len(p.Targets) > 0 {
		b = append(b, "\n### Targets"...)
		for _, t := range p.Targets {
			b = append(b, "\n- "...)
			b = appendLine(b, t, false, true)
		}
	}
	return b
}

// escapeLine reports whether a line of a multi-line text must be escaped:
// it starts with "#", with the escape character, or with extra.
func escapeLine(line, extra string) bool {
	return line != "" && (line[0] == '#' || line[0] == esc) || extra != "" && strings.HasPrefix(line, extra)
}

// appendText appends the multi-line text s, escaping each line that
// escapeLine says must be; the first line only if head, that is, if it
// starts a line of the message.
func appendText(b []byte, s string, head bool, extra string) []byte {
	if head && escapeLine(s, extra) {
		b = append(b, esc)
	}
	for {
		nl := strings.IndexByte(s, '\n')
		if nl < 0 {
			return append(b, s...)
		}
		b = append(b, s[:nl+1]...)
		s = s[nl+1:]
		if escapeLine(s, extra) {
			b = append(b, esc)
		}
	}
}

// readText undoes appendText: it drops the escape character at the start of
// each line (of the first line only if head).
func readText(s string, head bool) string {
	if strings.IndexByte(s, esc) < 0 {
		return s
	}
	lead := head && s[0] == esc
	i := strings.Index(s, "\n\\")
	if !lead && i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	if lead {
		s = s[1:]
		i = strings.Index(s, "\n\\")
	}
	for i >= 0 {
		b.WriteString(s[:i+1])
		s = s[i+2:]
		i = strings.Index(s, "\n\\")
	}
	b.WriteString(s)
	return b.String()
}

// appendLine appends the single-line field s: a newline as `\n`, a
// backslash doubled where it would read as an escape, and with colon (a
// peer's agent, followed by ": " in its line) ": " as `\: `. With head (s
// starts a line of the message) a leading "#", backslash or newline gets an
// escape character in front, as a line of a text would.
func appendLine(b []byte, s string, head, colon bool) []byte {
	if head && s != "" && (s[0] == '#' || s[0] == esc || s[0] == '\n') {
		b = append(b, esc)
	}
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\n' && c != esc && (!colon || c != ':') {
			continue
		}
		var rep string
		switch {
		case c == '\n':
			rep = `\n`
		case c == esc && doubled(s, i+1, colon):
			rep = `\\`
		case c == ':' && i+1 < len(s) && s[i+1] == ' ':
			rep = `\:`
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, rep...)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// doubled reports whether a backslash of a single-line field followed by
// s[i:] must be doubled: before a character that starts an escape, and
// with colon before ":" and at the end (where ": " follows).
func doubled(s string, i int, colon bool) bool {
	if i == len(s) {
		return colon
	}
	c := s[i]
	return c == 'n' || c == esc || c == '\n' || colon && c == ':'
}

// readLine undoes appendLine.
func readLine(s string, head, colon bool) string {
	if head && s != "" && s[0] == esc {
		s = s[1:]
	}
	i := strings.IndexByte(s, esc)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c == esc && i+1 < len(s) {
			switch d := s[i+1]; {
			case d == 'n':
				c = '\n'
				i++
			case d == esc || colon && d == ':':
				c = d
				i++
			}
		}
		b.WriteByte(c)
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
			p.Task = Task(readLine(body, true, false))
		case "Agent":
			p.Agent = readLine(body, true, false)
		case "Role":
			p.Role = readLine(body, true, false)
		case "Instruction":
			p.Instruction = readText(body, true)
		case "Rules":
			p.Rules = p.Rules[:0]
			// A rule starts at a line "- "; its other lines never do.
			rest := body
			if !strings.HasPrefix(rest, "- ") {
				i := strings.Index(rest, "\n- ")
				if i < 0 {
					break
				}
				rest = rest[i+1:]
			}
			for rest != "" {
				r := rest[len("- "):]
				rest = ""
				if i := strings.Index(r, "\n- "); i >= 0 {
					r, rest = r[:i], r[i+1:]
				}
				p.Rules = append(p.Rules, readText(r, false))
			}
		case "Examples":
			p.Demos = p.Demos[:0]
			rest, ok := strings.CutPrefix(body, demoHdr)
			if !ok {
				i := strings.Index(body, "\n"+demoHdr)
				if i < 0 {
					break
				}
				rest = body[i+1+len(demoHdr):]
			}
			for {
				one := rest
				next := strings.Index(rest, "\n"+demoHdr)
				if next >= 0 {
					one, rest = rest[:next], rest[next+1+len(demoHdr):]
				}
				q, a, ok := strings.Cut(one, "\nAnswer: ")
				q, ok2 := strings.CutPrefix(q, "Question: ")
				if !ok || !ok2 {
					return fmt.Errorf("%w: example %d lacks \"Question: \" or \"Answer: \"", ErrFormat, len(p.Demos)+1)
				}
				p.Demos = append(p.Demos, Demo{Question: readText(q, false), Answer: readText(a, false)})
				if next < 0 {
					break
				}
			}
		}
		return nil
	})
}

// ParseUser fills p's per-call fields from a user message. It sets
// p.Previous to nil if the message has no "### Previous" section, and
// otherwise writes the previous answer to the Peer p.Previous points to (a
// new one if nil), so that a caller parsing many messages into one Prompt
// can reuse it, as it reuses p.Peers.
func ParseUser(s string, p *Prompt) error {
	seen := false
	prev := p.Previous
	p.Previous = nil
	err := sections(s, func(name, body string) error {
		switch name {
		case "Question":
			p.Question, seen = readText(body, true), true
		case "Previous":
			ans, c, ok := parseScored(body)
			if !ok {
				return fmt.Errorf("%w: previous answer %q", ErrFormat, body)
			}
			if prev == nil {
				prev = new(Peer)
			}
			*prev = Peer{Answer: readLine(ans, true, false), Confidence: c}
			p.Previous = prev
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
		case "Gold":
			p.Gold = readText(body, true)
		case "Targets":
			p.Targets = p.Targets[:0]
			for len(body) > 0 {
				var line string
				line, body, _ = strings.Cut(body, "\n")
				id, ok := strings.CutPrefix(line, "- ")
				if !ok {
					return fmt.Errorf("%w: target line %q", ErrFormat, line)
				}
				p.Targets = append(p.Targets, readLine(id, false, true))
			}
		case "Better":
			p.Better = readText(body, true)
		case "Worse":
			p.Worse = readText(body, true)
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
	agent, rest, ok := cutAgent(line)
	if !ok {
		return Peer{}, false
	}
	ans, c, ok := parseScored(rest)
	if !ok {
		return Peer{}, false
	}
	return Peer{Agent: readLine(agent, false, true), Answer: readLine(ans, false, false), Confidence: c}, true
}

// cutAgent cuts a peer line after "- " at the first ": " that is not
// escaped.
func cutAgent(line string) (agent, rest string, ok bool) {
	i := strings.Index(line, ": ")
	if i >= 0 && strings.IndexByte(line[:i], esc) < 0 {
		return line[:i], line[i+2:], true
	}
	for i := 0; i+1 < len(line); i++ {
		switch line[i] {
		case esc:
			i++ // the escaped character, or one that is not ':'
		case ':':
			if line[i+1] == ' ' {
				return line[:i], line[i+2:], true
			}
		}
	}
	return "", "", false
}

// parseScored reads "answer (confidence 0.70)"; without the confidence the
// whole text is the answer, at confidence 0.5.
func parseScored(s string) (answer string, confidence float64, ok bool) {
	i := -1
	if strings.HasSuffix(s, ")") {
		if j := strings.LastIndexByte(s, '('); j > 0 && strings.HasPrefix(s[j-1:], conf) {
			i = j - 1
		}
	}
	if i < 0 {
		return s, 0.5, true
	}
	c, ok := parseConfidence(s[i+len(conf) : len(s)-1])
	if !ok {
		return "", 0, false
	}
	return s[:i], c, true
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
	answer, confidence, _ = ReadAnswer(text)
	return answer, confidence, answer != ""
}

// ReadAnswer is ParseAnswer, and reports whether the reply follows the
// answer format: an "Answer:" field with a value. A reply that does not
// still gives an answer (its last line); the team counts such replies
// (team.Output.Unparsed) so a model that ignores the format shows.
func ReadAnswer(text string) (answer string, confidence float64, formatted bool) {
	confidence = 0.5
	if i := strings.LastIndex(text, "Confidence:"); i >= 0 {
		v := strings.TrimSpace(firstLine(text[i+len("Confidence:"):]))
		if c, ok := parseConfidence(v); ok {
			confidence = min(max(c, 0), 1)
		}
	}
	if i := strings.LastIndex(text, "Answer:"); i >= 0 {
		answer = strings.TrimSpace(firstLine(text[i+len("Answer:"):]))
		return answer, confidence, answer != ""
	}
	t := strings.TrimSpace(text)
	if j := strings.LastIndexByte(t, '\n'); j >= 0 {
		t = strings.TrimSpace(t[j+1:])
	}
	return t, confidence, false
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
