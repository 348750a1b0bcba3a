package sim_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

func TestErrors(t *testing.T) {
	m := sim.New(nil)
	ctx := context.Background()
	msgs := prompt.Render(&prompt.Prompt{Question: "What is 2+2?"})

	_, err := m.Generate(ctx, lm.Request{Model: "gpt-9", Messages: msgs})
	var le *lm.Error
	if !errors.Is(err, lm.ErrUnknownModel) || !errors.As(err, &le) || le.Model != "gpt-9" {
		t.Fatalf("unknown model: err = %v, want *lm.Error with ErrUnknownModel and Model gpt-9", err)
	}
	for _, name := range []string{"sim-small", "sim-medium", "sim-large", "sim-adversary"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("unknown-model error %q does not list %s", err, name)
		}
	}
	for _, req := range []lm.Request{
		{Model: "sim-medium"},
		{Model: "sim-medium", Messages: msgs, Temperature: 3},
		{Messages: msgs},
	} {
		if _, err := m.Generate(ctx, req); !errors.Is(err, lm.ErrBadRequest) {
			t.Errorf("Generate(%+v) = %v, want ErrBadRequest", req, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Generate(cctx, lm.Request{Model: "sim-medium", Messages: msgs}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestDeterminism(t *testing.T) {
	exs := examples(t, "arithmetic", 60, 2)
	m1, m2 := sim.New(nil), sim.New(&sim.Options{})
	other := sim.New(&sim.Options{Seed: 99})
	ctx := context.Background()
	diffSeed, diffSample := 0, 0
	for _, ex := range exs {
		c := call{model: "sim-medium", instruction: refInstruction}
		r1, _ := m1.Generate(ctx, c.request(ex))
		r2, _ := m2.Generate(ctx, c.request(ex))
		c.sample = 3 // ignored at temperature 0
		r3, _ := m1.Generate(ctx, c.request(ex))
		if r1 != r2 || r1 != r3 {
			t.Fatalf("temperature 0 does not repeat itself: %+v / %+v / %+v", r1, r2, r3)
		}
		if r4, _ := other.Generate(ctx, c.request(ex)); r4.Text != r1.Text {
			diffSeed++
		}
		c.temperature = 0.8
		seen := map[string]bool{}
		for s := range 5 {
			c.sample = s
			r, _ := m1.Generate(ctx, c.request(ex))
			if again, _ := m2.Generate(ctx, c.request(ex)); again != r {
				t.Fatalf("sample %d at temperature 0.8 is not reproducible", s)
			}
			seen[r.Text] = true
		}
		if len(seen) > 1 {
			diffSample++
		}
	}
	if diffSeed < len(exs)/4 {
		t.Errorf("another seed changed only %d of %d replies", diffSeed, len(exs))
	}
	if diffSample < len(exs)/2 {
		t.Errorf("sampling at temperature 0.8 varied the reply on only %d of %d questions", diffSample, len(exs))
	}
}

func TestConcurrent(t *testing.T) {
	exs := examples(t, "arithmetic", 40, 0)
	m := sim.New(nil)
	c := call{model: "sim-large", peers: func(ex datasets.Example) []prompt.Peer {
		return []prompt.Peer{{Agent: "a2", Answer: ex.Answer, Confidence: 0.7}, {Agent: "a3", Answer: "1", Confidence: 0.9}}
	}}
	want := make([]string, len(exs))
	for i, ex := range exs {
		r, _ := sim.New(nil).Generate(context.Background(), c.request(ex))
		want[i] = r.Text
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i, ex := range exs {
				r, err := m.Generate(context.Background(), c.request(ex))
				if err != nil || r.Text != want[i] {
					t.Errorf("concurrent call %d = %q, %v; want %q", i, r.Text, err, want[i])
				}
			}
		})
	}
	wg.Wait()
}

func TestUnparseableQuestion(t *testing.T) {
	m := sim.New(nil)
	for _, msgs := range [][]lm.Message{
		prompt.Render(&prompt.Prompt{Role: "solver", Question: "What is the airspeed of an unladen swallow?"}),
		{{Role: lm.RoleUser, Content: "plain text, not the prompt format"}},
	} {
		a, c := reply(t, m, lm.Request{Model: "sim-large", Messages: msgs})
		if a != "unknown" || c > 0.55 {
			t.Errorf("unparseable question: answer %q confidence %.2f, want \"unknown\" with low confidence", a, c)
		}
	}
}

// TestNoSystemMessage: a bare user message (no set-up) is answered like
// an agent with no instruction.
func TestNoSystemMessage(t *testing.T) {
	m := sim.New(nil)
	exs := examples(t, "arithmetic", 200, 1)
	right := 0
	for _, ex := range exs {
		a, _ := reply(t, m, lm.Request{Model: "sim-large", Messages: []lm.Message{{Role: lm.RoleUser, Content: ex.Question}}})
		if a == ex.Answer {
			right++
		}
	}
	if right < 100 {
		t.Errorf("sim-large without a system message: %d of 200 easy questions right", right)
	}
}

func TestUsage(t *testing.T) {
	m := sim.New(nil)
	msgs := prompt.Render(&prompt.Prompt{Role: "solver", Instruction: refInstruction, Question: "What is 2+2?"})
	resp, err := m.Generate(context.Background(), lm.Request{Model: "sim-large", Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	n := len(msgs[0].Content) + len(msgs[1].Content)
	if want := lm.EstimateTokens(msgs[0].Content + msgs[1].Content); resp.Usage.PromptTokens != want {
		t.Errorf("prompt tokens = %d, want %d (%d bytes)", resp.Usage.PromptTokens, want, n)
	}
	if want := lm.EstimateTokens(resp.Text); resp.Usage.CompletionTokens != want {
		t.Errorf("completion tokens = %d, want %d", resp.Usage.CompletionTokens, want)
	}
	var large sim.Profile
	for _, p := range m.Profiles() {
		if p.Name == "sim-large" {
			large = p
		}
	}
	wantCost := (float64(resp.Usage.PromptTokens)*large.PromptPrice + float64(resp.Usage.CompletionTokens)*large.CompletionPrice) / 1e6
	if resp.Cost != wantCost || resp.Cost <= 0 {
		t.Errorf("cost = %g, want %g", resp.Cost, wantCost)
	}
	wantLat := large.Latency + time.Duration(resp.Usage.PromptTokens)*large.PromptTokenLatency +
		time.Duration(resp.Usage.CompletionTokens)*large.CompletionTokenLatency
	if resp.Latency != wantLat {
		t.Errorf("latency = %v, want %v", resp.Latency, wantLat)
	}

	short, _ := m.Generate(context.Background(), lm.Request{Model: "sim-large", Messages: msgs, MaxTokens: 3})
	if short.Usage.CompletionTokens != 3 || len(short.Text) > 12 || !strings.HasPrefix(resp.Text, short.Text) {
		t.Errorf("MaxTokens 3: reply %q with %d completion tokens, want a 3-token prefix of %q", short.Text, short.Usage.CompletionTokens, resp.Text)
	}
}

func TestSimulateLatency(t *testing.T) {
	slow := sim.Profile{Name: "sim-slow", BaseSkill: 1, Latency: 20 * time.Millisecond}
	m := sim.New(&sim.Options{SimulateLatency: true, Profiles: []sim.Profile{slow}})
	msgs := prompt.Render(&prompt.Prompt{Question: "What is 2+2?"})
	start := time.Now()
	if _, err := m.Generate(context.Background(), lm.Request{Model: "sim-slow", Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 20*time.Millisecond {
		t.Errorf("SimulateLatency: call took %v, want at least 20ms", el)
	}
	slow.Latency = time.Hour
	m = sim.New(&sim.Options{SimulateLatency: true, Profiles: []sim.Profile{slow}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := m.Generate(ctx, lm.Request{Model: "sim-slow", Messages: msgs})
	if !errors.Is(err, lm.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || !lm.Retryable(err) {
		t.Errorf("deadline during simulated latency: err = %v, want a retryable lm.ErrTimeout", err)
	}
}

func TestProfiles(t *testing.T) {
	custom := sim.Profile{Name: "sim-medium", Description: "replaced", BaseSkill: 5, PromptPrice: 1, CompletionPrice: 2}
	m := sim.New(&sim.Options{Profiles: []sim.Profile{custom, {Name: "sim-tiny", BaseSkill: -1}}})
	ps := m.Profiles()
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
		if p.Name == "sim-medium" && p.Description != "replaced" {
			t.Errorf("Options.Profiles did not replace sim-medium: %+v", p)
		}
	}
	if got := strings.Join(names, " "); got != "sim-adversary sim-large sim-medium sim-small sim-tiny" {
		t.Errorf("Profiles() names = %s", got)
	}
	ps[0].Skill["arithmetic"] = 100 // a copy: must not reach the model
	if again := m.Profiles(); again[0].Skill["arithmetic"] == 100 {
		t.Error("Profiles() returned the model's own Skill map")
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted a profile with Conformity 2")
		}
	}()
	sim.New(&sim.Options{Profiles: []sim.Profile{{Name: "bad", Conformity: 2}}})
}

func TestQuality(t *testing.T) {
	if q := sim.Quality("", 0.1, "arithmetic"); q != sim.QualityEmpty {
		t.Errorf("Quality(\"\") = %g, want QualityEmpty", q)
	}
	if a, b := sim.Quality("Solve it step by step.", 0.1, "arithmetic"), sim.Quality("  solve IT\n step by step ", 0.1, "arithmetic"); a != b {
		t.Errorf("Quality depends on case, space or trailing period: %g vs %g", a, b)
	}
	// A procedure helps larger models more; the task's own words help on
	// that task only; negation turns a cue around.
	const proc = "Work through it step by step."
	if s, l := sim.Quality(proc, -0.6, "logic"), sim.Quality(proc, 1.2, "logic"); s >= l {
		t.Errorf("a procedure helps sim-small (%.3f) at least as much as sim-large (%.3f)", s, l)
	}
	const facts = "Trace each fact back to its paragraph in the context."
	if mh, ar := sim.Quality(facts, 0.1, "multihop"), sim.Quality(facts, 0.1, "arithmetic"); mh <= ar+0.1 {
		t.Errorf("multihop vocabulary: %.3f on multihop vs %.3f on arithmetic", mh, ar)
	}
	if g, ng := sim.Quality("Guess.", 0.1, "logic"), sim.Quality("Do not guess.", 0.1, "logic"); g >= 0 || ng <= g+0.3 {
		t.Errorf("Quality(\"Guess.\") = %.3f, Quality(\"Do not guess.\") = %.3f", g, ng)
	}
	if c, nc := sim.Quality("Check your work.", 0.1, "logic"), sim.Quality("Do not check your work.", 0.1, "logic"); nc >= c || nc >= 0 {
		t.Errorf("Quality(check) = %.3f, Quality(do not check) = %.3f", c, nc)
	}
	if a, b := sim.Quality("Check each number.", 0.1, "arithmetic"), sim.Quality("Check check check each number number number.", 0.1, "arithmetic"); b >= a {
		t.Errorf("redundant text %.3f scores at least the plain one %.3f", b, a)
	}
}

// TestIdentity: the identity names the seed and the profiles, so two
// worlds never share cache keys.
func TestIdentity(t *testing.T) {
	a, b := sim.New(&sim.Options{Seed: 1}), sim.New(&sim.Options{Seed: 2})
	p := sim.DefaultProfiles()[0]
	p.ConfidenceBias += 0.1
	c := sim.New(&sim.Options{Seed: 1, Profiles: []sim.Profile{p}})
	if a.Identity() == b.Identity() || a.Identity() == c.Identity() || a.Identity() != sim.New(&sim.Options{Seed: 1}).Identity() {
		t.Errorf("identities: %q, %q, %q", a.Identity(), b.Identity(), c.Identity())
	}
}
