package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
)

// Options configures a Model. The zero value (and nil) is the default: seed
// 0, the built-in profiles, no sleeping.
type Options struct {
	// Seed selects one of many equally plausible simulated worlds: the same
	// request gives the same reply under the same seed.
	Seed uint64
	// Profiles are added to the built-in ones; a profile with a built-in
	// name replaces it. New panics on an invalid profile (empty name,
	// negative price or latency, Conformity outside [0, 1]).
	Profiles []Profile
	// SimulateLatency makes Generate sleep for the simulated latency,
	// returning early with an error if ctx ends first. By default it
	// returns at once and only reports the latency.
	SimulateLatency bool
}

// Cache bounds: entries are dropped all at once past these sizes.
const (
	maxSystemEntries   = 1 << 14
	maxQuestionEntries = 1 << 16
)

// Model is the surrogate language model. It is safe for concurrent use.
type Model struct {
	seed     uint64
	sleep    bool
	profiles map[string]*profile // read-only after New
	byIndex  []*profile          // profiles sorted by name; profile.index is the position

	systems   cache[*sysInfo]  // system message text → parsed and scored
	questions cache[*question] // question text → solution
}

var _ lm.Model = (*Model)(nil)

// New returns a surrogate model; opts may be nil.
func New(opts *Options) *Model {
	if opts == nil {
		opts = &Options{}
	}
	m := &Model{seed: opts.Seed, sleep: opts.SimulateLatency, profiles: map[string]*profile{}}
	m.systems.max = maxSystemEntries
	m.questions.max = maxQuestionEntries
	for _, ps := range [][]Profile{DefaultProfiles(), opts.Profiles} {
		for _, p := range ps {
			if err := p.validate(); err != nil {
				panic(err)
			}
			pr := &profile{Profile: p.clone(), hash: hashString(p.Name, k1)}
			pr.conformityLogit = logit(p.Conformity)
			pr.proposals = 1 + int(math.Round(max(0, 1.5*(p.BaseSkill+0.7))))
			m.profiles[p.Name] = pr
		}
	}
	for _, n := range m.Names() {
		m.profiles[n].index = len(m.byIndex)
		m.byIndex = append(m.byIndex, m.profiles[n])
	}
	return m
}

