package coordination

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

type recorder struct{ events []Event }

func (r *recorder) Observe(e Event) { r.events = append(r.events, e) }

// Every protocol announces its start, each bid or vote, and its decision,
// and the decision carries the same Overhead as the outcome.
func TestProtocolsEmitEvents(t *testing.T) {
	ctx := context.Background()
	votes := votesOf("a", "a", "b", "c")
	bids := bidsOf(3, 9, 5)
	for _, tc := range []struct {
		name  string
		run   func(o Observer) (Overhead, error)
		first EventKind
		last  EventKind
		bids  int
	}{
		{"consensus", func(o Observer) (Overhead, error) {
			d, err := Consensus{Observer: o}.Decide(votes)
			return d.Overhead, err
		}, EventStarted, EventDecided, 4},
		{"hierarchy", func(o Observer) (Overhead, error) {
			d, err := Hierarchy{FanOut: 2, Observer: o}.Decide(votes)
			return d.Overhead, err
		}, EventStarted, EventDecided, 4},
		{"vickrey", func(o Observer) (Overhead, error) {
			out, err := SealedBid{Pricing: SecondPrice, Observer: o}.Run(bids)
			return out.Overhead, err
		}, EventStarted, EventDecided, 3},
		{"english", func(o Observer) (Overhead, error) {
			out, err := English{Increment: 2, Observer: o}.Run(bids)
			return out.Overhead, err
		}, EventStarted, EventDecided, -1},
		{"dutch", func(o Observer) (Overhead, error) {
			out, err := Dutch{Start: 12, Observer: o}.Run(bids)
			return out.Overhead, err
		}, EventStarted, EventDecided, -1},
		{"combinatorial", func(o Observer) (Overhead, error) {
			out, err := Combinatorial{VCG: true, Observer: o}.Run([]BundleBid{{Bidder: "x", Items: []string{"a"}, Amount: 1}})
			return out.Overhead, err
		}, EventStarted, EventDecided, 1},
		{"market", func(o Observer) (Overhead, error) {
			out, err := CallMarket{Observer: o}.Clear([]Order{{Agent: "b", Side: Buy, Quantity: 1, Price: 2}, {Agent: "s", Side: Sell, Quantity: 1, Price: 1}})
			return out.Overhead, err
		}, EventStarted, EventDecided, 2},
		{"budget", func(o Observer) (Overhead, error) {
			out, err := Budget{Method: SplitMarket, Observer: o}.Split(100, []BudgetRequest{{Agent: "a", Value: 1}, {Agent: "b"}})
			return out.Overhead, err
		}, EventStarted, EventDecided, 2},
		{"conflict", func(o Observer) (Overhead, error) {
			res, err := (&Resolver{Strategy: ByAuction, Observer: o}).Allocate(ctx, "tokens", 1, []Claim{{Amount: 1}, {Amount: 1}})
			return res.Overhead, err
		}, EventConflict, EventResolved, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			oh, err := tc.run(&r)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.events) < 2 || r.events[0].Kind != tc.first || r.events[len(r.events)-1].Kind != tc.last {
				t.Fatalf("events %+v", r.events)
			}
			if got := r.events[len(r.events)-1].Overhead; got != oh || oh.Rounds < 1 {
				t.Errorf("decided event overhead %+v, outcome %+v", got, oh)
			}
			n := 0
			for _, e := range r.events {
				if e.Protocol == "" {
					t.Errorf("event without protocol: %+v", e)
				}
				if e.Kind == EventBid {
					n++
				}
			}
			if tc.bids >= 0 && n != tc.bids {
				t.Errorf("%d bid events, want %d", n, tc.bids)
			}
		})
	}
}

func TestCounterAndObservers(t *testing.T) {
	var c Counter
	var r recorder
	obs := Observers(nil, &c, ObserverFunc(r.Observe))
	for i := 0; i < 3; i++ {
		if _, err := (Consensus{Observer: obs}).Decide(votesOf("a", "b")); err != nil {
			t.Fatal(err)
		}
	}
	if c.Count(EventStarted) != 3 || c.Count(EventBid) != 6 || c.Count(EventDecided) != 3 || len(r.events) != 12 {
		t.Errorf("counts %d/%d/%d, recorded %d", c.Count(EventStarted), c.Count(EventBid), c.Count(EventDecided), len(r.events))
	}
	if c.Overhead() != (Overhead{Rounds: 3, Messages: 6}) {
		t.Errorf("summed overhead %+v", c.Overhead())
	}
	if Observers(nil, nil) != nil {
		t.Error("Observers of nothing must be nil, so protocols skip events")
	}
	if Observers(&c) != Observer(&c) {
		t.Error("one observer must be returned as is")
	}
}

func TestLogObserver(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if _, err := (SealedBid{Pricing: SecondPrice, Observer: LogObserver(l)}).Run(bidsOf(3, 9, 5)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 { // started and decided; bids are at debug level
		t.Fatalf("logged %d lines:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "coordination decided" || rec["protocol"] != "auction/vickrey" || rec["agent"] != "b1" ||
		rec["amount"] != 5.0 || rec["bids"] != 3.0 {
		t.Errorf("record %v", rec)
	}
}
