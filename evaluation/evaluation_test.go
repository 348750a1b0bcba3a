package evaluation

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/team"
)

// fakeModel answers question "qK" (gold "K"): agent "good" is always right;
// "bad" is right when K%3 == 0, else says "wrong", and copies its first
// peer once it has peers. The cost depends on the prompt, so sums in a
// different order would show.
var fakeModel = lm.ModelFunc(func(_ context.Context, req lm.Request) (lm.Response, error) {
	p, err := prompt.Parse(req.Messages)
	if err != nil {
		return lm.Response{}, err
	}
	k, err := strconv.Atoi(strings.TrimPrefix(p.Question, "q"))
	if err != nil {
		return lm.Response{}, &lm.Error{Kind: lm.ErrRateLimited, Model: req.Model}
	}
	ans := strconv.Itoa(k)
	if strings.HasPrefix(p.Agent, "bad") {
		switch {
		case len(p.Peers) > 0:
			ans = p.Peers[0].Answer
		case k%3 != 0:
			ans = "wrong"
		}
	}
	tok := lm.EstimateTokens(req.Messages[0].Content + req.Messages[1].Content)
	return lm.Response{
		Text:    prompt.FormatAnswer(ans, 0.6),
		Usage:   lm.Usage{PromptTokens: tok, CompletionTokens: 5},
		Cost:    float64(tok) * 1.3e-7,
		Latency: time.Duration(k) * time.Microsecond,
	}, nil
})

func examples(n int) []datasets.Example {
	exs := make([]datasets.Example, n)
	for i := range exs {
		exs[i] = datasets.Example{ID: fmt.Sprintf("ex%d", i), Question: fmt.Sprintf("q%d", i), Answer: strconv.Itoa(i)}
	}
	return exs
}

