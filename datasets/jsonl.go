package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// File formats understood by Read and LoadFile.
const (
	// FormatAuto picks one of the others per file from its first line: a
	// "context" field means HotpotQA, an answer containing "####" GSM8K,
	// anything else this package's own format.
	FormatAuto = "auto"
	// FormatJSONL is this package's format: one Example per line with its
	// JSON field names (id, family, question, answer, difficulty).
	FormatJSONL = "jsonl"
	// FormatGSM8K is {"question": ..., "answer": "reasoning ... #### 42"};
	// the answer is what follows the last "####".
	FormatGSM8K = "gsm8k"
	// FormatHotpotQA is {"_id" or "id", "question", "answer", "context":
	// [[title, [sentence, ...]], ...]} (or the {"title": [...],
	// "sentences": [[...]]} form); the context is rendered before the
	// question as in the multihop family, and "level" easy, medium or hard
	// becomes difficulty 1, 2 or 3.
	FormatHotpotQA = "hotpotqa"
)

// Formats lists the format names LoadFile accepts.
func Formats() []string {
	return []string{FormatAuto, FormatJSONL, FormatGSM8K, FormatHotpotQA}
}

// maxLine bounds one JSONL line; HotpotQA lines run to a few MB.
const maxLine = 64 << 20

// WriteJSONL writes exs to w, one JSON object per line, in FormatJSONL.
// ReadJSONL reads them back unchanged.
func WriteJSONL(w io.Writer, exs []Example) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range exs {
		if err := enc.Encode(&exs[i]); err != nil {
			return fmt.Errorf("datasets: writing example %d (id %q): %w", i, exs[i].ID, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("datasets: writing examples: %w", err)
	}
	return nil
}

// SaveFile writes exs to the file at path in FormatJSONL.
func SaveFile(path string, exs []Example) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("datasets: %w", cerr)
		}
	}()
	return WriteJSONL(f, exs)
}

// ReadJSONL reads examples in FormatJSONL; name (usually the file's path)
// is used in errors and in the IDs of lines that have none.
func ReadJSONL(r io.Reader, name string) ([]Example, error) {
	return Read(r, name, FormatJSONL)
}

// ReadGSM8K reads GSM8K-style lines (see FormatGSM8K).
func ReadGSM8K(r io.Reader, name string) ([]Example, error) {
	return Read(r, name, FormatGSM8K)
}

// ReadHotpotQA reads HotpotQA-style lines (see FormatHotpotQA).
func ReadHotpotQA(r io.Reader, name string) ([]Example, error) {
	return Read(r, name, FormatHotpotQA)
}

// LoadFile reads the JSONL file at path in the given format (one of
// Formats; "" means FormatAuto).
func LoadFile(path, format string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	return Read(f, path, format)
}

// Read reads JSONL examples in format (one of Formats; "" means
// FormatAuto). Every non-blank line must be a valid example: a bad one
// stops reading with a *LineError naming the file and line; blank lines
// are allowed only at the end. So the i-th example returned (from 0) is
// always line i+1 of the input, and a caller that finds a problem with an
// example's content can name its line as a LineError does. Lines of the
// question that start with "#" get a leading space, so that prompt section
// headers stay unambiguous.
func Read(r io.Reader, name, format string) ([]Example, error) {
	var parse lineParser
	switch format {
	case FormatAuto, "":
	case FormatJSONL:
		parse = parseOwnLine
	case FormatGSM8K:
		parse = parseGSM8KLine
	case FormatHotpotQA:
		parse = parseHotpotLine
	default:
		return nil, fmt.Errorf("%w %q for %s (known: %s)", ErrUnknownFormat, format, name, strings.Join(Formats(), ", "))
	}
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var (
		out   []Example
		blank int // first blank line of the current run of them, or 0
		seen  = map[string]int{}
		line  int
	)
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if err := checkUTF8(b); err != nil {
			return nil, &LineError{name, line, err}
		}
		if line == 1 {
			b = bytes.TrimPrefix(b, utf8BOM) // as editors on Windows write
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			if blank == 0 {
				blank = line
			}
			continue
		}
		if blank != 0 {
			return nil, &LineError{name, blank, errors.New("empty line before more examples")}
		}
		if err := checkLine(b); err != nil {
			return nil, &LineError{name, line, err}
		}
		if parse == nil {
			parse = detect(b)
		}
		ex, err := parse(b)
		if err != nil {
			return nil, &LineError{name, line, err}
		}
		if ex.ID == "" {
			ex.ID = base + "-" + strconv.Itoa(line)
		}
		if first, dup := seen[ex.ID]; dup {
			return nil, &LineError{name, line, fmt.Errorf("duplicate id %q (first on line %d)", ex.ID, first)}
		}
		seen[ex.ID] = line
		ex.Question = escapeHeaders(ex.Question)
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &LineError{name, line + 1, fmt.Errorf("line longer than %d MB", maxLine>>20)}
		}
		return nil, fmt.Errorf("datasets: reading %s: %w", name, err)
	}
	return out, nil
}