// Profiles returns the profiles the model serves, sorted by name.
func (m *Model) Profiles() []Profile {
	out := make([]Profile, 0, len(m.profiles))
	for _, p := range m.profiles {
		out = append(out, p.clone())
	}
	slices.SortFunc(out, func(a, b Profile) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Names returns the model names the model serves, sorted.
func (m *Model) Names() []string {
	out := make([]string, 0, len(m.profiles))
	for n := range m.profiles {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// sysInfo is what the model reads off a system message once.
type sysInfo struct {
	hash   uint64
	task   prompt.Task
	role   string
	instrQ float64 // Quality of the instruction
	rules  float64 // rulesEffect of the rules
	// demos by family of the demo's question; offTopic counts demos whose
	// question the model cannot parse.
	demos    []demoStats
	offTopic int
	nDemos   int
	copies   []demoCopy
}

// demoCopy lets the model copy a demo's answer when asked its question.
type demoCopy struct {
	qhash   uint64
	answer  string
	ansHash uint64
}

// demoEffect is the competence change from the demos on a question of family.
func (s *sysInfo) demoEffect(family string) float64 {
	eff, off := 0.0, s.offTopic
	for i := range s.demos {
		if s.demos[i].family == family {
			eff += s.demos[i].effect
		} else {
			off += s.demos[i].count
		}
	}
	return eff - min(demoOffTopic*float64(off), demoOffTopicMax)
}

var noSystem = &sysInfo{task: prompt.TaskAnswer, role: roleSolver, instrQ: QualityEmpty}

// system returns what the model reads off a system message, parsing and
// scoring it on first sight.
func (m *Model) system(content string) *sysInfo {
	if s, ok := m.systems.get(content); ok {
		return s
	}
	var p prompt.Prompt
	if err := prompt.ParseSystem(content, &p); err != nil {
		// Not our format: a real model would read it all as an instruction.
		p = prompt.Prompt{Instruction: content}
	}
	s := &sysInfo{hash: hashString(content, k2), task: p.Task, role: p.Role}
	if s.task == "" {
		s.task = prompt.TaskAnswer
	}
	if s.role == "" {
		s.role = roleSolver
	}
	s.instrQ = Quality(p.Instruction)
	s.rules = rulesEffect(p.Rules)
	s.nDemos = len(p.Demos)
	for _, d := range p.Demos {
		q := m.question(d.Question)
		s.copies = append(s.copies, demoCopy{qhash: q.hash, answer: strings.Clone(d.Answer), ansHash: normHash(d.Answer)})
		if !q.ok {
			s.offTopic++
			continue
		}
		i := slices.IndexFunc(s.demos, func(st demoStats) bool { return st.family == q.Family })
		if i < 0 {
			s.demos = append(s.demos, demoStats{family: q.Family})
			i = len(s.demos) - 1
		}
		st := &s.demos[i]
		st.count++
		if q.ansHash == normHash(d.Answer) {
			st.useful += demoUse(q.hash)
		} else {
			st.wrong++
		}
	}
	for i := range s.demos {
		s.demos[i].finish()
	}
	return m.systems.put(strings.Clone(content), s)
}

// question returns what the model knows about a question text, solving it
// on first sight.
func (m *Model) question(text string) *question {
	if q, ok := m.questions.get(text); ok {
		return q
	}
	// Solve a copy: the solution may hold substrings of its input, and the
	// text itself may be cut from a larger message the cache must not pin.
	text = strings.Clone(text)
	q := &question{hash: hashString(text, k3)}
	q.Solution, q.ok = datasets.Solve(text)
	q.ansHash = normHash(q.Answer)
	if !q.ok {
		q.Solution = datasets.Solution{}
		q.ansHash = 0
	}
	for _, d := range q.Distractors {
		if h := normHash(d); h != q.ansHash && h != 0 && len(q.wrong) < zipfMax {
			q.wrong = append(q.wrong, d)
		}
	}
	if len(q.wrong) == 0 {
		q.wrong = []string{unknownAnswer}
	}
	total := 0.0
	for i := range q.wrong {
		total += 1 / float64((i+1)*(i+1))
		q.wrongHash = append(q.wrongHash, normHash(q.wrong[i]))
	}
	acc := 0.0
	for i := range q.wrong {
		acc += 1 / float64((i+1)*(i+1))
		q.wrongCum = append(q.wrongCum, acc/total)
	}
	q.wrongCum[len(q.wrongCum)-1] = 1
	q.draw = wQuestion * logistic(mix(m.seed^saltQuestion, q.hash))
	q.modelDraws = make([]float64, len(m.byIndex))
	for i, pr := range m.byIndex {
		q.modelDraws[i] = wModel * logistic(mix(m.seed^pr.hash^saltModel, q.hash))
	}
	return m.questions.put(text, q)
}

// Generate answers one request. The reply is a pure function of the
// model's seed, req.Model, the messages' roles and contents, the
// temperature, req.MaxTokens and, when the temperature is above 0,
// req.Sample.
func (m *Model) Generate(ctx context.Context, req lm.Request) (lm.Response, error) {
	if err := req.Validate(); err != nil {
		return lm.Response{}, err
	}
	if err := ctx.Err(); err != nil {
		return lm.Response{}, ctxError(req.Model, err)
	}
	pr := m.profiles[req.Model]
	if pr == nil {
		return lm.Response{}, &lm.Error{Kind: lm.ErrUnknownModel, Model: req.Model,
			Err: fmt.Errorf("sim has no profile %q (known: %s)", req.Model, strings.Join(m.Names(), ", "))}
	}

	// The first system message is the agent's set-up and the last user
	// message the call; anything else only enters the draws' hash.
	sys := noSystem
	user := ""
	var extra uint64
	nbytes, nsys, nuser := 0, 0, 0
	for i := range req.Messages {
		msg := &req.Messages[i]
		nbytes += len(msg.Content)
		switch {
		case msg.Role == lm.RoleSystem && nsys == 0:
			sys = m.system(msg.Content)
			nsys++
		case msg.Role == lm.RoleUser:
			if nuser > 0 {
				extra = mix(extra, hashString(user, k1))
			}
			user = msg.Content
			nuser++
		default:
			extra = mix(extra, hashString(msg.Role, k0)^hashString(msg.Content, k1))
		}
	}

	var text string
	switch sys.task {
	case prompt.TaskProposeInstruction, prompt.TaskAdvise:
		text = m.propose(pr, sys, user, extra, &req)
	default:
		text = m.answer(pr, sys, user, extra, &req)
	}

	completion := lm.EstimateTokens(text)
	if req.MaxTokens > 0 && completion > req.MaxTokens {
		text = text[:min(len(text), 4*req.MaxTokens)]
		completion = req.MaxTokens
	}
	usage := lm.Usage{PromptTokens: (nbytes + 3) / 4, CompletionTokens: completion}
	resp := lm.Response{
		Text:  text,
		Usage: usage,
		Cost:  (float64(usage.PromptTokens)*pr.PromptPrice + float64(usage.CompletionTokens)*pr.CompletionPrice) / 1e6,
		Latency: pr.Latency + time.Duration(usage.PromptTokens)*pr.PromptTokenLatency +
			time.Duration(usage.CompletionTokens)*pr.CompletionTokenLatency,
	}
	if m.sleep && resp.Latency > 0 {
		t := time.NewTimer(resp.Latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return lm.Response{}, ctxError(req.Model, ctx.Err())
		case <-t.C:
		}
	}
	return resp, nil
}

// ctxError reports a call cut short by its context: a deadline is an
// lm.ErrTimeout (retryable); a cancellation is returned as is.
func ctxError(model string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &lm.Error{Kind: lm.ErrTimeout, Model: model, Err: err}
	}
	return err
}