func newTeam(t testing.TB) *team.Team {
	t.Helper()
	tm, err := team.New(team.Spec{
		Agents: []team.AgentSpec{{ID: "good", Model: "m"}, {ID: "bad1", Model: "m"}, {ID: "bad2", Model: "m"}},
		Edges:  []team.Edge{{From: "good", To: "bad1"}, {From: "bad1", To: "bad2"}},
		Rounds: 1,
	}, fakeModel, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestWorkersDoNotChangeReport(t *testing.T) {
	tm, exs := newTeam(t), examples(300)
	var reports []*Report
	for _, w := range []int{1, 4, 0} {
		r, err := Evaluate(context.Background(), tm, exs, datasets.ExactMatch, &Options{Workers: w, KeepTraces: true})
		if err != nil {
			t.Fatal(err)
		}
		r.Wall = 0
		reports = append(reports, r)
	}
	for _, r := range reports[1:] {
		if !reflect.DeepEqual(r, reports[0]) {
			t.Fatalf("reports differ:\n%+v\n%+v", r, reports[0])
		}
	}
	lean, err := Evaluate(context.Background(), tm, exs, datasets.ExactMatch, &Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	lean.Wall = 0
	full := *reports[0]
	full.Results = nil
	if !reflect.DeepEqual(lean, &full) {
		t.Errorf("report without traces differs:\n%+v\n%+v", lean, &full)
	}
	r := reports[0]
	if r.N != 300 || len(r.Results) != 300 || len(r.Results[7].Trace) != 6 || r.Calls != 6*300 || r.Messages != 2*300 {
		t.Errorf("N %d results %d calls %d messages %d", r.N, len(r.Results), r.Calls, r.Messages)
	}
}

// TestBoundsCutAPrefix: a batch that would pass its call or cost bound is
// cut to the longest prefix within it, the same for any number of workers.
func TestBoundsCutAPrefix(t *testing.T) {
	tm, exs := newTeam(t), examples(300)
	full, err := Evaluate(context.Background(), tm, exs, datasets.ExactMatch, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{{MaxCalls: 6*100 + 3}, {MaxCost: full.Cost / 3}, {MaxCalls: 5}} {
		var first *Report
		for _, w := range []int{1, 3, 8} {
			o.Workers = w
			r, err := Evaluate(context.Background(), tm, exs, datasets.ExactMatch, &o)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Stopped || (o.MaxCalls > 0 && int64(r.Calls) > o.MaxCalls) || (o.MaxCost > 0 && r.Cost > o.MaxCost) {
				t.Errorf("bounds %+v: stopped %v, %d calls, cost %g", o, r.Stopped, r.Calls, r.Cost)
			}
			if r.N > 0 && r.Examples[r.N-1].ID != exs[r.N-1].ID {
				t.Errorf("bounds %+v: not a prefix", o)
			}
			r.Wall = 0
			if first == nil {
				first = r
			} else if r.N > 0 && !reflect.DeepEqual(r, first) || r.N != first.N {
				t.Errorf("bounds %+v: %d workers give another report (%d vs %d examples)", o, w, r.N, first.N)
			}
		}
		if o.MaxCalls == 6*100+3 && first.N != 100 {
			t.Errorf("603 calls at 6 a question: %d examples, want 100", first.N)
		}
		if o.MaxCalls == 5 && (first.N != 0 || !math.IsNaN(first.Mean)) {
			t.Errorf("a bound below one example: %+v", first)
		}
	}
	if r, _ := Evaluate(context.Background(), tm, exs, datasets.ExactMatch, &Options{MaxCalls: 1 << 40}); r.Stopped || r.N != 300 {
		t.Errorf("a bound never reached cut the batch: %d examples", r.N)
	}
}

func TestScoresAndAgents(t *testing.T) {
	exs := examples(9)
	r, err := Evaluate(context.Background(), newTeam(t), exs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Round 0: good right; bad1, bad2 right on 0, 3, 6. Round 1: bad1 copies
	// good (right), bad2 copies bad1's round-0 answer. Final votes: right
	// twice at least, so the team is always right.
	if r.Mean != 1 || r.Scores()[4] != 1 || r.Results != nil {
		t.Errorf("mean %v scores %v", r.Mean, r.Scores())
	}
	want := []struct {
		id                  string
		first, final, agree float64
	}{
		{"good", 1, 1, 1},
		{"bad1", 1.0 / 3, 1, 1},
		{"bad2", 1.0 / 3, 1.0 / 3, 1.0 / 3},
	}
	if len(r.Agents) != 3 {
		t.Fatalf("agents %+v", r.Agents)
	}
	for i, w := range want {
		a := r.Agents[i]
		if a.Agent != w.id || a.Role != team.RoleSolver || a.Examples != 9 || a.Calls != 18 ||
			math.Abs(a.FirstScore-w.first) > 1e-12 || math.Abs(a.FinalScore-w.final) > 1e-12 || math.Abs(a.Agreement-w.agree) > 1e-12 {
			t.Errorf("agent %d = %+v, want %+v", i, a, w)
		}
	}
	var sum lm.Usage
	for _, a := range r.Agents {
		sum = sum.Add(a.Usage)
	}
	if sum != r.Usage || r.Usage.CompletionTokens != 5*6*9 {
		t.Errorf("usage %+v, agents sum %+v", r.Usage, sum)
	}
	if len(r.Examples) != 9 {
		t.Fatalf("%d example results, want 9", len(r.Examples))
	}
	for i, e := range r.Examples {
		if e.ID != exs[i].ID || e.Answer != exs[i].Answer || e.Score != 1 || e.Calls != 6 || e.Usage.CompletionTokens != 5*6 {
			t.Errorf("example result %d = %+v (example %+v)", i, e, exs[i])
		}
	}
	// Agreement: 2 of 3 agents on examples where bad2 was wrong, 3 of 3 else.
	if want := (6*2.0/3 + 3*1) / 9; math.Abs(r.Agreement-want) > 1e-12 {
		t.Errorf("agreement %v, want %v", r.Agreement, want)
	}
}

func TestCI95(t *testing.T) {
	scores := []float64{1, 1, 1, 0, 1, 1, 0, 1, 0, 1}
	got := ci95(scores, 0.7)
	if math.Abs(got[0]-0.3968) > 1e-4 || math.Abs(got[1]-0.8922) > 1e-4 {
		t.Errorf("Wilson interval of 7/10 = %v, want [0.3968, 0.8922]", got)
	}
	if got := ci95([]float64{1, 1, 1, 1}, 1); got[1] != 1 || got[0] >= 1 || got[0] < 0.4 {
		t.Errorf("all right: %v should be [~0.51, 1]", got)
	}
	got = ci95([]float64{2, 4}, 3)
	if half := 1.959963984540054 * 1; math.Abs(got[0]-(3-half)) > 1e-12 || math.Abs(got[1]-(3+half)) > 1e-12 {
		t.Errorf("normal interval %v", got)
	}
}

func TestFailureNamesExample(t *testing.T) {
	exs := examples(50)
	exs[17].Question = "unparsable"
	for _, w := range []int{1, 3} {
		_, err := Evaluate(context.Background(), newTeam(t), exs, nil, &Options{Workers: w})
		var ee *ExampleError
		var ce *team.CallError
		if !errors.As(err, &ee) || ee.ID != "ex17" || ee.Index != 17 || !errors.Is(err, lm.ErrRateLimited) || !errors.As(err, &ce) {
			t.Fatalf("workers %d: err = %v", w, err)
		}
		if !strings.Contains(err.Error(), `"ex17"`) || !strings.Contains(err.Error(), `agent "good" round 0`) {
			t.Errorf("message %q", err)
		}
	}
	if _, err := Evaluate(context.Background(), newTeam(t), nil, nil, nil); !errors.Is(err, ErrNoExamples) {
		t.Errorf("empty batch: %v", err)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int64
	slow := lm.ModelFunc(func(ctx context.Context, req lm.Request) (lm.Response, error) {
		if calls.Add(1) == 20 {
			cancel()
		}
		select {
		case <-ctx.Done():
			return lm.Response{}, ctx.Err()
		case <-time.After(time.Millisecond):
		}
		return lm.Response{Text: "Answer: 1"}, nil
	})
	tm, err := team.New(team.Spec{Agents: []team.AgentSpec{{ID: "a", Model: "m"}, {ID: "b", Model: "m"}}}, slow, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Evaluate(ctx, tm, examples(10000), nil, &Options{Workers: 4})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 2*time.Second || calls.Load() > 40 {
		t.Errorf("stopped after %v and %d calls", el, calls.Load())
	}
}