type lineParser func(line []byte) (Example, error)

// utf8BOM is the byte order mark some editors write at the start of a file.
var utf8BOM = []byte("\xef\xbb\xbf")

// checkUTF8 refuses a line that is not UTF-8, naming the first bad byte
// (1-based), which encoding/json would silently replace.
func checkUTF8(b []byte) error {
	if utf8.Valid(b) {
		return nil
	}
	i := 0
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		i += n
	}
	return fmt.Errorf("invalid UTF-8 at byte %d (the file must be UTF-8 text)", i+1)
}

// checkLine refuses a line that is valid JSON but not an object, before a
// parser reports it in Go's terms.
func checkLine(b []byte) error {
	if b[0] == '{' || !json.Valid(b) {
		return nil // an object, or bad JSON the parser reports
	}
	return fmt.Errorf("expected a JSON object, got %s", jsonKind(b[0]))
}

// jsonKind names the kind of the valid JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// jsonType names the JSON kind a Go type is decoded from.
func jsonType(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another type"
}

func detect(line []byte) lineParser {
	var probe struct {
		Answer  json.RawMessage `json:"answer"`
		Context json.RawMessage `json:"context"`
	}
	if json.Unmarshal(line, &probe) != nil {
		return parseOwnLine // it reports the bad JSON
	}
	if probe.Context != nil {
		return parseHotpotLine
	}
	var a string
	if json.Unmarshal(probe.Answer, &a) == nil && strings.Contains(a, "####") {
		return parseGSM8KLine
	}
	return parseOwnLine
}

func badJSON(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Errorf("expected a JSON object, got a JSON %s", te.Value)
		}
		return fmt.Errorf("field %q is a JSON %s, want %s", te.Field, te.Value, jsonType(te.Type))
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

// required checks that a string field is present and not blank.
func required(field string, v *string) error {
	if v == nil {
		return fmt.Errorf("missing %q", field)
	}
	if strings.TrimSpace(*v) == "" {
		return fmt.Errorf("empty %q", field)
	}
	return nil
}

func parseOwnLine(line []byte) (Example, error) {
	var raw struct {
		ID         string  `json:"id"`
		Family     string  `json:"family"`
		Question   *string `json:"question"`
		Answer     *string `json:"answer"`
		Difficulty int     `json:"difficulty"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return Example{}, badJSON(err)
	}
	if err := required("question", raw.Question); err != nil {
		return Example{}, err
	}
	if err := required("answer", raw.Answer); err != nil {
		return Example{}, err
	}
	if raw.Difficulty < 0 || raw.Difficulty > 3 {
		return Example{}, fmt.Errorf("difficulty %d outside 0..3", raw.Difficulty)
	}
	return Example{ID: raw.ID, Family: raw.Family, Question: *raw.Question, Answer: *raw.Answer, Difficulty: raw.Difficulty}, nil
}

func parseGSM8KLine(line []byte) (Example, error) {
	var raw struct {
		ID       string  `json:"id"`
		Question *string `json:"question"`
		Answer   *string `json:"answer"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return Example{}, badJSON(err)
	}
	if err := required("question", raw.Question); err != nil {
		return Example{}, err
	}
	if err := required("answer", raw.Answer); err != nil {
		return Example{}, err
	}
	i := strings.LastIndex(*raw.Answer, "####")
	if i < 0 {
		return Example{}, errors.New(`"answer" lacks "#### <final answer>"`)
	}
	final := strings.TrimSpace((*raw.Answer)[i+4:])
	if final == "" {
		return Example{}, errors.New(`"answer" has nothing after "####"`)
	}
	return Example{ID: raw.ID, Question: strings.TrimSpace(*raw.Question), Answer: final}, nil
}

