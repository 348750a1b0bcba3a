package team

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
)

// Agent is one member of a team. Act is called once per round (and once
// more for a judge); it must be safe for concurrent use, because one Team
// runs many examples at once.
type Agent interface {
	Act(ctx context.Context, in Input) (Output, error)
}

// AgentFunc adapts a plain Go function to the Agent interface.
type AgentFunc func(ctx context.Context, in Input) (Output, error)

// Act calls f.
func (f AgentFunc) Act(ctx context.Context, in Input) (Output, error) { return f(ctx, in) }

// Input is what an agent sees in one call. It never holds the gold answer
// of the example.
type Input struct {
	// ExampleID is the example's datasets.Example.ID.
	ExampleID string
	// Question is the example's question with its context, the text shown
	// to agents (datasets.Example.Question).
	Question string
	// Round is 0 for the first answer, 1..Rounds for the debate rounds, and
	// Rounds+1 for the judge's call.
	Round int
	// Previous is the agent's own answer from the previous round (its Agent
	// is the agent's id); nil in round 0, for the judge, and when the agent
	// abstained. It points to memory reused after Act returns: copy the
	// Peer to keep it.
	Previous *prompt.Peer
	// Peers are the in-neighbours' answers from the previous round (every
	// other agent's final answer for the judge); nil in round 0. The slice
	// is reused after Act returns: copy it to keep it.
	Peers []prompt.Peer
	// Sample is Options.Sample, to pass on as lm.Request.Sample.
	Sample int

	// msgs is a two-message slot of the run's message arena, and user the
	// rendered user message, both for the built-in lm agent; zero outside
	// Run.
	msgs []lm.Message
	user string
}

// Output is an agent's reply to one call.
type Output struct {
	// Text is the raw reply. If Answer is empty and Text is not, Run parses
	// Text with prompt.ParseAnswer.
	Text string
	// Answer is the final answer; "" abstains from the vote.
	Answer string
	// Confidence is the agent's confidence in Answer, in [0, 1].
	Confidence float64
	Usage      lm.Usage
	Cost       float64 // US dollars, nominal (lm.Response.Cost)
	// Cached reports that the reply came from a cache: nothing was billed.
	Cached  bool
	Latency time.Duration
	// Unparsed reports that Text did not follow the answer format
	// (prompt.ReadAnswer): a model that ignores it. Run sets it when it
	// parses Text itself.
	Unparsed bool
	// Retries counts the model's failed attempts before this reply
	// (lm.Response.Retries).
	Retries int
	// Messages are the chat messages sent to the model, for the trace; nil
	// for agents that do not call a model.
	Messages []lm.Message
}

// lmAgent is the built-in KindLM agent.
type lmAgent struct {
	model       lm.Model
	name        string // model name
	temperature float64
	maxTokens   int
	system      string // rendered once by newLMAgent
	// without maps a demo's question to the system message without the
	// demos of that question: an agent is never shown a demo of the
	// question it is answering. Nil without demos.
	without map[string]string
}

var _ Agent = (*lmAgent)(nil)

func newLMAgent(s AgentSpec, model lm.Model) (Agent, error) {
	if model == nil {
		return nil, errors.New("kind lm needs a model, but the team's lm.Model is nil")
	}
	if s.Model == "" {
		return nil, errors.New("field Model is empty; kind lm needs a model name such as \"sim-medium\"")
	}
	role := s.Role
	if role == "" {
		role = RoleSolver
	}
	instr := s.Instruction
	if instr == "" {
		r, err := LookupRole(role)
		if err != nil {
			return nil, err
		}
		instr = r.DefaultInstruction
	}
	p := prompt.Prompt{Task: prompt.TaskAnswer, Agent: s.ID, Role: role, Instruction: instr, Rules: s.Rules, Demos: s.Demos}
	a := &lmAgent{model: model, name: s.Model, temperature: s.Temperature, maxTokens: s.MaxTokens, system: prompt.RenderSystem(&p)}
	for _, d := range s.Demos {
		if _, done := a.without[d.Question]; done {
			continue
		}
		if a.without == nil {
			a.without = make(map[string]string, len(s.Demos))
		}
		q := p
		q.Demos = slices.DeleteFunc(slices.Clone(s.Demos), func(x prompt.Demo) bool { return x.Question == d.Question })
		a.without[d.Question] = prompt.RenderSystem(&q)
	}
	return a, nil
}

// Act renders the user message, calls the model and parses the reply.
func (a *lmAgent) Act(ctx context.Context, in Input) (Output, error) {
	user := in.user
	if user == "" {
		user = prompt.RenderUser(&prompt.Prompt{Question: in.Question, Previous: in.Previous, Peers: in.Peers})
	}
	msgs := in.msgs
	if len(msgs) < 2 {
		msgs = make([]lm.Message, 2)
	}
	msgs = msgs[:2:2]
	sys := a.system
	if a.without != nil {
		if alt, ok := a.without[in.Question]; ok {
			sys = alt
		}
	}
	msgs[0] = lm.Message{Role: lm.RoleSystem, Content: sys}
	msgs[1] = lm.Message{Role: lm.RoleUser, Content: user}
	resp, err := a.model.Generate(ctx, lm.Request{
		Model: a.name, Messages: msgs, Temperature: a.temperature, MaxTokens: a.maxTokens, Sample: in.Sample,
	})
	if err != nil {
		return Output{Messages: msgs}, err
	}
	ans, conf, formatted := prompt.ReadAnswer(resp.Text)
	if ans == "" {
		conf = 0
	}
	return Output{Text: resp.Text, Answer: ans, Confidence: conf, Usage: resp.Usage, Cost: resp.Cost, Cached: resp.Cached,
		Latency: resp.Latency, Messages: msgs, Unparsed: !formatted, Retries: resp.Retries}, nil
}
