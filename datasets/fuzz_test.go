package datasets

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// fuzzFile names the fuzzed input in errors and in generated ids.
const fuzzFile = "data/fuzz.jsonl"

// fuzzSeeds are valid and broken lines of every format.
var fuzzSeeds = []string{
	`{"id":"a1","family":"arithmetic","question":"Ann has 3 apples and buys 4. How many?","answer":"7","difficulty":1}` + "\n",
	`{"question":"# header?\nline","answer":"x"}` + "\n" + `{"question":"q2","answer":"y"}` + "\n\n",
	`{"question": "Natalia sold 48 clips. How many?", "answer": "She sold 48/2 = <<48/2=24>>24.\n#### 72"}` + "\n",
	`{"question": "Big?", "answer": "#### 1,000"}` + "\n" + `{"question": "Q", "answer": "####"}`,
	`{"_id":"h1","question":"Who?","answer":"Bo","level":"hard","context":[["T1",["S one.","S two."]],["T2",["x"]]]}`,
	`{"id":"h2","question":"Where?","answer":"Oslo","context":{"title":["A","B"],"sentences":[["a."],["b.","c."]]}}`,
	`{"question":"q","answer":"a","context":[["T",[1]]]}`,
	`{"question":"q","answer":"a","difficulty":4}`,
	`{"question":"q","answer":" "}`,
	`{"question":"q"`,
	"\n\n" + `{"question":"q","answer":"a"}`,
	`{"id":"d","question":"q","answer":"a"}` + "\n" + `{"id":"d","question":"q","answer":"a"}`,
	"[1,2]\n",
	"",
}

// checkRead holds the readers' contract for any input: an error names the
// file and a line that exists (or the one after the last); examples have a
// non-blank question and answer and distinct ids.
func checkRead(t *testing.T, data []byte, exs []Example, err error) {
	t.Helper()
	if err != nil {
		var le *LineError
		if !errors.As(err, &le) || !errors.Is(err, ErrBadLine) {
			t.Fatalf("error %T is not a *LineError: %v", err, err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		if le.File != fuzzFile || le.Line < 1 || le.Line > lines {
			t.Fatalf("error names %s:%d, want %s and a line in 1..%d: %v", le.File, le.Line, fuzzFile, lines, err)
		}
		if !strings.Contains(err.Error(), fuzzFile+":"+strconv.Itoa(le.Line)) {
			t.Fatalf("error message %q does not say %s:%d", err, fuzzFile, le.Line)
		}
		if exs != nil {
			t.Fatalf("%d examples returned with an error", len(exs))
		}
		return
	}
	ids := map[string]bool{}
	for i, ex := range exs {
		if strings.TrimSpace(ex.Question) == "" || strings.TrimSpace(ex.Answer) == "" {
			t.Fatalf("example %d has an empty question or answer: %+v", i, ex)
		}
		if ex.ID == "" || ids[ex.ID] {
			t.Fatalf("example %d has an empty or repeated id %q", i, ex.ID)
		}
		ids[ex.ID] = true
		if ex.Difficulty < 0 || ex.Difficulty > 3 {
			t.Fatalf("example %d has difficulty %d", i, ex.Difficulty)
		}
	}
}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
}

// FuzzReadJSONL: the package's own format (and format detection) never
// panics and keeps the readers' contract; what it reads is written back
// and read again unchanged.
func FuzzReadJSONL(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		exs, err := ReadJSONL(bytes.NewReader(data), fuzzFile)
		checkRead(t, data, exs, err)
		if err == nil {
			var buf bytes.Buffer
			if err := WriteJSONL(&buf, exs); err != nil {
				t.Fatalf("WriteJSONL: %v", err)
			}
			again, err := ReadJSONL(&buf, fuzzFile)
			if err != nil || len(exs) > 0 && !reflect.DeepEqual(again, exs) {
				t.Fatalf("round trip: err %v; read %+v, then %+v", err, exs, again)
			}
		}
		exs, err = Read(bytes.NewReader(data), fuzzFile, FormatAuto)
		checkRead(t, data, exs, err)
	})
}

// FuzzReadGSM8K: the GSM8K reader never panics and keeps the readers'
// contract; a final answer never contains the "####" marker.
func FuzzReadGSM8K(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		exs, err := ReadGSM8K(bytes.NewReader(data), fuzzFile)
		checkRead(t, data, exs, err)
		for _, ex := range exs {
			if strings.Contains(ex.Answer, "####") {
				t.Fatalf("answer %q still holds the marker", ex.Answer)
			}
		}
	})
}

// FuzzReadHotpotQA: the HotpotQA reader never panics and keeps the
// readers' contract; every question is laid out as the multihop family's.
func FuzzReadHotpotQA(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		exs, err := ReadHotpotQA(bytes.NewReader(data), fuzzFile)
		checkRead(t, data, exs, err)
		for _, ex := range exs {
			if !strings.HasPrefix(ex.Question, multihopIntro) || !strings.Contains(ex.Question, multihopAsk) {
				t.Fatalf("question not laid out with context: %q", ex.Question)
			}
		}
	})
}
