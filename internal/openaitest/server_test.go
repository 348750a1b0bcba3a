package openaitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mabeam/mabeam/lm"
)

// echo answers with the request's fields.
var echo = lm.ModelFunc(func(ctx context.Context, r lm.Request) (lm.Response, error) {
	if r.Model == "none" {
		return lm.Response{}, &lm.Error{Kind: lm.ErrUnknownModel, Model: r.Model}
	}
	text := fmt.Sprintf("%s t=%g max=%d s=%d\nAnswer: 41", r.Model, r.Temperature, r.MaxTokens, r.Sample)
	return lm.Response{Text: text, Usage: lm.Usage{PromptTokens: 7, CompletionTokens: 3 + r.Sample}}, nil
})

type reply struct {
	Choices []struct {
		Message struct{ Content string }
	}
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	}
	Error *struct{ Message, Code string }
}

// post sends body and returns the status, the header and the raw reply.
func post(t *testing.T, s *Server, key, body string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/chat/completions", strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func decode(t *testing.T, b []byte) reply {
	t.Helper()
	var r reply
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return r
}

const ask = `{"model": "m", "messages": [{"role": "user", "content": "q"}]`

func TestAnswers(t *testing.T) {
	s := New(Options{Backend: echo, Key: "k"})
	defer s.Close()
	for _, tc := range []struct {
		body, texts string
		completion  int // 3 + sample, summed over the choices
	}{
		{ask + `}`, "m t=1 max=0 s=0", 3}, // no temperature: the API's 1
		{ask + `, "temperature": 0, "max_tokens": 9}`, "m t=0 max=9 s=0", 3},
		{ask + `, "temperature": 0.7, "seed": 4, "n": 3, "max_completion_tokens": 5}`, "m t=0.7 max=5 s=4|m t=0.7 max=5 s=5|m t=0.7 max=5 s=6", 7 + 8 + 9},
	} {
		status, _, b := post(t, s, "k", tc.body)
		r := decode(t, b)
		var texts []string
		for _, c := range r.Choices {
			texts = append(texts, strings.TrimSuffix(c.Message.Content, "\nAnswer: 41"))
		}
		if status != 200 || strings.Join(texts, "|") != tc.texts {
			t.Errorf("%s: %d %q, want %q", tc.body, status, texts, tc.texts)
		}
		if r.Usage.PromptTokens != 7 || r.Usage.CompletionTokens != tc.completion {
			t.Errorf("%s: usage %+v, want 7 prompt and %d completion tokens", tc.body, r.Usage, tc.completion)
		}
	}
	if c := s.Counts(); c.Requests != 3 || c.OK != 3 {
		t.Errorf("counts %+v", c)
	}
}

func TestRefusals(t *testing.T) {
	s := New(Options{Backend: echo, Key: "k", Models: []string{"m", "none"}})
	defer s.Close()
	for _, tc := range []struct {
		key, body string
		status    int
		code      string
	}{
		{"wrong", ask + `}`, 401, "invalid_api_key"},
		{"", ask + `}`, 401, "invalid_api_key"},
		{"k", `{"model": "other", "messages": [{"role": "user", "content": "q"}]}`, 404, "model_not_found"},
		{"k", `{"model": "none", "messages": [{"role": "user", "content": "q"}]}`, 404, "model_not_found"},
		{"k", `{"model": `, 400, ""},
	} {
		status, _, b := post(t, s, tc.key, tc.body)
		r := decode(t, b)
		if status != tc.status || r.Error == nil || r.Error.Code != tc.code {
			t.Errorf("%s %s: %d %s", tc.key, tc.body, status, b)
		}
	}
	if c := s.Counts(); c.Unauthorized != 2 || c.NotFound != 2 || c.BadRequest != 1 || c.OK != 0 {
		t.Errorf("counts %+v", c)
	}
}

func TestFaults(t *testing.T) {
	s := New(Options{Backend: echo, Rate429: 0.2, Rate500: 0.2, RateMalformed: 0.2, RateTruncated: 0.2, RateWrong: 0.5,
		RetryAfter: 1500 * time.Millisecond, Seed: 1})
	defer s.Close()
	wrong := 0
	for range 100 {
		status, h, b := post(t, s, "", ask+`}`)
		switch {
		case status == 429:
			if h.Get("Retry-After") != "2" || h.Get("Retry-After-Ms") != "1500" {
				t.Errorf("429 header %v", h)
			}
		case status == 500:
		case status == 200 && json.Valid(b):
			if decode(t, b).Choices[0].Message.Content == "m t=1 max=0 s=0\nAnswer: 42" {
				wrong++
			}
		case status == 200 && bytes.HasPrefix(b, []byte(`{"id": "chatcmpl-malformed"`)):
		case status == 200 && len(b) > 10:
			// Truncated: half of a reply.
		default:
			t.Errorf("%d %s", status, b)
		}
	}
	c := s.Counts()
	if c.Requests != 100 || c.RateLimited+c.ServerErrors+c.Malformed+c.Truncated+c.OK != 100 {
		t.Errorf("counts %+v", c)
	}
	for name, n := range map[string]int64{"429": c.RateLimited, "500": c.ServerErrors, "malformed": c.Malformed, "truncated": c.Truncated, "ok": c.OK} {
		if n < 8 || n > 35 {
			t.Errorf("%d %s of 100 at rate 0.2", n, name)
		}
	}
	if int64(wrong) != c.Wrong || wrong < 3 || int64(wrong) > c.OK-3 {
		t.Errorf("%d wrong answers of %d, counted %d", wrong, c.OK, c.Wrong)
	}
}

func TestSlowAndNoN(t *testing.T) {
	s := New(Options{Backend: echo, RateSlow: 1, SlowFor: 100 * time.Millisecond, NoN: true})
	defer s.Close()
	start := time.Now()
	status, _, b := post(t, s, "", ask+`, "n": 3}`)
	if d := time.Since(start); status != 200 || d < 100*time.Millisecond || len(decode(t, b).Choices) != 1 {
		t.Errorf("slow reply: %d after %v: %s", status, d, b)
	}

	stalled := New(Options{Backend: echo, RateSlow: 1, SlowFor: time.Hour})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.Post(stalled.URL()+"/chat/completions", "application/json", strings.NewReader(ask+`}`)); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	for stalled.Counts().Slow == 0 {
		time.Sleep(time.Millisecond)
	}
	start = time.Now()
	stalled.Close()
	<-done
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with a stalled reply", d)
	}
}

func TestWrongAnswer(t *testing.T) {
	for in, want := range map[string]string{
		"Answer: 14\nConfidence: 0.9":   "Answer: 15\nConfidence: 0.9",
		"work\nAnswer: Paris":           "work\nAnswer: not Paris",
		"Answer: 1\nso\nAnswer:  -3 \n": "Answer: 1\nso\nAnswer: -2\n",
	} {
		if got, ok := wrongAnswer(in); !ok || got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if _, ok := wrongAnswer("no answer here"); ok {
		t.Error("replaced a missing answer")
	}
}
