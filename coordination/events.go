package coordination

import (
	"context"
	"log/slog"
	"sync"
)

// EventKind says what happened in a protocol.
type EventKind uint8

// Event kinds. The zero EventKind is not a valid kind.
const (
	EventStarted  EventKind = iota + 1 // a protocol run began; Amount is the number of participants
	EventBid                           // a vote, bid, order or claim arrived; Agent sent it
	EventRound                         // a new round (price step, refinement, hierarchy level) began
	EventDecided                       // the protocol decided; Overhead holds the run's totals
	EventConflict                      // agents' claims conflict; Subject names the resource or variable
	EventResolved                      // a conflict was resolved; Overhead holds the totals
	numEventKinds
)

// String returns the kind's lower-case name, e.g. "decided".
func (k EventKind) String() string {
	switch k {
	case EventStarted:
		return "started"
	case EventBid:
		return "bid"
	case EventRound:
		return "round"
	case EventDecided:
		return "decided"
	case EventConflict:
		return "conflict"
	case EventResolved:
		return "resolved"
	}
	return "unknown"
}

// Overhead counts what a protocol run cost in coordination, for the
// evaluation engine's communication-overhead metrics.
type Overhead struct {
	// Rounds is the number of sequential rounds: 1 for one-shot protocols,
	// price steps for English and Dutch auctions, tallies for refinement,
	// tree levels for a hierarchy.
	Rounds int
	// Messages counts point-to-point messages between agents and the
	// protocol's coordinator: each vote, bid, order or claim is one, and so
	// is each announcement (a price or tally) sent to one participant.
	Messages int
	// Bids counts bids, asks and orders (votes are not bids).
	Bids int
}

// Add returns the field-wise sum of o and p.
func (o Overhead) Add(p Overhead) Overhead {
	return Overhead{Rounds: o.Rounds + p.Rounds, Messages: o.Messages + p.Messages, Bids: o.Bids + p.Bids}
}

// Event is one structured event of a protocol run. Fields a kind does not
// use are zero.
type Event struct {
	Kind EventKind
	// Protocol names the protocol, e.g. "consensus/majority",
	// "auction/vickrey", "market/call", "conflict/priority".
	Protocol string
	// Round is the round the event belongs to, from 1.
	Round int
	// Agent is the voter, bidder or claimant, "" for protocol-level events.
	Agent string
	// Subject is the answer voted for or decided, the bid-on item or
	// bundle, or the contested resource or variable.
	Subject string
	// Amount is the event's number: a bid or price, a vote's weight, the
	// agreement reached, a quantity, or the participant count (started).
	Amount float64
	// Overhead holds the run's totals on EventDecided and EventResolved.
	Overhead Overhead
}

// LogValue makes an Event print as a group of its non-zero fields.
func (e Event) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("kind", e.Kind.String()), slog.String("protocol", e.Protocol))
	if e.Round != 0 {
		attrs = append(attrs, slog.Int("round", e.Round))
	}
	if e.Agent != "" {
		attrs = append(attrs, slog.String("agent", e.Agent))
	}
	if e.Subject != "" {
		attrs = append(attrs, slog.String("subject", e.Subject))
	}
	attrs = append(attrs, slog.Float64("amount", e.Amount))
	if e.Overhead != (Overhead{}) {
		attrs = append(attrs, slog.Int("rounds", e.Overhead.Rounds), slog.Int("messages", e.Overhead.Messages),
			slog.Int("bids", e.Overhead.Bids))
	}
	return slog.GroupValue(attrs...)
}

// Observer receives a protocol's events synchronously, in order. Protocols
// with a nil Observer build no events at all. An Observer shared by
// protocols running concurrently must be safe for concurrent use.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to the Observer interface.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// Observers returns an Observer that passes each event to every non-nil
// observer in turn, or nil if there are none.
func Observers(obs ...Observer) Observer {
	var keep multiObserver
	for _, o := range obs {
		if o != nil {
			keep = append(keep, o)
		}
	}
	switch len(keep) {
	case 0:
		return nil
	case 1:
		return keep[0]
	}
	return keep
}

type multiObserver []Observer

func (m multiObserver) Observe(e Event) {
	for _, o := range m {
		o.Observe(e)
	}
}

// LogObserver returns an Observer that writes every event to l: bids and
// rounds at slog.LevelDebug, everything else at slog.LevelInfo. The record's
// message is "coordination <kind>" and its attributes are the event's
// non-zero fields. A nil l uses slog.Default().
func LogObserver(l *slog.Logger) Observer {
	if l == nil {
		l = slog.Default()
	}
	return logObserver{l}
}

type logObserver struct{ l *slog.Logger }

func (o logObserver) Observe(e Event) {
	level := slog.LevelInfo
	if e.Kind == EventBid || e.Kind == EventRound {
		level = slog.LevelDebug
	}
	ctx := context.Background()
	if !o.l.Enabled(ctx, level) {
		return
	}
	attrs := e.LogValue().Group()
	o.l.LogAttrs(ctx, level, "coordination "+e.Kind.String(), attrs[1:]...) // the message names the kind
}

// Counter is an Observer that counts events by kind and sums the Overhead
// of decided and resolved events, e.g. over all runs of one evaluation. The
// zero Counter is ready to use and safe for concurrent use.
type Counter struct {
	mu       sync.Mutex // protects counts and overhead
	counts   [numEventKinds]int
	overhead Overhead
}

// Observe counts e.
func (c *Counter) Observe(e Event) {
	c.mu.Lock()
	if e.Kind < numEventKinds {
		c.counts[e.Kind]++
	}
	if e.Kind == EventDecided || e.Kind == EventResolved {
		c.overhead = c.overhead.Add(e.Overhead)
	}
	c.mu.Unlock()
}

// Count returns how many events of kind k were observed.
func (c *Counter) Count(k EventKind) int {
	if k >= numEventKinds {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[k]
}

// Overhead returns the summed Overhead of all decided and resolved events.
func (c *Counter) Overhead() Overhead {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.overhead
}

// Compile-time interface checks.
var (
	_ Observer    = (*Counter)(nil)
	_ Observer    = ObserverFunc(nil)
	_ Observer    = logObserver{}
	_ Observer    = multiObserver(nil)
	_ Coordinator = CoordinatorFunc(nil)
)
