package sim

import (
	"strings"

	"github.com/mabeam/mabeam/datasets"
)

// Error modes: each family's distractors come from a few mistakes
// (datasets.Solution.Modes). A rule that names a mistake helps on the
// questions where that mistake is the one the agent would make, and
// nowhere else; introspection advice names the mistake the worse
// trajectory made.
type errorMode struct {
	name string // as datasets names it
	// cues are squashed stems a rule names the mode by.
	cues []string
	// advice are rule texts the model proposes for the mode.
	advice []string
}

var errorModes = []errorMode{
	{datasets.ModeLastStep, []string{"laststep", "finalstep", "everystep", "allthesteps", "allsteps", "endofthequestion", "untiltheend"},
		[]string{"apply every step the question states, the last one included", "before answering, make sure the final step of the story was applied",
			"check that every step up to the last one is in your result"}},
	{datasets.ModeOperation, []string{datasets.ModeOperation, "multiply", "divide", "addorsubtract", "whichoperation", "plusorminus", "times"},
		[]string{"check which operation each step calls for before computing it", "read each step's verb to decide whether to add, subtract, multiply or divide",
			"confirm the operation of every step matches its wording"}},
	{datasets.ModeSkippedStep, []string{"eachstep", "skip", "everyquantit", "eachquantit", "inorder", "onebyone", "writedown"},
		[]string{"write each step down in order and do not skip any", "go through the steps one by one and keep a running total",
			"track every quantity after each step"}},
	{datasets.ModeSlip, []string{"arithmetic", "recompute", "recalculat", "doublecheck", "secondway", "calculation"},
		[]string{"double-check the arithmetic of every step", "recompute the result a second way before answering",
			"check each calculation twice"}},
	{datasets.ModeSkippedHop, []string{"eachhop", "everyhop", "hopbyhop", "eachlink", "everylink", "trace", "eachrelation"},
		[]string{"follow the chain hop by hop and check each link in the context", "trace every relation of the question through the context",
			"resolve each hop before moving to the next"}},
	{datasets.ModeStopEarly, []string{"endofthechain", "lasthop", "finalhop", "whatisasked", "restate", "untiltheend"},
		[]string{"keep following the chain until you reach what is asked", "restate what is asked and check your answer is of that kind",
			"make sure the last hop of the question is resolved"}},
	{datasets.ModeWrongFact, []string{"context", "paragraph", "source", "eachfact", "thefact", "quote", "evidence"},
		[]string{"use only facts stated in the context paragraphs", "check each fact you use against its paragraph",
			"quote the sentence of the context that gives each fact"}},
	{datasets.ModeNeighbour, []string{"position", "offbyone", "countthe", "exactplace", "fromthetop", "fromthe"},
		[]string{"count positions carefully from the right end of the order", "check the exact position asked, not the one next to it",
			"write the full order and count the position twice"}},
	{datasets.ModeMisread, []string{"eachcomparison", "everycomparison", "direction", "reread", "eachclue", "everyclue"},
		[]string{"re-read each comparison and note its direction", "check every clue against your final order",
			"write each comparison as an inequality before ordering"}},
}

// modeBit is the bit of a datasets error mode name; 0 for an unknown one.
func modeBit(name string) uint32 {
	for i := range errorModes {
		if errorModes[i].name == name {
			return 1 << i
		}
	}
	return 0
}

// ruleModes is the set of error modes a squashed rule text names.
func ruleModes(sq string) uint32 {
	var bits uint32
	for i := range errorModes {
		for _, c := range errorModes[i].cues {
			if strings.Contains(sq, c) {
				bits |= 1 << i
				break
			}
		}
	}
	return bits
}

// RuleModes returns the names of the error modes (datasets.Solution.Modes)
// a rule text addresses, in the order the package knows them.
func RuleModes(rule string) []string {
	sq := squash(rule)
	bits := ruleModes(sq)
	var out []string
	for i := range errorModes {
		if bits&(1<<i) != 0 {
			out = append(out, errorModes[i].name)
		}
	}
	return out
}
