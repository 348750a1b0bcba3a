package team

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mabeam/mabeam/coordination"
	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
)

// The "script" kind answers from its Instruction: "ans:conf|ans:conf|..."
// gives the answer of round 0, 1, ...; the last entry repeats. An entry
// "!" fails the call with lm.ErrRateLimited; an entry "" abstains.
func init() {
	RegisterKind("script", KindFunc(func(s AgentSpec, _ lm.Model) (Agent, error) {
		steps := strings.Split(s.Instruction, "|")
		return AgentFunc(func(ctx context.Context, in Input) (Output, error) {
			st := steps[min(in.Round, len(steps)-1)]
			if st == "!" {
				return Output{}, &lm.Error{Kind: lm.ErrRateLimited, Model: "script"}
			}
			if st == "" {
				return Output{Text: ""}, nil
			}
			ans, c, _ := strings.Cut(st, ":")
			conf, _ := strconv.ParseFloat(c, 64)
			lat := time.Duration(len(ans)) * time.Millisecond
			return Output{Text: prompt.FormatAnswer(ans, conf), Usage: lm.Usage{PromptTokens: 10, CompletionTokens: 2}, Cost: 0.5, Latency: lat}, nil
		}), nil
	}))
}

func scripted(scripts ...string) []AgentSpec {
	out := make([]AgentSpec, len(scripts))
	for i, s := range scripts {
		out[i] = AgentSpec{ID: fmt.Sprintf("a%d", i+1), Kind: "script", Instruction: s}
	}
	return out
}

func TestValidate(t *testing.T) {
	ok := func() Spec {
		return Spec{Agents: []AgentSpec{{ID: "a", Model: "m"}, {ID: "b", Model: "m"}, {ID: "j", Role: RoleJudge, Model: "m"}}}
	}
	cases := []struct {
		name  string
		edit  func(*Spec)
		field string
		agent string
		cause error
	}{
		{"no agents", func(s *Spec) { s.Agents = nil }, "Agents", "", nil},
		{"empty id", func(s *Spec) { s.Agents[1].ID = "" }, "Agents[1].ID", "", nil},
		{"duplicate id", func(s *Spec) { s.Agents[1].ID = "a" }, "Agents[1].ID", "a", nil},
		{"unknown role", func(s *Spec) { s.Agents[0].Role = "poet" }, "Agents[0].Role", "a", ErrUnknownRole},
		{"unknown kind", func(s *Spec) { s.Agents[1].Kind = "nope" }, "Agents[1].Kind", "b", ErrUnknownKind},
		{"temperature", func(s *Spec) { s.Agents[0].Temperature = 2.5 }, "Agents[0].Temperature", "a", nil},
		{"max tokens", func(s *Spec) { s.Agents[0].MaxTokens = -1 }, "Agents[0].MaxTokens", "a", nil},
		{"weight", func(s *Spec) {
			w := -1.0
			s.Agents[1].Weight = &w
		}, "Agents[1].Weight", "b", nil},
		{"edge from unknown", func(s *Spec) { s.Edges = []Edge{{"a", "b"}, {"x", "a"}} }, "Edges[1].From", "x", nil},
		{"edge to unknown", func(s *Spec) { s.Edges = []Edge{{"a", "y"}} }, "Edges[0].To", "y", nil},
		{"self loop", func(s *Spec) { s.Edges = []Edge{{"b", "b"}} }, "Edges[0]", "b", nil},
		{"duplicate edge", func(s *Spec) { s.Edges = []Edge{{"a", "b"}, {"a", "b"}} }, "Edges[1]", "a", nil},
		{"negative rounds", func(s *Spec) { s.Rounds = -1 }, "Rounds", "", nil},
		{"unknown aggregation", func(s *Spec) { s.Aggregation = "dictator" }, "Aggregation", "", nil},
		{"threshold low", func(s *Spec) { s.Aggregation = AggSupermajority; s.Threshold = 0.5 }, "Threshold", "", nil},
		{"threshold high", func(s *Spec) { s.Aggregation = AggSupermajority; s.Threshold = 1.1 }, "Threshold", "", nil},
		{"judge without judge", func(s *Spec) { s.Aggregation = AggJudge; s.Agents[2].Role = RoleCritic }, "Judge", "", nil},
		{"judge unknown", func(s *Spec) { s.Aggregation = AggJudge; s.Judge = "zed" }, "Judge", "zed", nil},
		{"judge alone", func(s *Spec) { s.Aggregation = AggJudge; s.Agents = s.Agents[2:] }, "Agents", "", nil},
		{"fan-out", func(s *Spec) { s.Aggregation = AggHierarchical; s.FanOut = 1 }, "FanOut", "", nil},
		{"unknown budget", func(s *Spec) { s.Budget = "lottery" }, "Budget", "", nil},
		{"negative token budget", func(s *Spec) { s.TokenBudget = -5 }, "TokenBudget", "", nil},
		{"bid reserve", func(s *Spec) { s.BidReserve = 1.5 }, "BidReserve", "", nil},
	}
	base := ok()
	if err := base.Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	for _, c := range cases {
		s := ok()
		c.edit(&s)
		err := s.Validate()
		var se *SpecError
		if !errors.Is(err, ErrInvalidSpec) || !errors.As(err, &se) {
			t.Errorf("%s: err = %v, want a *SpecError", c.name, err)
			continue
		}
		if se.Field != c.field || se.Agent != c.agent {
			t.Errorf("%s: field %q agent %q, want %q %q (%v)", c.name, se.Field, se.Agent, c.field, c.agent, err)
		}
		if c.cause != nil && !errors.Is(err, c.cause) {
			t.Errorf("%s: %v is not %v", c.name, err, c.cause)
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: message %q does not name %s", c.name, err, c.field)
		}
		if _, err := New(s, lm.ModelFunc(nil), nil); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%s: New err = %v", c.name, err)
		}
	}
}

