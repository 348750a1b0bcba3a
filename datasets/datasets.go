package datasets

import (
	"fmt"
	"sort"
)

// MaxExamples bounds how many examples one request may make or hold: a
// config's train + val + test of one dataset, and the --n of the CLI's
// evaluate and datasets export. A million examples is far beyond what an
// optimization run scores and still fits in memory (generating them takes
// about 0.5 GB for arithmetic and 2.3 GB for multihop, the longest
// family); a larger count is refused up front rather than ended by the
// kernel's out-of-memory killer.
const MaxExamples = 1_000_000

// Example is one benchmark item.
type Example struct {
	ID       string `json:"id"`
	Family   string `json:"family,omitempty"` // e.g. "arithmetic"; "" for loaded files of unknown family
	Question string `json:"question"`         // the full text shown to agents, context paragraphs included
	Answer   string `json:"answer"`           // the exact gold answer
	// Difficulty is the generator's level (1 easy .. 3 hard); 0 when unknown.
	Difficulty int `json:"difficulty,omitempty"`
}

// Solution is what a family's solver reads off a question's text alone,
// without the label: the surrogate model uses it to answer, then err.
type Solution struct {
	Family string
	Answer string
	// Hardness is the structural difficulty the solver measured (steps,
	// hops, constraints), on a scale where 1 is easy and 3 is hard.
	Hardness float64
	// Distractors are plausible wrong answers, most plausible first; the
	// same for every model, so wrong agents can agree.
	Distractors []string
	// Modes is parallel to Distractors: Modes[i] names the mistake that
	// produces Distractors[i], one of the family's Mode constants
	// (arithmetic: ModeLastStep, ModeOperation, ModeSkippedStep, ModeSlip;
	// multihop: ModeSkippedHop, ModeStopEarly, ModeWrongFact; logic:
	// ModeNeighbour, ModeMisread). A family's Solve always fills it with
	// len(Modes) == len(Distractors). When two mistakes give the same
	// answer, the earlier (more plausible) one names it.
	Modes []string
}

// Error modes: the mistakes that produce a Solution's distractors (see
// the package documentation for each family's).
const (
	// ModeLastStep (arithmetic): the answer before the last step, as if
	// it were forgotten.
	ModeLastStep = "last-step"
	// ModeOperation (arithmetic): one step, the last or an earlier one,
	// done with the wrong operation (adding instead of removing,
	// multiplying instead of dividing, the part instead of the rest, ...).
	ModeOperation = "operation"
	// ModeSkippedStep (arithmetic): an earlier step (not the last) left
	// out.
	ModeSkippedStep = "skipped-step"
	// ModeSlip (arithmetic): a near miss, the answer off by a little
	// (+1, -1, +2, +10, ...).
	ModeSlip = "slip"

	// ModeSkippedHop (multihop): the chain followed with one hop left out.
	ModeSkippedHop = "skipped-hop"
	// ModeStopEarly (multihop): an entity of the chain itself, the start
	// or an intermediate one, as if the reader stopped there.
	ModeStopEarly = "stopped-early"
	// ModeWrongFact (multihop): an entity of the answer's type that the
	// chain does not lead to: the object of another fact about a chain
	// entity (a wrong hop), or any other entity of that type in the
	// context.
	ModeWrongFact = "wrong-fact"

	// ModeNeighbour (logic): someone who could stand next to the asked
	// position (one place above or below it in some order the
	// comparisons allow).
	ModeNeighbour = "neighbour"
	// ModeMisread (logic): anyone else, who can only stand two or more
	// places from the asked position; picking them misreads a comparison.
	ModeMisread = "misread"
)

// Family is a generated benchmark family. Generate must be a pure function
// of (n, seed, difficulty); Solve must answer every question Generate makes.
type Family interface {
	Name() string
	// Describe is a one-line description for `datasets list`.
	Describe() string
	// Generate returns n examples; difficulty is 1..3, or 0 for a mix.
	Generate(n int, seed uint64, difficulty int) []Example
	// Solve parses a question of this family; ok is false if it is not one.
	Solve(question string) (s Solution, ok bool)
}

var (
	families = map[string]Family{}
	ordered  []Family // by name; Register runs at init, so reads need no lock
)

// Register makes a family available by name. It panics if the name is taken,
// as database/sql's Register does.
func Register(f Family) {
	if _, dup := families[f.Name()]; dup {
		panic("datasets: Register called twice for family " + f.Name())
	}
	families[f.Name()] = f
	ordered = append(ordered, f)
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].Name() < ordered[j].Name() })
}

// Lookup returns the family registered under name.
func Lookup(name string) (Family, error) {
	f, ok := families[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownFamily, name, Names())
	}
	return f, nil
}

// Names lists the registered families in sorted order.
func Names() []string {
	out := make([]string, 0, len(families))
	for n := range families {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Solve tries every registered family on question and returns the first
// solution. ok is false when no family recognises the text.
func Solve(question string) (Solution, bool) {
	for _, f := range ordered {
		if s, ok := f.Solve(question); ok {
			return s, true
		}
	}
	return Solution{}, false
}
