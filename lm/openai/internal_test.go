package openai

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/mabeam/mabeam/lm"
)

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		header map[string]string
		want   time.Duration
	}{
		{nil, 0},
		{map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{map[string]string{"Retry-After": "0.25"}, 250 * time.Millisecond},
		{map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{map[string]string{"Retry-After": now.Add(-time.Second).Format(http.TimeFormat)}, 0},
		{map[string]string{"Retry-After": "soon"}, 0},
		{map[string]string{"Retry-After": "-4"}, 0},
		{map[string]string{"retry-after-ms": "150", "Retry-After": "1"}, 150 * time.Millisecond},
	} {
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		if got := retryAfter(h, now); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	c, err := New(&Options{BaseURL: "http://h/v1", MinBackoff: time.Millisecond, MaxBackoff: 6 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for attempt, ceil := range []time.Duration{2, 4, 6, 6} {
		lo, hi := time.Hour, time.Duration(0)
		for range 20 {
			start := time.Now()
			if err := c.backoff(ctx, attempt, 0); err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			lo, hi = min(lo, d), max(hi, d)
		}
		// Timers never fire early; allow the scheduler some slack above.
		if lo < time.Millisecond || hi > ceil*time.Millisecond+20*time.Millisecond {
			t.Errorf("attempt %d: waits in [%v, %v], want in [1ms, %vms]", attempt, lo, hi, int(ceil))
		}
	}
	start := time.Now()
	if err := c.backoff(ctx, 0, 30*time.Millisecond); err != nil || time.Since(start) < 30*time.Millisecond {
		t.Errorf("Retry-After 30ms: waited %v (%v)", time.Since(start), err)
	}
}

func TestZeroTemperatureSent(t *testing.T) {
	for _, body := range []string{`{"model":"m","messages":[]}`, `{}`} {
		r, _ := http.NewRequest("POST", "http://h/v1/chat/completions", strings.NewReader(body))
		if err := putZeroTemperature(r); err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		rb, _ := r.GetBody()
		b2, _ := io.ReadAll(rb)
		want := `{"temperature":0,` + body[1:]
		if body == `{}` {
			want = `{"temperature":0}`
		}
		if string(b) != want || string(b2) != want || r.ContentLength != int64(len(want)) {
			t.Errorf("%s became %s (again %s, length %d)", body, b, b2, r.ContentLength)
		}
	}
}

func TestUsageSplit(t *testing.T) {
	c, err := New(&Options{BaseURL: "http://h/v1", Prices: map[string]lm.Price{"m": {Prompt: 2, Completion: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	reply := goopenai.ChatCompletionResponse{Usage: goopenai.Usage{PromptTokens: 40, CompletionTokens: 101, TotalTokens: 141}}
	for _, text := range []string{"short", strings.Repeat("long ", 40), "", "mid mid mid"} {
		reply.Choices = append(reply.Choices, goopenai.ChatCompletionChoice{Message: goopenai.ChatCompletionMessage{Content: text}})
	}
	rs := c.responses(reply, "m", 7, 4, time.Second, 2)
	var sum lm.Usage
	cost := 0.0
	for i, r := range rs {
		sum = sum.Add(r.Usage)
		cost += r.Cost
		if (i == 0) != (r.Retries == 2) || r.Latency != time.Second {
			t.Errorf("sample %d: %+v", i, r)
		}
	}
	if sum != (lm.Usage{PromptTokens: 40, CompletionTokens: 101}) || rs[1].Usage.CompletionTokens <= rs[0].Usage.CompletionTokens || rs[2].Usage.CompletionTokens != 0 {
		t.Errorf("split %+v %+v %+v %+v, sum %+v", rs[0].Usage, rs[1].Usage, rs[2].Usage, rs[3].Usage, sum)
	}
	if want := (40*2 + 101*3) / 1e6; cost < want-1e-12 || cost > want+1e-12 {
		t.Errorf("cost %g, want %g", cost, want)
	}
	if rs := c.responses(reply, "m", 7, 2, 0, 0); len(rs) != 2 || rs[0].Usage.Add(rs[1].Usage) != (lm.Usage{PromptTokens: 40, CompletionTokens: 101}) {
		t.Errorf("first 2 of 4 choices: %+v", rs)
	}
}
