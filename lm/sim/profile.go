package sim

import (
	"fmt"
	"maps"
	"math"
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
	// of a solver with ReferenceInstruction, at medium hardness and
	// temperature 0; families missing here use BaseSkill. Roughly,
	// sigmoid(skill) is the single-call accuracy.
	Skill map[string]float64
	// BaseSkill is the competence logit on families missing from Skill. It
	// also orders the models by size: it sets how much a procedure in the
	// instruction helps (more for larger models), how good the model's
	// proposals are, and which model is "the next larger" whose reference
	// competence bounds this one's prompt gains.
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
	// Hardness is the competence logit lost per unit of hardness above
	// HardnessCentre, per task family; families missing here (and a nil
	// map) lose DefaultHardness.
	Hardness map[string]float64
	// Verbosity multiplies the reasoning an answer writes before its
	// answer line, most of its completion tokens; 0 means 1.
	Verbosity float64
}

// The hardness term of the competence logit: Skill −
// Hardness[family]·(hardness − HardnessCentre), hardness being
// datasets.Solution.Hardness (1 easy .. 3 hard).
const (
	DefaultHardness = 0.9
	HardnessCentre  = 2
)

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
			Skill:       map[string]float64{famArithmetic: -2.7, famMultihop: -2.7, famLogic: -2.7},
			BaseSkill:   -2.8,
			PromptPrice: 0.5, CompletionPrice: 1.5,
			Latency: 250 * time.Millisecond, PromptTokenLatency: 20 * time.Microsecond, CompletionTokenLatency: 8 * time.Millisecond,
			Conformity:     0.02,
			ConfidenceBias: 2.4,
		},
		{
			Name:        "sim-large",
			Description: "large model: strong on every family, expensive and slow",
			Skill:       map[string]float64{famArithmetic: 1.2, famMultihop: 1.5, famLogic: 1.3},
			BaseSkill:   1.2,
			PromptPrice: 3, CompletionPrice: 15,
			Latency: 400 * time.Millisecond, PromptTokenLatency: 40 * time.Microsecond, CompletionTokenLatency: 15 * time.Millisecond,
			Conformity:     0.35,
			ConfidenceBias: -0.1,
		},
		{
			Name:        "sim-medium",
			Description: "medium model: right a bit more often than not on medium problems",
			Skill:       map[string]float64{famArithmetic: 0.28, famMultihop: 0.3, famLogic: 0.1},
			BaseSkill:   0.1,
			PromptPrice: 0.5, CompletionPrice: 1.5,
			Latency: 250 * time.Millisecond, PromptTokenLatency: 20 * time.Microsecond, CompletionTokenLatency: 8 * time.Millisecond,
			Conformity:     0.5,
			ConfidenceBias: 0,
		},
		{
			Name:        "sim-small",
			Description: "small model: cheap and fast, weak at multi-step reasoning, follows the crowd",
			Skill:       map[string]float64{famArithmetic: -0.7, famMultihop: -0.7, famLogic: -0.7},
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
	case p.Verbosity < 0 || math.IsNaN(p.Verbosity) || math.IsInf(p.Verbosity, 0):
		return fmt.Errorf("sim: profile %q: Verbosity %g is negative or not finite", p.Name, p.Verbosity)
	}
	for fam, v := range p.Hardness {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("sim: profile %q: Hardness[%q] %g is not finite", p.Name, fam, v)
		}
	}
	return nil
}

func (p Profile) clone() Profile {
	p.Skill = maps.Clone(p.Skill)
	p.Hardness = maps.Clone(p.Hardness)
	return p
}

// profile is a Profile prepared for fast calls.
type profile struct {
	Profile
	index     int     // position in Model.byIndex
	hash      uint64  // of the name, mixed into every draw
	size      float64 // sizeFactor(BaseSkill)
	verbosity float64 // Verbosity, 1 for 0
	proposals int     // candidates a proposal is the best of, before grounding
	// gainRef is the gain of ReferenceInstruction and headroom the most a
	// prompt adds over it, by family index.
	gainRef, headroom [numFamilies]float64
}

func (p *Profile) skill(family string) float64 {
	if s, ok := p.Skill[family]; ok {
		return s
	}
	return p.BaseSkill
}

// slope is the competence lost per unit of hardness on family.
func (p *Profile) slope(family string) float64 {
	if s, ok := p.Hardness[family]; ok {
		return s
	}
	return hardSlope
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
			return 0.05
		}
		return 0.03
	case roleJudge:
		switch family {
		case famMultihop:
			return 0.5
		}
		return 0.4
	}
	return 0
}

// prepareProfiles sets each profile's reference gain and headroom per
// family: the gain of ReferenceInstruction (what Skill is measured with),
// and the most a prompt may add to it, headroomShare of the gap to the
// reference competence of the next larger model (by BaseSkill), or
// largestHeadroom for the largest.
func (m *Model) prepareProfiles() {
	ref := readFeatures(ReferenceInstruction)
	for _, pr := range m.byIndex {
		for fi, fam := range familyNames {
			pr.gainRef[fi] = ref.quality(pr.size, fam)
			var next *profile
			for _, o := range m.byIndex {
				if o.BaseSkill > pr.BaseSkill && (next == nil || o.BaseSkill < next.BaseSkill) {
					next = o
				}
			}
			if next != nil {
				pr.headroom[fi] = headroomOf(pr.skill(fam), next.skill(fam), true)
			} else {
				pr.headroom[fi] = headroomOf(pr.skill(fam), 0, false)
			}
		}
	}
}

// headroomOf is the most a prompt adds over the reference to a model of
// reference competence skill: headroomShare of the gap to the next larger
// model's (at least minHeadroom), or largestHeadroom if there is none.
func headroomOf(skill, next float64, hasNext bool) float64 {
	if !hasNext {
		return largestHeadroom
	}
	return max(headroomShare*(next-skill), minHeadroom)
}