func TestNewLMNeedsModel(t *testing.T) {
	s := Spec{Agents: []AgentSpec{{ID: "a"}}}
	if _, err := New(s, lm.ModelFunc(nil), nil); err == nil || !strings.Contains(err.Error(), "Model") {
		t.Errorf("empty model name: err = %v", err)
	}
	s.Agents[0].Model = "sim-small"
	if _, err := New(s, nil, nil); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("nil lm.Model: err = %v", err)
	}
}

// recorder is a fake model that answers by agent id and records requests.
type recorder struct {
	mu      sync.Mutex
	reqs    []lm.Request
	answers map[string]string
}

func (r *recorder) Generate(_ context.Context, req lm.Request) (lm.Response, error) {
	p, err := prompt.Parse(req.Messages)
	if err != nil {
		return lm.Response{}, err
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return lm.Response{Text: "Let me see.\n" + prompt.FormatAnswer(r.answers[p.Agent], 0.75), Usage: lm.Usage{PromptTokens: 7, CompletionTokens: 3}, Cost: 0.01}, nil
}

func TestRunLMPrompts(t *testing.T) {
	rec := &recorder{answers: map[string]string{"a": "12", "b": "12", "c": "13"}}
	spec := Spec{
		Agents: []AgentSpec{
			{ID: "a", Model: "sim-small", Temperature: 0.7, MaxTokens: 99},
			{ID: "b", Role: RoleCritic, Model: "sim-large", Rules: []string{"check twice"}},
			{ID: "c", Role: RolePlanner, Model: "sim-small", Instruction: "Plan it.", Demos: []prompt.Demo{{Question: "1+1?", Answer: "2"}}},
		},
		Edges:  []Edge{{"a", "b"}, {"c", "b"}, {"b", "c"}}, // a reads nobody
		Rounds: 2,
	}
	tm, err := New(spec, rec, &Options{Sample: 3})
	if err != nil {
		t.Fatal(err)
	}
	ex := datasets.Example{ID: "q1", Question: "What is 5 + 7?", Answer: "12"}
	res, err := tm.Run(context.Background(), ex)
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "12" || res.Calls != 9 || len(res.Trace) != 9 || tm.CallsPerRun() != 9 {
		t.Fatalf("answer %q calls %d trace %d", res.Answer, res.Calls, len(res.Trace))
	}
	if want := 2 * 3; res.Messages != want { // b reads a and c, c reads b, twice
		t.Errorf("messages = %d, want %d", res.Messages, want)
	}
	if res.Usage != (lm.Usage{PromptTokens: 63, CompletionTokens: 27}) {
		t.Errorf("usage = %+v", res.Usage)
	}
	if res.Agreement != 2.0/3 || res.Confidence != 0.75 {
		t.Errorf("agreement %v confidence %v", res.Agreement, res.Confidence)
	}
	wantSys := prompt.RenderSystem(&prompt.Prompt{Agent: "a", Role: RoleSolver, Instruction: "Solve the problem step by step and give the final answer."})
	if got := rec.reqs[0].Messages[0].Content; got != wantSys {
		t.Errorf("solver system message:\n%s\nwant\n%s", got, wantSys)
	}
	r0 := rec.reqs[0]
	if r0.Model != "sim-small" || r0.Temperature != 0.7 || r0.MaxTokens != 99 || r0.Sample != 3 {
		t.Errorf("request fields: %+v", r0)
	}
	peers := map[string][]string{}
	for k, req := range rec.reqs {
		p, _ := prompt.Parse(req.Messages)
		c := res.Trace[k]
		if c.Agent != p.Agent || c.Round != k/3 || c.Answer != rec.answers[p.Agent] || c.Output == "" || len(c.Messages) != 2 {
			t.Errorf("trace[%d] = %+v", k, c)
		}
		if p.Question != ex.Question {
			t.Errorf("question %q", p.Question)
		}
		if wantPrev := (&prompt.Peer{Answer: rec.answers[p.Agent], Confidence: 0.75}); k/3 == 0 && p.Previous != nil || k/3 > 0 && !reflect.DeepEqual(p.Previous, wantPrev) {
			t.Errorf("call %d (%s round %d): previous %+v, want %+v", k, p.Agent, k/3, p.Previous, wantPrev)
		}
		var ids []string
		for _, pe := range p.Peers {
			ids = append(ids, pe.Agent+"="+pe.Answer)
		}
		key := fmt.Sprintf("%s/%d", p.Agent, k/3)
		peers[key] = ids
		switch p.Agent {
		case "b":
			if p.Role != RoleCritic || p.Rules[0] != "check twice" {
				t.Errorf("b prompt %+v", p)
			}
		case "c":
			if p.Instruction != "Plan it." || len(p.Demos) != 1 {
				t.Errorf("c prompt %+v", p)
			}
		}
	}
	want := map[string][]string{
		"a/0": nil, "b/0": nil, "c/0": nil,
		"a/1": nil, "b/1": {"a=12", "c=13"}, "c/1": {"b=12"},
		"a/2": nil, "b/2": {"a=12", "c=13"}, "c/2": {"b=12"},
	}
	for k, w := range want {
		if !slices.Equal(peers[k], w) {
			t.Errorf("peers of %s = %v, want %v", k, peers[k], w)
		}
	}
}

func TestAggregation(t *testing.T) {
	cases := []struct {
		name      string
		spec      Spec
		answer    string
		conf      float64
		agreement float64
	}{
		{"majority", Spec{Agents: scripted("7:0.2", "8:0.9", "7:0.3")}, "7", 0.25, 2.0 / 3},
		{"majority normalises, reports first text", Spec{Agents: scripted("Paris:0.8", "paris.:0.6", "Rome:1")}, "Paris", 0.7, 2.0 / 3},
		{"tie by confidence", Spec{Agents: scripted("b:0.4", "a:0.5", "c:0.1", "c:0.1")}, "c", 0.1, 0.5},
		// "a" normalises to "" (an article) and abstains, so these use x, y.
		{"tie by confidence 2", Spec{Agents: scripted("x:0.4", "y:0.5")}, "y", 0.5, 0.5},
		{"tie lexical", Spec{Agents: scripted("y:0.5", "x:0.5")}, "x", 0.5, 0.5},
		{"no content abstains", Spec{Agents: scripted("the:0.9", "7:0.2")}, "7", 0.2, 0.5},
		{"abstain", Spec{Agents: scripted("", "9:0.1")}, "9", 0.1, 0.5},
		{"all abstain", Spec{Agents: scripted("", "")}, "", 0, 0},
		{"final round counts", Spec{Agents: scripted("1:0.9|2:0.9", "1:0.9|2:0.9", "2:0.5"), Rounds: 1}, "2", 0.7666666666666666, 1},
		{"supermajority met", Spec{Agents: scripted("5:0.1", "5:0.1", "6:0.9"), Aggregation: AggSupermajority}, "5", 0.1, 2.0 / 3},
		{"supermajority fallback", Spec{Agents: scripted("5:0.1", "5:0.1", "6:0.9"), Aggregation: AggSupermajority, Threshold: 0.75}, "6", 0.9, 1.0 / 3},
		{"weighted", Spec{Agents: scripted("5:0.5", "5:0.5", "6:0.9"), Aggregation: AggWeighted}, "5", 0.5, 2.0 / 3},
		{"weighted by weight", Spec{Agents: func() []AgentSpec {
			a := scripted("5:0.5", "5:0.5", "6:0.9")
			w := 2.0
			a[2].Weight = &w
			return a
		}(), Aggregation: AggWeighted}, "6", 0.9, 1.0 / 3},
		{"weight 0 silences", Spec{Agents: func() []AgentSpec {
			a := scripted("5:0.5", "6:0.9", "6:0.9")
			a[1].Weight, a[2].Weight = new(0.0), new(0.0)
			return a
		}(), Aggregation: AggWeighted}, "5", 0.5, 1.0 / 3},
		{"judge", Spec{Agents: append(scripted("5:0.5", "5:0.5", "6:0.9"), AgentSpec{ID: "j", Role: RoleJudge, Kind: "script", Instruction: "6:0.8"}),
			Aggregation: AggJudge}, "6", 0.8, 1.0 / 3},
		{"judge abstains", Spec{Agents: append(scripted("5:0.5", "5:0.5", "6:0.9"), AgentSpec{ID: "j", Role: RoleJudge, Kind: "script", Instruction: ""}),
			Aggregation: AggJudge}, "5", 0.5, 2.0 / 3},
		{"hierarchical", Spec{Agents: scripted("5:0.5", "6:0.9", "6:0.9", "6:0.9", "5:0.5"), Aggregation: AggHierarchical}, "6", 0.9, 3.0 / 5},
		// Groups of 3: {5, 5, 6} reports 3 votes for 5, {6, 6} 2 for 6: 5
		// wins, as in an electoral college, where the flat majority says 6.
		{"hierarchical delegates", Spec{Agents: scripted("5:0.5", "5:0.5", "6:0.9", "6:0.9", "6:0.9"), Aggregation: AggHierarchical}, "5", 0.5, 2.0 / 5},
		{"hierarchical fan-out 5 is flat", Spec{Agents: scripted("5:0.5", "5:0.5", "6:0.9", "6:0.9", "6:0.9"), Aggregation: AggHierarchical, FanOut: 5}, "6", 0.9, 3.0 / 5},
		{"judge role votes under majority", Spec{Agents: append(scripted("5:0.5", "6:0.5"), AgentSpec{ID: "j", Role: RoleJudge, Kind: "script", Instruction: "6:0.5"})},
			"6", 0.5, 2.0 / 3},
	}
	for _, c := range cases {
		tm, err := New(c.spec, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		res, err := tm.Run(context.Background(), datasets.Example{ID: "x", Question: "q"})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if res.Answer != c.answer || !near(res.Confidence, c.conf) || !near(res.Agreement, c.agreement) {
			t.Errorf("%s: got %q conf %v agreement %v; want %q %v %v", c.name, res.Answer, res.Confidence, res.Agreement, c.answer, c.conf, c.agreement)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestJudgeRound(t *testing.T) {
	var got Input
	RegisterKind("test-judge-spy", KindFunc(func(AgentSpec, lm.Model) (Agent, error) {
		return AgentFunc(func(_ context.Context, in Input) (Output, error) {
			got = in
			got.Peers = slices.Clone(in.Peers)
			return Output{Answer: "9", Confidence: 1}, nil
		}), nil
	}))
	spec := Spec{
		Agents:      append(scripted("5:0.5", "", "6:0.9"), AgentSpec{ID: "boss", Kind: "test-judge-spy"}),
		Edges:       []Edge{{"a1", "boss"}, {"boss", "a2"}, {"a1", "a3"}},
		Rounds:      2,
		Aggregation: AggJudge, Judge: "boss",
	}
	tm, err := New(spec, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tm.Run(context.Background(), datasets.Example{ID: "x", Question: "q"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Round != 3 || len(got.Peers) != 2 || got.Peers[0].Agent != "a1" || got.Peers[1] != (prompt.Peer{Agent: "a3", Answer: "6", Confidence: 0.9}) {
		t.Errorf("judge input %+v", got)
	}
	if res.Answer != "9" || res.Agreement != 0 || res.Calls != 10 || res.Messages != 2+2 {
		t.Errorf("result %+v", res)
	}
	if last := res.Trace[len(res.Trace)-1]; last.Agent != "boss" || last.Round != 3 {
		t.Errorf("last call %+v", last)
	}
	// Latency: rounds 0-2 slowest "5" = 1ms each, judge answer "9" reports none.
	if res.Latency != 3*time.Millisecond {
		t.Errorf("latency %v", res.Latency)
	}
}

func TestLatencyCriticalPath(t *testing.T) {
	tm, err := New(Spec{Agents: scripted("1:1|333:1", "22:1|1:1"), Rounds: 1}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tm.Run(context.Background(), datasets.Example{Question: "q"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Latency != 5*time.Millisecond || res.Cost != 2 {
		t.Errorf("latency %v cost %v, want 5ms (2+3) and 2", res.Latency, res.Cost)
	}
}

func TestRunErrors(t *testing.T) {
	tm, err := New(Spec{Agents: scripted("1:1", "1:1|!"), Rounds: 2}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tm.Run(context.Background(), datasets.Example{ID: "e1", Question: "q"})
	var ce *CallError
	if !errors.Is(err, lm.ErrRateLimited) || !errors.As(err, &ce) || ce.Agent != "a2" || ce.Round != 1 {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), `"a2" round 1`) {
		t.Errorf("message %q", err)
	}
	if res.Calls != 3 {
		t.Errorf("calls before failure = %d, want 3", res.Calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tm.Run(ctx, datasets.Example{ID: "e1", Question: "q"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: err = %v", err)
	}
}

func TestConcurrentRuns(t *testing.T) {
	rec := &recorder{answers: map[string]string{"a": "1", "b": "2", "c": "2"}}
	agents := []AgentSpec{{ID: "a", Model: "m"}, {ID: "b", Model: "m"}, {ID: "c", Model: "m"}}
	tm, err := New(Spec{Agents: agents, Edges: mesh(agents), Rounds: 2}, rec, &Options{NoTrace: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]Result, 16)
	for g := range results {
		wg.Go(func() {
			for range 20 {
				r, err := tm.Run(context.Background(), datasets.Example{Question: "q" + strconv.Itoa(g)})
				if err != nil {
					t.Error(err)
					return
				}
				results[g] = r
			}
		})
	}
	wg.Wait()
	for _, r := range results {
		if r.Answer != "2" || r.Trace != nil || r.Calls != 9 || r.Messages != 12 {
			t.Errorf("result %+v", r)
		}
	}
}

func mesh(agents []AgentSpec) []Edge {
	var es []Edge
	for _, a := range agents {
		for _, b := range agents {
			if a.ID != b.ID {
				es = append(es, Edge{a.ID, b.ID})
			}
		}
	}
	return es
}

func TestRegistries(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	mustPanic("duplicate kind", func() { RegisterKind(KindLM, KindFunc(newLMAgent)) })
	mustPanic("duplicate role", func() { RegisterRole(RoleSolver, Role{}) })
	mustPanic("empty role", func() { RegisterRole("", Role{}) })
	RegisterRole("test-skeptic", Role{DefaultInstruction: "Doubt everything."})
	if !slices.Contains(RoleNames(), "test-skeptic") || !slices.Contains(KindNames(), KindLM) {
		t.Errorf("roles %v kinds %v", RoleNames(), KindNames())
	}
	rec := &recorder{answers: map[string]string{"s": "x"}}
	tm, err := New(Spec{Agents: []AgentSpec{{ID: "s", Role: "test-skeptic", Model: "m"}}}, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.Run(context.Background(), datasets.Example{Question: "q"}); err != nil {
		t.Fatal(err)
	}
	p, _ := prompt.Parse(rec.reqs[0].Messages)
	if p.Role != "test-skeptic" || p.Instruction != "Doubt everything." {
		t.Errorf("custom role prompt %+v", p)
	}
	if _, err := LookupKind("nope"); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("LookupKind: %v", err)
	}
}

func TestRunIntoReuses(t *testing.T) {
	rec := &recorder{answers: map[string]string{"a": "1", "b": "2", "c": "2"}}
	agents := []AgentSpec{{ID: "a", Model: "m"}, {ID: "b", Model: "m"}, {ID: "c", Model: "m"}}
	tm, err := New(Spec{Agents: agents, Edges: mesh(agents), Rounds: 1}, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var into Result
	for _, q := range []string{"first?", "second?"} {
		ex := datasets.Example{Question: q}
		want, err := tm.Run(ctx, ex)
		if err != nil {
			t.Fatal(err)
		}
		if err := tm.RunInto(ctx, ex, &into); err != nil {
			t.Fatal(err)
		}
		got := into
		got.arena = nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("RunInto(%q) = %+v\nwant %+v", q, got, want)
		}
	}
	if raceEnabled {
		return // the race detector changes allocation counts (sync.Pool drops items)
	}
	run := testing.AllocsPerRun(50, func() { _, _ = tm.Run(ctx, datasets.Example{Question: "q"}) })
	reuse := testing.AllocsPerRun(50, func() { _ = tm.RunInto(ctx, datasets.Example{Question: "q"}, &into) })
	if reuse > run-2 {
		t.Errorf("RunInto makes %v allocations, Run %v: want at least 2 fewer", reuse, run)
	}
}

// TestBudgetTurns: a1 and a2 agree (confidence 0.9), a3 dissents unsure
// (0.3), in a mesh with one debate round. The bids are a3's dissent
// 1.8/2.1 and a1's and a2's 0.3/2.1; each call uses 12 tokens.
func TestBudgetTurns(t *testing.T) {
	agents := scripted("5:0.9", "5:0.9", "6:0.3|5:0.6")
	type want struct {
		speakers []string // agents called in round 1
		overhead coordination.Overhead
	}
	consensus := coordination.Overhead{Rounds: 1, Messages: 3}
	split := func(bids int) coordination.Overhead {
		if bids == 0 {
			return coordination.Overhead{Rounds: 1, Messages: 3}
		}
		return coordination.Overhead{Rounds: 1, Messages: bids, Bids: bids}
	}
	cases := []struct {
		name string
		spec Spec
		want want
	}{
		{"no budget", Spec{}, want{[]string{"a1", "a2", "a3"}, consensus}},
		{"equal", Spec{Budget: BudgetEqual}, want{[]string{"a1", "a2", "a3"}, consensus}},
		{"auction", Spec{Budget: BudgetAuction}, want{[]string{"a1", "a2", "a3"}, split(3).Add(consensus)}},
		{"auction reserve", Spec{Budget: BudgetAuction, BidReserve: 0.2}, want{[]string{"a3"}, split(1).Add(consensus)}},
		{"market reserve", Spec{Budget: BudgetMarket, BidReserve: 0.2}, want{[]string{"a3"}, split(1).Add(consensus)}},
		{"reserve 1 silences all", Spec{Budget: BudgetAuction, BidReserve: 1}, want{nil, consensus}},
		// 24 tokens: an equal split gives each 8 of the 12 it needs, so all
		// give them back, and the 24 go round-robin from a1.
		{"equal cap", Spec{Budget: BudgetEqual, TokenBudget: 24}, want{[]string{"a1", "a2"}, split(0).Add(consensus)}},
		// The auction serves the highest bid, a3, then a1 and a2 share.
		{"auction cap", Spec{Budget: BudgetAuction, TokenBudget: 24}, want{[]string{"a3", "a1"}, split(3).Add(consensus)}},
	}
	for _, c := range cases {
		spec := c.spec
		spec.Agents, spec.Edges, spec.Rounds = agents, mesh(agents), 1
		tm, err := New(spec, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		res, err := tm.Run(context.Background(), datasets.Example{ID: "x", Question: "q"})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var speakers []string
		for _, call := range res.Trace {
			if call.Round == 1 {
				speakers = append(speakers, call.Agent)
			}
		}
		slices.Sort(speakers)
		slices.Sort(c.want.speakers)
		if !slices.Equal(speakers, c.want.speakers) || res.Calls != 3+len(speakers) || res.Skipped != 3-len(speakers) {
			t.Errorf("%s: round 1 speakers %v (calls %d, skipped %d), want %v", c.name, speakers, res.Calls, res.Skipped, c.want.speakers)
		}
		if res.Coordination != c.want.overhead {
			t.Errorf("%s: overhead %+v, want %+v", c.name, res.Coordination, c.want.overhead)
		}
		// a3 moves to 5 when it speaks; a1 and a2 keep 5 either way.
		wantAnswer, wantAgreement := "5", 2.0/3
		if slices.Contains(speakers, "a3") {
			wantAgreement = 1
		}
		if res.Answer != wantAnswer || !near(res.Agreement, wantAgreement) {
			t.Errorf("%s: answer %q agreement %v, want %q %v", c.name, res.Answer, res.Agreement, wantAnswer, wantAgreement)
		}
	}
}

// TestPrevious: in debate rounds every voter sees its own previous answer
// (none after abstaining, and none in round 0 or for the judge), lm agents
// in their user message.
func TestPrevious(t *testing.T) {
	type seen struct {
		agent string
		round int
		prev  *prompt.Peer
	}
	var mu sync.Mutex
	var calls []seen
	RegisterKind("test-previous-spy", KindFunc(func(s AgentSpec, _ lm.Model) (Agent, error) {
		steps := strings.Split(s.Instruction, "|")
		return AgentFunc(func(_ context.Context, in Input) (Output, error) {
			c := seen{agent: s.ID, round: in.Round}
			if in.Previous != nil {
				p := *in.Previous
				c.prev = &p
			}
			mu.Lock()
			calls = append(calls, c)
			mu.Unlock()
			st := steps[min(in.Round, len(steps)-1)]
			if st == "" {
				return Output{}, nil
			}
			return Output{Answer: st, Confidence: 0.5}, nil
		}), nil
	}))
	rec := &recorder{answers: map[string]string{"m": "12"}}
	spec := Spec{
		Agents: []AgentSpec{
			{ID: "s1", Kind: "test-previous-spy", Instruction: "1|2|3"},
			{ID: "s2", Kind: "test-previous-spy", Instruction: "|4|5"}, // abstains in round 0
			{ID: "m", Model: "sim-small"},                              // reads nobody
			{ID: "j", Role: RoleJudge, Kind: "test-previous-spy", Instruction: "9"},
		},
		Edges:       []Edge{{"s1", "s2"}, {"s2", "s1"}},
		Rounds:      2,
		Aggregation: AggJudge,
	}
	tm, err := New(spec, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.Run(context.Background(), datasets.Example{ID: "x", Question: "q"}); err != nil {
		t.Fatal(err)
	}
	peer := func(agent, ans string, c float64) *prompt.Peer {
		return &prompt.Peer{Agent: agent, Answer: ans, Confidence: c}
	}
	want := []seen{
		{"s1", 0, nil}, {"s2", 0, nil},
		{"s1", 1, peer("s1", "1", 0.5)}, {"s2", 1, nil},
		{"s1", 2, peer("s1", "2", 0.5)}, {"s2", 2, peer("s2", "4", 0.5)},
		{"j", 3, nil},
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls:")
		for _, c := range calls {
			t.Errorf("  %s round %d previous %+v", c.agent, c.round, c.prev)
		}
	}
	if len(rec.reqs) != 3 {
		t.Fatalf("%d lm calls", len(rec.reqs))
	}
	for r, req := range rec.reqs {
		p, err := prompt.Parse(req.Messages)
		if err != nil {
			t.Fatal(err)
		}
		var wantPrev *prompt.Peer
		if r > 0 {
			wantPrev = &prompt.Peer{Answer: "12", Confidence: 0.75}
		}
		if !reflect.DeepEqual(p.Previous, wantPrev) || len(p.Peers) != 0 || p.Question != "q" {
			t.Errorf("lm round %d: %+v\n%s", r, p, req.Messages[1].Content)
		}
	}
}

// TestInputHoldsNoAnswer: an agent written as a Go function sees the
// example's id and question, but nothing it receives holds the gold answer.
func TestInputHoldsNoAnswer(t *testing.T) {
	for f := range reflect.TypeFor[Input]().Fields() {
		if f.Type == reflect.TypeFor[datasets.Example]() || strings.Contains(strings.ToLower(f.Name), "answer") || strings.Contains(strings.ToLower(f.Name), "example") && f.Name != "ExampleID" {
			t.Errorf("Input has a field %s %v", f.Name, f.Type)
		}
	}
	const gold = "GOLD-ANSWER-7f3a91"
	var mu sync.Mutex
	var ins []string
	RegisterKind("test-no-answer-spy", KindFunc(func(s AgentSpec, _ lm.Model) (Agent, error) {
		return AgentFunc(func(_ context.Context, in Input) (Output, error) {
			mu.Lock()
			ins = append(ins, fmt.Sprintf("%#v %#v %#v", in, in.Previous, in.Peers))
			mu.Unlock()
			if in.ExampleID != "ex-1" || in.Question != "What is 6 * 7?" {
				t.Errorf("%s round %d: id %q question %q", s.ID, in.Round, in.ExampleID, in.Question)
			}
			return Output{Answer: "41", Confidence: 0.5}, nil
		}), nil
	}))
	rec := &recorder{answers: map[string]string{"m": "42"}}
	agents := []AgentSpec{{ID: "s", Kind: "test-no-answer-spy"}, {ID: "m", Model: "sim-small"}, {ID: "j", Role: RoleJudge, Kind: "test-no-answer-spy"}}
	tm, err := New(Spec{Agents: agents, Edges: mesh(agents[:2]), Rounds: 1, Aggregation: AggJudge}, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tm.Run(context.Background(), datasets.Example{ID: "ex-1", Question: "What is 6 * 7?", Answer: gold})
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 3 || len(rec.reqs) != 2 {
		t.Fatalf("%d spy calls, %d lm calls", len(ins), len(rec.reqs))
	}
	for _, req := range rec.reqs {
		ins = append(ins, fmt.Sprintf("%#v", req))
	}
	for _, s := range ins {
		if strings.Contains(s, gold) {
			t.Errorf("an agent received the gold answer: %s", s)
		}
	}
	if strings.Contains(fmt.Sprintf("%#v", res), gold) {
		t.Errorf("the result holds the gold answer")
	}
}

// TestRunAllocs: with a model that allocates nothing, RunInto allocates the
// user messages only: one for round 0, shared by every agent, and one text
// per debate round (every voter's peers and previous answer included).
func TestRunAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts (sync.Pool drops items)")
	}
	reply := prompt.FormatAnswer("42", 0.8)
	model := lm.ModelFunc(func(context.Context, lm.Request) (lm.Response, error) {
		return lm.Response{Text: reply, Usage: lm.Usage{PromptTokens: 100, CompletionTokens: 8}}, nil
	})
	agents := []AgentSpec{{ID: "a", Model: "m"}, {ID: "b", Model: "m"}, {ID: "c", Model: "m"}, {ID: "d", Model: "m"}}
	edges := mesh(agents[:3]) // d reads nobody, but sees its previous answer
	for _, rounds := range []int{0, 1, 3} {
		tm, err := New(Spec{Agents: agents, Edges: edges, Rounds: rounds}, model, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, ex := context.Background(), datasets.Example{ID: "x", Question: "What is 40 + 2?"}
		var res Result
		if n := testing.AllocsPerRun(50, func() { _ = tm.RunInto(ctx, ex, &res) }); n > float64(1+rounds) {
			t.Errorf("rounds %d: RunInto makes %v allocations, want %d", rounds, n, 1+rounds)
		}
		if n := testing.AllocsPerRun(50, func() { _, _ = tm.Run(ctx, ex) }); n > float64(3+rounds) {
			t.Errorf("rounds %d: Run makes %v allocations, want %d", rounds, n, 3+rounds)
		}
	}
}

// TestNoDemoOfOwnQuestion: an agent asked a question that one of its demos
// shows is given its system message without that demo (and only that one);
// on other questions it sees every demo.
func TestNoDemoOfOwnQuestion(t *testing.T) {
	demos := []prompt.Demo{{Question: "What is 5 + 7?", Answer: "12"}, {Question: "What is 1 + 1?", Answer: "2"}}
	rec := &recorder{answers: map[string]string{"a": "12"}}
	tm, err := New(Spec{Agents: []AgentSpec{{ID: "a", Model: "sim-small", Demos: demos}}}, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		want []prompt.Demo
	}{
		{"What is 5 + 7?", demos[1:]},
		{"What is 1 + 1?", demos[:1]},
		{"What is 2 + 9?", demos},
	} {
		rec.reqs = nil
		if _, err := tm.Run(context.Background(), datasets.Example{ID: "x", Question: tc.q, Answer: "1"}); err != nil {
			t.Fatal(err)
		}
		p, err := prompt.Parse(rec.reqs[0].Messages)
		if err != nil || !reflect.DeepEqual(p.Demos, tc.want) {
			t.Errorf("question %q: demos %+v (%v), want %+v", tc.q, p.Demos, err, tc.want)
		}
	}
}

// TestReaches: an agent reaches the team answer when it votes, when the
// judge reads it, or when its answer travels to a voter within the rounds;
// not when it is out of the team, or muted under weighted voting with no
// path to a voter that counts.
func TestReaches(t *testing.T) {
	agents := scripted("1:1", "2:1", "3:1")
	muted := slices.Clone(agents)
	muted[2].Weight = new(0.0)
	for _, tc := range []struct {
		name string
		spec Spec
		want bool
	}{
		{"a voter under majority", Spec{Agents: agents}, true},
		{"out of the team", Spec{Agents: agents[:2]}, false},
		{"weight 0 under majority", Spec{Agents: muted}, true},
		{"weight 0, weighted, no edges", Spec{Agents: muted, Aggregation: AggWeighted, Rounds: 2}, false},
		{"weight 0, weighted, an edge but no rounds", Spec{Agents: muted, Aggregation: AggWeighted, Edges: []Edge{{"a3", "a1"}}}, false},
		{"weight 0, weighted, an edge and a round", Spec{Agents: muted, Aggregation: AggWeighted, Edges: []Edge{{"a3", "a1"}}, Rounds: 1}, true},
		{"weight 0, weighted, edges only into it", Spec{Agents: muted, Aggregation: AggWeighted, Edges: []Edge{{"a1", "a3"}, {"a2", "a3"}}, Rounds: 3}, false},
		{"weight 0 under a judge", Spec{Agents: append(slices.Clone(muted), AgentSpec{ID: "j", Role: RoleJudge, Kind: "script", Instruction: "1:1"}), Aggregation: AggJudge}, true},
	} {
		if got := tc.spec.Reaches("a3"); got != tc.want {
			t.Errorf("%s: Reaches(a3) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
