package sim

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

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
	// negative price or latency, Conformity outside [0, 1], Verbosity
	// negative, Hardness or Verbosity not finite).
	Profiles []Profile
	// SimulateLatency makes Generate sleep for the simulated latency,
	// returning early with an error if ctx ends first. By default it
	// returns at once and only reports the latency.
	SimulateLatency bool
	// Delay makes every Generate sleep this long besides, the stand-in
	// for a real model's network time in benchmarks of parallel and
	// distributed runs; it changes no reply and no reported latency.
	Delay time.Duration
}

// Cache bounds: entries are dropped all at once past these sizes.
const (
	maxSystemEntries   = 1 << 14
	maxQuestionEntries = 1 << 16
)

// Model is the surrogate language model. It is safe for concurrent use.
type Model struct {
	seed     uint64
	identity string // Identity, fixed by New
	sleep    bool
	delay    time.Duration
	profiles map[string]*profile // read-only after New
	byIndex  []*profile          // profiles sorted by name; profile.index is the position

	systems   cache[*sysInfo]  // system message text → parsed and scored
	questions cache[*question] // question text → solution
}

var (
	_ lm.Model      = (*Model)(nil)
	_ lm.Identifier = (*Model)(nil)
	_ lm.Lister     = (*Model)(nil)
)

// New returns a surrogate model; opts may be nil.
func New(opts *Options) *Model {
	if opts == nil {
		opts = &Options{}
	}
	m := &Model{seed: opts.Seed, sleep: opts.SimulateLatency, delay: opts.Delay, profiles: map[string]*profile{}}
	m.systems.max = maxSystemEntries
	m.questions.max = maxQuestionEntries
	for _, ps := range [][]Profile{DefaultProfiles(), opts.Profiles} {
		for _, p := range ps {
			if err := p.validate(); err != nil {
				panic(err)
			}
			pr := &profile{Profile: p.clone(), hash: hashString(p.Name, k1), size: sizeFactor(p.BaseSkill), verbosity: 1}
			if p.Verbosity != 0 {
				pr.verbosity = p.Verbosity
			}
			pr.proposals = 1 + int(math.Round(max(0, 1.5*(p.BaseSkill+0.7))))
			m.profiles[p.Name] = pr
		}
	}
	for _, n := range m.Names() {
		m.profiles[n].index = len(m.byIndex)
		m.byIndex = append(m.byIndex, m.profiles[n])
	}
	m.prepareProfiles()
	sum := sha256.Sum256(profilesKey(m.Profiles()))
	m.identity = fmt.Sprintf("sim/v%s seed=%d profiles=%x", Version, m.seed, sum[:8])
	return m
}

// profilesKey is the text Identity hashes the profiles by: the fields
// Profile had before Hardness and Verbosity, printed as they were, then
// those two for the profiles that set them, so that profiles leaving them
// zero keep the identity (and the cached replies) they had.
func profilesKey(ps []Profile) []byte {
	type v2 struct { // Profile's fields before Hardness and Verbosity, in order
		Name                                                string
		Description                                         string
		Skill                                               map[string]float64
		BaseSkill                                           float64
		PromptPrice, CompletionPrice                        float64
		Latency, PromptTokenLatency, CompletionTokenLatency time.Duration
		Conformity                                          float64
		ConfidenceBias                                      float64
	}
	old := make([]v2, len(ps))
	for i, p := range ps {
		old[i] = v2{p.Name, p.Description, p.Skill, p.BaseSkill, p.PromptPrice, p.CompletionPrice,
			p.Latency, p.PromptTokenLatency, p.CompletionTokenLatency, p.Conformity, p.ConfidenceBias}
	}
	b := fmt.Appendf(nil, "%+v", old)
	for _, p := range ps {
		if len(p.Hardness) > 0 || p.Verbosity != 0 {
			b = fmt.Appendf(b, "\n%q Hardness:%v Verbosity:%v", p.Name, p.Hardness, p.Verbosity)
		}
	}
	return b
}

// Version names the surrogate's mechanism. It is part of Identity, so a
// response cached from an older surrogate is never served by a newer one;
// it changes whenever a reply to some request may change.
const Version = "2"

// Identity implements lm.Identifier: the backend, its version, its seed and
// a hash of its profiles, which together fix every reply.
func (m *Model) Identity() string { return m.identity }

// Profiles returns the profiles the model serves, sorted by name.
func (m *Model) Profiles() []Profile {
	out := make([]Profile, 0, len(m.profiles))
	for _, p := range m.profiles {
		out = append(out, p.clone())
	}
	slices.SortFunc(out, func(a, b Profile) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Names returns the model names the model serves, sorted (lm.Lister: a
// caller can refuse any other name before a call).
func (m *Model) Names() []string {
	out := make([]string, 0, len(m.profiles))
	for n := range m.profiles {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
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

	sys, user, nbytes := m.read(&req)
	var text string
	switch sys.task {
	case prompt.TaskProposeInstruction, prompt.TaskAdvise:
		text = m.propose(pr, sys, user, &req)
	default:
		text = m.answer(pr, sys, user, &req)
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
		Cost:  lm.Price{Prompt: pr.PromptPrice, Completion: pr.CompletionPrice}.Cost(usage),
		Latency: pr.Latency + time.Duration(usage.PromptTokens)*pr.PromptTokenLatency +
			time.Duration(usage.CompletionTokens)*pr.CompletionTokenLatency,
	}
	wait := m.delay
	if m.sleep {
		wait += resp.Latency
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return lm.Response{}, ctxError(req.Model, ctx.Err())
		case <-t.C:
		}
	}
	return resp, nil
}

// read returns what the call's messages say: the first system message
// is the agent's set-up and the last user message the call; a real chat
// model would read the others too, but the team never sends them. nbytes
// is the length of all the messages.
func (m *Model) read(req *lm.Request) (sys *sysInfo, user string, nbytes int) {
	nsys := 0
	for i := range req.Messages {
		msg := &req.Messages[i]
		nbytes += len(msg.Content)
		switch {
		case msg.Role == lm.RoleSystem && nsys == 0:
			sys = m.system(msg.Content)
			nsys++
		case msg.Role == lm.RoleUser:
			user = msg.Content
		}
	}
	if sys == nil {
		sys = m.system("") // no set-up: an agent with no instruction
	}
	return sys, user, nbytes
}

// ctxError reports a call cut short by its context: a deadline is an
// lm.ErrTimeout (retryable); a cancellation is returned as is.
func ctxError(model string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &lm.Error{Kind: lm.ErrTimeout, Model: model, Err: err}
	}
	return err
}
