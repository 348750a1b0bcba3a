package datasets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestJSONLRoundTrip(t *testing.T) {
	var exs []Example
	for _, name := range familyNames {
		f, _ := Lookup(name)
		exs = append(exs, f.Generate(20, 5, 0)...)
	}
	exs = append(exs, Example{ID: "odd", Question: "Tabs\tand \"quotes\" <b>&</b> ünïcode\n second line", Answer: "x"})
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, exs); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != len(exs) {
		t.Fatalf("wrote %d lines for %d examples", n, len(exs))
	}
	got, err := ReadJSONL(&buf, "mem.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exs) {
		t.Fatal("examples changed in a WriteJSONL/ReadJSONL round trip")
	}

	path := filepath.Join(t.TempDir(), "x.jsonl")
	if err := SaveFile(path, exs); err != nil {
		t.Fatal(err)
	}
	got, err = LoadFile(path, FormatAuto)
	if err != nil || !reflect.DeepEqual(got, exs) {
		t.Fatalf("SaveFile/LoadFile auto round trip: err %v, equal %v", err, reflect.DeepEqual(got, exs))
	}
}

func TestReadGSM8K(t *testing.T) {
	in := `{"question": "Natalia sold 48 clips. How many?", "answer": "She sold 48/2 = <<48/2=24>>24 in May.\n#### 72"}
{"question": "Big?", "answer": "#### 1,000"}

`
	for _, format := range []string{FormatGSM8K, FormatAuto} {
		exs, err := Read(strings.NewReader(in), "data/gsm8k_test.jsonl", format)
		if err != nil {
			t.Fatal(err)
		}
		want := []Example{
			{ID: "gsm8k_test-1", Question: "Natalia sold 48 clips. How many?", Answer: "72"},
			{ID: "gsm8k_test-2", Question: "Big?", Answer: "1,000"},
		}
		if !reflect.DeepEqual(exs, want) {
			t.Errorf("format %s: got %+v, want %+v", format, exs, want)
		}
	}
}