// Paragraph is one titled context paragraph of a multi-hop question.
type Paragraph struct {
	Title     string
	Sentences []string
}

func parseHotpotLine(line []byte) (Example, error) {
	var raw struct {
		UID      string          `json:"_id"`
		ID       string          `json:"id"`
		Question *string         `json:"question"`
		Answer   *string         `json:"answer"`
		Level    string          `json:"level"`
		Context  json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return Example{}, badJSON(err)
	}
	if err := required("question", raw.Question); err != nil {
		return Example{}, err
	}
	if err := required("answer", raw.Answer); err != nil {
		return Example{}, err
	}
	if raw.Context == nil {
		return Example{}, errors.New(`missing "context"`)
	}
	paras, err := hotpotContext(raw.Context)
	if err != nil {
		return Example{}, err
	}
	id := raw.UID
	if id == "" {
		id = raw.ID
	}
	return Example{
		ID:         id,
		Question:   RenderContext(paras, strings.TrimSpace(*raw.Question)),
		Answer:     strings.TrimSpace(*raw.Answer),
		Difficulty: map[string]int{"easy": 1, "medium": 2, "hard": 3}[raw.Level],
	}, nil
}

// hotpotContext decodes [[title, [sentences]], ...] or
// {"title": [...], "sentences": [[...], ...]}.
func hotpotContext(msg json.RawMessage) ([]Paragraph, error) {
	var pairs [][2]json.RawMessage
	if err := json.Unmarshal(msg, &pairs); err == nil {
		paras := make([]Paragraph, len(pairs))
		for i, p := range pairs {
			if json.Unmarshal(p[0], &paras[i].Title) != nil || json.Unmarshal(p[1], &paras[i].Sentences) != nil {
				return nil, fmt.Errorf(`"context"[%d] is not [title, [sentence, ...]]`, i)
			}
		}
		return paras, nil
	}
	var cols struct {
		Title     []string   `json:"title"`
		Sentences [][]string `json:"sentences"`
	}
	if err := json.Unmarshal(msg, &cols); err != nil || len(cols.Title) != len(cols.Sentences) {
		return nil, errors.New(`"context" is neither [[title, [sentence, ...]], ...] nor {"title": [...], "sentences": [[...], ...]} of equal lengths`)
	}
	paras := make([]Paragraph, len(cols.Title))
	for i := range paras {
		paras[i] = Paragraph{cols.Title[i], cols.Sentences[i]}
	}
	return paras, nil
}

// RenderContext lays out context paragraphs and a question as the multihop
// family does:
//
//	Context:
//	[Title] First sentence. Second sentence.
//	[Other title] ...
//
//	Question: ...?
//
// Sentences are joined with a space unless one already separates them;
// line breaks inside a paragraph become spaces.
func RenderContext(paras []Paragraph, question string) string {
	var b strings.Builder
	b.WriteString(multihopIntro)
	for i, p := range paras {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteByte('[')
		b.WriteString(oneLine(p.Title))
		b.WriteString("] ")
		text := ""
		for _, s := range p.Sentences {
			if text != "" && s != "" && !endsSpace(text) && !startsSpace(s) {
				text += " "
			}
			text += s
		}
		b.WriteString(oneLine(strings.TrimSpace(text)))
	}
	b.WriteString(multihopAsk)
	b.WriteString(oneLine(question))
	return b.String()
}

func endsSpace(s string) bool   { c := s[len(s)-1]; return c == ' ' || c == '\n' || c == '\t' }
func startsSpace(s string) bool { c := s[0]; return c == ' ' || c == '\n' || c == '\t' }

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// escapeHeaders gives every line of s that starts with "#" a leading space.
func escapeHeaders(s string) string {
	if !strings.HasPrefix(s, "#") && !strings.Contains(s, "\n#") {
		return s
	}
	s = strings.ReplaceAll(s, "\n#", "\n #")
	if strings.HasPrefix(s, "#") {
		s = " " + s
	}
	return s
}
