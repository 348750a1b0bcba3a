package sim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

// builtinIdentity is the identity of the built-in profiles as it was
// before Profile had Hardness and Verbosity: profiles that leave them
// zero keep it, so cached replies stay valid.
const builtinIdentity = "sim/v2 seed=9 profiles=9d2059ff4a58f3ea"

// fieldRequests is a mix of calls: every family and difficulty, set-ups
// of the variants, debate rounds with peers and a previous answer, a
// judge, proposals and advice.
func fieldRequests(t *testing.T) []lm.Request {
	var reqs []lm.Request
	for _, fam := range families {
		f, err := datasets.Lookup(fam)
		if err != nil {
			t.Fatal(err)
		}
		for i, ex := range f.Generate(90, 31, 0) {
			v := variants[i%len(variants)]
			c := v.c(fam, nil)
			c.model = []string{"sim-small", "sim-medium", "sim-large", "sim-adversary"}[i%4]
			if i%3 == 0 {
				c.role = []string{"solver", "critic", "judge"}[i/3%3]
				c.peers = func(ex datasets.Example) []prompt.Peer {
					return []prompt.Peer{{Agent: "a2", Answer: ex.Answer, Confidence: 0.6}, {Agent: "a3", Answer: "7", Confidence: 0.9}}
				}
			}
			req := c.request(ex)
			req.MaxTokens = v.maxTokens
			reqs = append(reqs, req)
			if i%10 == 0 {
				p := prompt.Prompt{Agent: "a1", Role: "solver", Question: ex.Question, Previous: &prompt.Peer{Answer: "12", Confidence: 0.7}}
				reqs = append(reqs, lm.Request{Model: "sim-medium", Messages: prompt.Render(&p), Temperature: 0.7, Sample: i})
				p = prompt.Prompt{Task: prompt.TaskProposeInstruction, Role: "solver", Question: ex.Question,
					Demos: []prompt.Demo{{Question: ex.Question, Answer: ex.Answer}}}
				reqs = append(reqs, lm.Request{Model: "sim-large", Messages: prompt.Render(&p), Temperature: 1})
				p = prompt.Prompt{Task: prompt.TaskAdvise, Question: ex.Question, Gold: ex.Answer, Better: "Answer: " + ex.Answer, Worse: "Answer: 1"}
				reqs = append(reqs, lm.Request{Model: "sim-medium", Messages: prompt.Render(&p)})
			}
		}
	}
	return reqs
}

func withFields(hardness func() map[string]float64, verbosity float64) []sim.Profile {
	ps := sim.DefaultProfiles()
	for i := range ps {
		ps[i].Hardness, ps[i].Verbosity = hardness(), verbosity
	}
	return ps
}

// TestNewFieldsZero: Hardness and Verbosity left zero (or empty), or set
// to what zero stands for (DefaultHardness on every family, verbosity 1),
// change no reply, and zero keeps the identity the built-in profiles had;
// other values do change the replies, each in its own way.
func TestNewFieldsZero(t *testing.T) {
	reqs := fieldRequests(t)
	ref := sim.New(&sim.Options{Seed: 9})
	if ref.Identity() != builtinIdentity {
		t.Errorf("built-in identity %q, was %q", ref.Identity(), builtinIdentity)
	}
	same := map[string]*sim.Model{
		"zero":  sim.New(&sim.Options{Seed: 9, Profiles: withFields(func() map[string]float64 { return nil }, 0)}),
		"empty": sim.New(&sim.Options{Seed: 9, Profiles: withFields(func() map[string]float64 { return map[string]float64{} }, 0)}),
		"explicit": sim.New(&sim.Options{Seed: 9, Profiles: withFields(func() map[string]float64 {
			return map[string]float64{"arithmetic": sim.DefaultHardness, "multihop": sim.DefaultHardness, "logic": sim.DefaultHardness}
		}, 1)}),
	}
	if id := same["zero"].Identity(); id != builtinIdentity || same["empty"].Identity() != builtinIdentity {
		t.Errorf("zero-valued new fields changed the identity: %q, %q", id, same["empty"].Identity())
	}
	flat := sim.New(&sim.Options{Seed: 9, Profiles: withFields(func() map[string]float64 {
		return map[string]float64{"arithmetic": 0, "multihop": 0, "logic": 0}
	}, 0)})
	wordy := sim.New(&sim.Options{Seed: 9, Profiles: withFields(func() map[string]float64 { return nil }, 2)})
	if flat.Identity() == builtinIdentity || wordy.Identity() == builtinIdentity {
		t.Error("set new fields left the identity unchanged")
	}
	gen := func(m *sim.Model, req lm.Request) lm.Response {
		resp, err := m.Generate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var refTokens, wordyTokens, flatChanged, wordyAnswers, answers int
	var hardRef, hardFlat int
	for _, req := range reqs {
		want := gen(ref, req)
		for name, m := range same {
			if got := gen(m, req); got != want {
				t.Fatalf("%s new fields changed a reply:\n got %+v\nwant %+v", name, got, want)
			}
		}
		if strings.Contains(want.Text, "Instruction:") || strings.Contains(want.Text, "Rule:") {
			if gen(wordy, req) != want || gen(flat, req) != want {
				t.Errorf("new fields changed a proposal: %q", want.Text)
			}
			continue
		}
		answers++
		w := gen(wordy, req)
		refTokens += want.Usage.CompletionTokens
		wordyTokens += w.Usage.CompletionTokens
		ra, _, _ := prompt.ParseAnswer(want.Text)
		wa, _, _ := prompt.ParseAnswer(w.Text)
		if wa == ra {
			wordyAnswers++
		}
		fa, _, _ := prompt.ParseAnswer(gen(flat, req).Text)
		if fa != ra {
			flatChanged++
		}
		if e, ok := ref.Explain(req); ok && e.Hardness > 2 && !e.Truncated {
			s, _ := datasets.Solve(lastQuestion(req))
			hardRef += int(b2f(ra == s.Answer))
			hardFlat += int(b2f(fa == s.Answer))
		}
	}
	t.Logf("%d answer calls: verbosity 2 has %.2f× the completion tokens (and %d answers cut by max_tokens); slope 0 changes %d answers, right on hard questions %d vs %d",
		answers, float64(wordyTokens)/float64(refTokens), answers-wordyAnswers, flatChanged, hardFlat, hardRef)
	if float64(wordyTokens) < 1.5*float64(refTokens) {
		t.Errorf("verbosity 2: %d completion tokens vs %d", wordyTokens, refTokens)
	}
	if flatChanged == 0 || hardFlat <= hardRef {
		t.Errorf("hardness slope 0: %d answers changed, hard questions right %d vs %d", flatChanged, hardFlat, hardRef)
	}
}

func lastQuestion(req lm.Request) string {
	var p prompt.Prompt
	_ = prompt.ParseUser(req.Messages[len(req.Messages)-1].Content, &p)
	return p.Question
}
