package sim

import (
	"fmt"
	"maps"
	"time"
)

// Profile describes one simulated model: how good it is per task family,
// what it costs, how fast it is and how it behaves among peers.
type Profile struct {
	// Name is the model name requests use, e.g. "sim-medium". Required.
	Name string
	// Description is one line for docs and `datasets list`-style listings.
	Description string
	// Skill is the competence logit per task family (datasets family name)
	// at medium hardness with a neutral prompt; families missing here use
	// BaseSkill. Roughly, sigmoid(skill) is the single-call accuracy.
	Skill map[string]float64
	// BaseSkill is the competence logit on families missing from Skill and
	// also sets how good the model's proposals (instructions, rules) are.
	BaseSkill float64
	// PromptPrice and CompletionPrice are US dollars per million prompt and
	// completion tokens; zero means free.
	PromptPrice, CompletionPrice float64
	// Latency is the fixed time of a call (time to first token);
	// PromptTokenLatency and CompletionTokenLatency are added per token.
	Latency, PromptTokenLatency, CompletionTokenLatency time.Duration
	// Conformity in [0, 1] is how readily the model adopts its peers'
	// plurality answer: 0 never moves, 1 moves whenever it is unsure.
	Conformity float64
	// ConfidenceBias shifts the logit of the stated confidence: above 0 the
	// model is overconfident, below 0 underconfident; 0 is calibrated-ish.
	ConfidenceBias float64
}

// Family names the built-in profiles know; other families use BaseSkill.
const (
	famArithmetic = "arithmetic"
	famMultihop   = "multihop"
	famLogic      = "logic"
)

// DefaultProfiles returns the built-in profiles, sorted by name. Prices
// resemble real small, medium and large hosted models (USD per million
// tokens); skills are calibrated so that, with the reference instruction,
// a sim-medium solver is right about 60% of the time on medium arithmetic
// (see the calibration table in the package documentation).
func DefaultProfiles() []Profile {
	return []Profile{
		{
			Name:        "sim-adversary",
			Description: "confidently wrong: mostly wrong, very sure of itself, ignores its peers",
			Skill:       map[string]float64{famArithmetic: -2.8, famMultihop: -2.8, famLogic: -2.8},
			BaseSkill:   -2.8,
			PromptPrice: 0.5, CompletionPrice: 1.5,
			Latency: 250 * time.Millisecond, PromptTokenLatency: 20 * time.Microsecond, CompletionTokenLatency: 8 * time.Millisecond,
			Conformity:     0.02,
			ConfidenceBias: 4.5,
		},
		{
			Name:        "sim-large",
			Description: "large model: strong on every family, expensive and slow",
			Skill:       map[string]float64{famArithmetic: 1.1, famMultihop: 1.4, famLogic: 1.2},
			BaseSkill:   1.2,
			PromptPrice: 3, CompletionPrice: 15,
			Latency: 400 * time.Millisecond, PromptTokenLatency: 40 * time.Microsecond, CompletionTokenLatency: 15 * time.Millisecond,
			Conformity:     0.35,
			ConfidenceBias: -0.1,
		},
		{
			Name:        "sim-medium",
			Description: "medium model: right a bit more often than not on medium problems",
			Skill:       map[string]float64{famArithmetic: 0.18, famMultihop: 0.2, famLogic: 0.0},
			BaseSkill:   0.1,
			PromptPrice: 0.5, CompletionPrice: 1.5,
			Latency: 250 * time.Millisecond, PromptTokenLatency: 20 * time.Microsecond, CompletionTokenLatency: 8 * time.Millisecond,
			Conformity:     0.5,
			ConfidenceBias: 0,
		},
		{
			Name:        "sim-small",
			Description: "small model: cheap and fast, weak at multi-step reasoning, follows the crowd",
			Skill:       map[string]float64{famArithmetic: -0.8, famMultihop: -0.8, famLogic: -0.8},
			BaseSkill:   -0.6,
			PromptPrice: 0.15, CompletionPrice: 0.6,
			Latency: 150 * time.Millisecond, PromptTokenLatency: 10 * time.Microsecond, CompletionTokenLatency: 4 * time.Millisecond,
			Conformity:     0.7,
			ConfidenceBias: 0.3,
		},
	}
}

// validate reports what is wrong with p; New panics on it, since profiles
// are written by the programmer.
func (p *Profile) validate() error {
	switch {
	case p.Name == "":
		return fmt.Errorf("sim: profile has an empty Name")
	case p.PromptPrice < 0 || p.CompletionPrice < 0:
		return fmt.Errorf("sim: profile %q: negative price (PromptPrice %g, CompletionPrice %g)", p.Name, p.PromptPrice, p.CompletionPrice)
	case p.Latency < 0 || p.PromptTokenLatency < 0 || p.CompletionTokenLatency < 0:
		return fmt.Errorf("sim: profile %q: negative latency", p.Name)
	case p.Conformity < 0 || p.Conformity > 1:
		return fmt.Errorf("sim: profile %q: Conformity %g outside [0, 1]", p.Name, p.Conformity)
	}
	return nil
}

func (p Profile) clone() Profile {
	p.Skill = maps.Clone(p.Skill)
	return p
}

// profile is a Profile prepared for fast calls.
type profile struct {
	Profile
	index           int     // position in Model.byIndex
	hash            uint64  // of the name, mixed into every draw
	conformityLogit float64 // logit(Conformity)
	proposals       int     // candidates a proposal is the best of, before grounding
}

func (p *profile) skill(family string) float64 {
	if s, ok := p.Skill[family]; ok {
		return s
	}
	return p.BaseSkill
}

// Roles the model treats specially; any other role answers as a solver.
const (
	roleSolver  = "solver"
	roleCritic  = "critic"
	roleJudge   = "judge"
	rolePlanner = "planner"
)

// roleFit is the competence bonus of role on family: planning pays off on
// multi-step and multi-hop problems, checking is easier than solving.
func roleFit(role, family string) float64 {
	switch role {
	case rolePlanner:
		switch family {
		case famArithmetic:
			return 0.15
		case famMultihop:
			return 0.35
		case famLogic:
			return -0.1
		}
		return 0.05
	case roleCritic:
		switch family {
		case famArithmetic, famLogic:
			return 0.1
		}
		return 0.05
	case roleJudge:
		switch family {
		case famMultihop:
			return 0.35
		}
		return 0.2
	}
	return 0
}