func TestReadHotpotQA(t *testing.T) {
	in := `{"_id": "5a8b", "question": "Which magazine was started first?", "answer": "Arthur's Magazine", "level": "medium", "context": [["Arthur's Magazine", ["Arthur's Magazine (1844–1846) was an American literary periodical", " published in Philadelphia."]], ["First for Women", ["First for Women is a woman's magazine.", "It is published in the USA."]]]}
{"id": "b2", "question": "Q?", "answer": "yes", "context": {"title": ["T"], "sentences": [["One.\nTwo."]]}}
`
	exs, err := Read(strings.NewReader(in), "hotpot.jsonl", FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	want0 := "Context:\n" +
		"[Arthur's Magazine] Arthur's Magazine (1844–1846) was an American literary periodical published in Philadelphia.\n" +
		"[First for Women] First for Women is a woman's magazine. It is published in the USA.\n" +
		"\nQuestion: Which magazine was started first?"
	if len(exs) != 2 || exs[0].ID != "5a8b" || exs[0].Answer != "Arthur's Magazine" || exs[0].Difficulty != 2 || exs[0].Question != want0 {
		t.Fatalf("got %+v\nwant question %q", exs, want0)
	}
	if exs[1].ID != "b2" || exs[1].Question != "Context:\n[T] One. Two.\n\nQuestion: Q?" {
		t.Errorf("column form: got %+v", exs[1])
	}
	// The layout is the multihop family's, so its solver reads a rendered
	// context of its own sentences.
	q := RenderContext([]Paragraph{{"Ann Vale", []string{"Ann Vale was born in Tarn."}}}, "In which city was Ann Vale born?")
	if s, ok := Solve(q); !ok || s.Answer != "Tarn" {
		t.Errorf("Solve(RenderContext(...)) = %+v %v", s, ok)
	}
	if _, ok := Solve(exs[0].Question); ok {
		t.Error("the multihop solver claims a real HotpotQA question")
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		format, in, want string
	}{
		{FormatJSONL, `{"id":"a","question":"q","answer":"1"}` + "\n" + `{"id":"b","question":"q"}`, `data/x.jsonl:2: missing "answer"`},
		{FormatJSONL, `{"id":"a","answer":"1"}`, `data/x.jsonl:1: missing "question"`},
		{FormatJSONL, `{"id":"a","question":"q","answer":"  "}`, `data/x.jsonl:1: empty "answer"`},
		{FormatJSONL, `{"id":"a","question":"q","answer":1}`, `data/x.jsonl:1: field "answer" is a JSON number, want a string`},
		{FormatJSONL, `{"id":"a","question":"q","answer":"1","difficulty":1.5}`, `data/x.jsonl:1: field "difficulty" is a JSON number 1.5, want an integer`},
		{FormatJSONL, `{"id":"a","question":"q",`, `data/x.jsonl:1: invalid JSON`},
		{FormatJSONL, `{"id":"a","question":"q","answer":"1","difficulty":9}`, `data/x.jsonl:1: difficulty 9 outside 0..3`},
		{FormatJSONL, `{"id":"a","question":"q","answer":"1"}` + "\n\n" + `{"id":"b","question":"q","answer":"2"}`, `data/x.jsonl:2: empty line`},
		{FormatJSONL, `{"id":"a","question":"q","answer":"1"}` + "\n" + `{"id":"a","question":"r","answer":"2"}`, `data/x.jsonl:2: duplicate id "a" (first on line 1)`},
		{FormatGSM8K, `{"question":"q","answer":"it is 4"}`, `data/x.jsonl:1: "answer" lacks "#### <final answer>"`},
		{FormatGSM8K, `{"question":"q","answer":"it is #### "}`, `data/x.jsonl:1: "answer" has nothing after "####"`},
		{FormatHotpotQA, `{"question":"q","answer":"a"}`, `data/x.jsonl:1: missing "context"`},
		{FormatHotpotQA, `{"question":"q","answer":"a","context":[["t", "not a list"]]}`, `data/x.jsonl:1: "context"[0] is not`},
		{FormatAuto, `not json`, `data/x.jsonl:1: invalid JSON`},
		// Valid JSON that is not an object, in every format.
		{FormatJSONL, `{"question":"q","answer":"1"}` + "\n" + `["q", "1"]`, `data/x.jsonl:2: expected a JSON object, got an array`},
		{FormatAuto, `[{"question":"q","answer":"1"}]`, `data/x.jsonl:1: expected a JSON object, got an array`},
		{FormatGSM8K, `"q #### 1"`, `data/x.jsonl:1: expected a JSON object, got a string`},
		{FormatHotpotQA, ` 42 `, `data/x.jsonl:1: expected a JSON object, got a number`},
		{FormatJSONL, `null`, `data/x.jsonl:1: expected a JSON object, got null`},
		{FormatJSONL, `true`, `data/x.jsonl:1: expected a JSON object, got a boolean`},
		{FormatJSONL, `[1,`, `data/x.jsonl:1: invalid JSON`},
		// Not UTF-8 (Latin-1 "é"), and a byte order mark anywhere but at the start.
		{FormatJSONL, `{"question":"q","answer":"1"}` + "\n" + "{\"question\":\"caf\xe9?\",\"answer\":\"1\"}", `data/x.jsonl:2: invalid UTF-8 at byte 17`},
		{FormatAuto, "{\"question\":\"q\",\"answer\":\"\xff\"}", `data/x.jsonl:1: invalid UTF-8 at byte 27`},
		{FormatJSONL, `{"question":"q","answer":"1"}` + "\n\xef\xbb\xbf" + `{"question":"r","answer":"2"}`, `data/x.jsonl:2: invalid JSON`},
	}
	for _, tt := range tests {
		_, err := Read(strings.NewReader(tt.in), "data/x.jsonl", tt.format)
		var le *LineError
		if err == nil || !strings.HasPrefix(err.Error(), "datasets: "+tt.want) || !errors.Is(err, ErrBadLine) || !errors.As(err, &le) {
			t.Errorf("%s %q:\n got %v\nwant prefix datasets: %s (a *LineError)", tt.format, tt.in, err, tt.want)
		}
	}
	if _, err := Read(strings.NewReader(""), "x", "csv"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("format csv: %v, want ErrUnknownFormat", err)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.jsonl"), FormatAuto); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
}

// TestReadBOM: a UTF-8 byte order mark at the start of a file is skipped,
// in every format (the YAML loader skips one too).
func TestReadBOM(t *testing.T) {
	for _, format := range Formats() {
		in := "\xef\xbb\xbf" + `{"id":"b1","question":"Q?","answer":"A #### 1","context":[["T",["S."]]]}` + "\r\n"
		if format == FormatJSONL || format == FormatAuto {
			in = "\xef\xbb\xbf" + `{"id":"b1","question":"Q?","answer":"A"}` + "\r\n" + `{"question":"R?","answer":"B"}` + "\n"
		}
		exs, err := Read(strings.NewReader(in), "bom.jsonl", format)
		if err != nil || len(exs) == 0 || exs[0].ID != "b1" {
			t.Errorf("%s: a file starting with a BOM: %+v, %v", format, exs, err)
		}
	}
	path := filepath.Join(t.TempDir(), "bom.jsonl")
	if err := os.WriteFile(path, []byte("\xef\xbb\xbf{\"question\":\"q\",\"answer\":\"1\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if exs, err := LoadFile(path, ""); err != nil || len(exs) != 1 || exs[0].Question != "q" {
		t.Errorf("LoadFile of a file with a BOM: %+v, %v", exs, err)
	}
}

func TestReadTrailingBlankLinesAndCRLF(t *testing.T) {
	in := "{\"question\":\"q\",\"answer\":\"1\"}\r\n\r\n  \n"
	exs, err := ReadJSONL(strings.NewReader(in), "f.jsonl")
	if err != nil || len(exs) != 1 || exs[0].ID != "f-1" {
		t.Fatalf("got %+v, %v", exs, err)
	}
	exs, err = ReadJSONL(strings.NewReader(""), "empty.jsonl")
	if err != nil || len(exs) != 0 {
		t.Fatalf("empty file: %+v, %v", exs, err)
	}
}

func TestReadLongLine(t *testing.T) {
	long := strings.Repeat("word ", 1<<20) // 5 MB
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, []Example{{ID: "big", Question: long + "?", Answer: "yes"}}); err != nil {
		t.Fatal(err)
	}
	exs, err := ReadJSONL(&buf, "big.jsonl")
	if err != nil || len(exs) != 1 || len(exs[0].Question) != len(long)+1 {
		t.Fatalf("5 MB line: %v", err)
	}
}

func TestReadEscapesHeaderLines(t *testing.T) {
	in := `{"question":"### Rules\nfoo\n# bar","answer":"1"}`
	exs, err := ReadJSONL(strings.NewReader(in), "h.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if want := " ### Rules\nfoo\n # bar"; exs[0].Question != want {
		t.Errorf("question %q, want %q", exs[0].Question, want)
	}
}

// Example i is line i+1, in every format: callers that check an example's
// content (experiments, for the sim backend) rely on it to name its line.
func TestReadExampleIsLine(t *testing.T) {
	for _, in := range []struct{ format, text string }{
		{FormatJSONL, "{\"question\":\"a\",\"answer\":\"1\"}\n{\"question\":\"b\",\"answer\":\"2\"}\r\n{\"question\":\"c\",\"answer\":\"3\"}\n\n \n"},
		{FormatGSM8K, "{\"question\":\"a\",\"answer\":\"x #### 1\"}\n{\"question\":\"b\",\"answer\":\"#### 2\"}\n{\"question\":\"c\",\"answer\":\"#### 3\"}\n"},
	} {
		exs, err := Read(strings.NewReader(in.text), "f.jsonl", in.format)
		if err != nil || len(exs) != 3 {
			t.Fatalf("%s: %d examples, %v", in.format, len(exs), err)
		}
		for i, ex := range exs {
			if want := "f-" + strconv.Itoa(i+1); ex.ID != want || ex.Question != string(rune('a'+i)) {
				t.Errorf("%s: example %d is %+v, want line %d (id %s)", in.format, i, ex, i+1, want)
			}
		}
	}
	// A blank line before more examples is an error, never a gap.
	_, err := Read(strings.NewReader("{\"question\":\"a\",\"answer\":\"1\"}\n\n{\"question\":\"b\",\"answer\":\"2\"}\n"), "f.jsonl", FormatJSONL)
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 {
		t.Errorf("blank line inside: %v, want a LineError at line 2", err)
	}
}
