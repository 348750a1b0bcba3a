package coordination

import (
	"errors"
	"strconv"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrInvalid is the class of every *InputError: a bad setting or a bad
	// vote, bid, order or claim.
	ErrInvalid = errors.New("coordination: invalid input")
	// ErrNoVotes reports a consensus over no votes.
	ErrNoVotes = errors.New("coordination: no votes")
	// ErrNoBids reports an auction, market or allocation with no bids,
	// orders, claims or agents.
	ErrNoBids = errors.New("coordination: no bids")
	// ErrNoConsensus reports that a rule's quota was not met and its
	// Fallback is FallbackNone. The Decision returned with it is filled in.
	ErrNoConsensus = errors.New("coordination: no consensus")
	// ErrRoundLimit reports an English or Dutch auction that did not end
	// within its MaxRounds price steps.
	ErrRoundLimit = errors.New("coordination: round limit reached")
	// ErrNoCoordinator reports escalation with no Coordinator set.
	ErrNoCoordinator = errors.New("coordination: no coordinator to escalate to")
	// ErrBadResolution reports a coordinator's resolution that breaks the
	// conflict's limits (grants above demand or capacity, wrong length).
	ErrBadResolution = errors.New("coordination: coordinator returned an invalid resolution")
)

// InputError is a bad setting or input item. errors.Is(err, ErrInvalid)
// holds for every *InputError.
type InputError struct {
	// Field names the offending setting or item field as a Go selector,
	// e.g. "Threshold", "votes[3].Confidence" or "bids[0].Amount".
	Field string
	// Agent is the id of the agent concerned, "" if none.
	Agent string
	// Msg says what is wrong.
	Msg string
}

func (e *InputError) Error() string {
	s := "coordination: invalid " + e.Field
	if e.Agent != "" {
		s += " (agent " + strconv.Quote(e.Agent) + ")"
	}
	return s + ": " + e.Msg
}

// Is makes every *InputError match ErrInvalid.
func (e *InputError) Is(target error) bool { return target == ErrInvalid }

// itemError builds the *InputError for field of item i of a list.
func itemError(list string, i int, field, agent, msg string) *InputError {
	return &InputError{Field: list + "[" + strconv.Itoa(i) + "]." + field, Agent: agent, Msg: msg}
}
