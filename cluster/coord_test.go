package cluster

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mabeam/mabeam/coordination"
	"github.com/nats-io/nats.go"
)

// serveAgents starts one agent per id, each on its own connection, that
// answers with bids[id] after delays[id].
func serveAgents(t testing.TB, url, subject string, bids map[string]Bid, delays map[string]time.Duration) {
	t.Helper()
	for id, b := range bids {
		nc, err := Connect(url, id)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		if _, err := Serve(t.Context(), nc, subject, id, func(Request) Bid {
			time.Sleep(delays[id])
			return b
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := Connect(url, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// A round's decision is the coordination package's local decision for
// the same bids, in agent-id order, though they arrive in reverse id
// order (the agents answer after delays that shrink with their id), and
// agents listening on the decision subject receive it.
func TestRoundMatchesLocal(t *testing.T) {
	url := embedded(t)
	bids := map[string]Bid{
		"critic":  {Amount: 0.64, Value: 0.5, Demand: 300},
		"judge":   {Amount: 0.82, Value: 0.5},
		"planner": {Amount: 0.82, Value: 0.9, Demand: 100},
		"solver":  {Amount: 0.25, Value: 0.5},
	}
	agents := []string{"solver", "judge", "critic", "planner"} // listed in no particular order
	delays := map[string]time.Duration{"critic": 30 * time.Millisecond, "judge": 20 * time.Millisecond, "planner": 10 * time.Millisecond}
	serveAgents(t, url, "team.coord", bids, delays)
	nc := connect(t, url)
	decisions, err := nc.SubscribeSync(DecisionSubject("team.coord"))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	sorted := slices.Sorted(slices.Values(agents))
	cases := []Request{
		{Kind: KindTask, Subject: "math-17", Pricing: coordination.SecondPrice, Reserve: 0.3},
		{Kind: KindTask, Subject: "math-18", Units: 2},
		{Kind: KindBudget, Subject: "tokens", Tokens: 1001},
		{Kind: KindBudget, Subject: "tokens", Tokens: 1000, Method: coordination.SplitAuction},
		{Kind: KindBudget, Subject: "tokens", Tokens: 1000, Method: coordination.SplitMarket},
	}
	for _, req := range cases {
		d, err := Round(t.Context(), nc, "team.coord", req, agents, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range d.Bids {
			got = append(got, b.Agent)
		}
		if !reflect.DeepEqual(got, sorted) || len(d.Missing) != 0 {
			t.Fatalf("%s %s: bids from %v, missing %v; want all of %v in order", req.Kind, req.Subject, got, d.Missing, sorted)
		}
		switch req.Kind {
		case KindTask:
			local := make([]coordination.Bid, len(sorted))
			for i, id := range sorted {
				local[i] = coordination.Bid{Bidder: id, Amount: bids[id].Amount}
			}
			want, err := coordination.SealedBid{Pricing: req.Pricing, Reserve: req.Reserve, Units: req.Units}.Run(local)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Outcome, want) {
				t.Errorf("%s: round %+v, local %+v", req.Subject, d.Outcome, want)
			}
		case KindBudget:
			local := make([]coordination.BudgetRequest, len(sorted))
			for i, id := range sorted {
				local[i] = coordination.BudgetRequest{Agent: id, Value: bids[id].Value, Demand: bids[id].Demand}
			}
			want, err := coordination.Budget{Method: req.Method}.Split(req.Tokens, local)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Allocation, want) {
				t.Errorf("%s budget: round %+v, local %+v", req.Method, d.Allocation, want)
			}
		}
		m, err := decisions.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("no decision published: %v", err)
		}
		var pub Decision
		if err := json.Unmarshal(m.Data, &pub); err != nil {
			t.Fatal(err)
		}
		if pub.Request.ID != d.Request.ID || !reflect.DeepEqual(pub.Outcome.Awards, d.Outcome.Awards) ||
			!reflect.DeepEqual(pub.Allocation.Tokens, d.Allocation.Tokens) {
			t.Errorf("published decision %+v, returned %+v", pub, d)
		}
	}
	// The tie between judge and planner goes to the smaller id, and the
	// odd token of the equal split (after critic and planner reach their
	// demand) to judge, the first of the rest by id.
	d, err := Round(t.Context(), nc, "team.coord", cases[1], agents, 5*time.Second)
	if w, _ := d.Outcome.Winner(); err != nil || w.Bidder != "judge" {
		t.Errorf("tie: winner %+v, %v; want judge", w, err)
	}
	d, err = Round(t.Context(), nc, "team.coord", cases[2], agents, 5*time.Second)
	if err != nil || !reflect.DeepEqual(d.Allocation.Tokens, []int{300, 301, 100, 300}) {
		t.Errorf("equal split: %v, %v; want [300 301 100 300]", d.Allocation.Tokens, err)
	}
}

// Bids after the deadline, from agents not in the round, are not counted:
// the slow agent's and the intruder's high bids lose to the others', the
// slow agent is reported missing, and the round ends at its deadline.
func TestRoundLateBids(t *testing.T) {
	url := embedded(t)
	serveAgents(t, url, "c", map[string]Bid{
		"a":        {Amount: 1},
		"b":        {Amount: 2},
		"slow":     {Amount: 9},
		"intruder": {Amount: 8},
	}, map[string]time.Duration{"slow": 600 * time.Millisecond})
	nc := connect(t, url)
	start := time.Now()
	d, err := Round(t.Context(), nc, "c", Request{Kind: KindTask, Subject: "t"}, []string{"a", "b", "slow"}, 200*time.Millisecond)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := d.Outcome.Winner()
	if w.Bidder != "b" || len(d.Bids) != 2 || !reflect.DeepEqual(d.Missing, []string{"slow"}) {
		t.Errorf("winner %q from %d bids, missing %v; want b from 2, slow missing", w.Bidder, len(d.Bids), d.Missing)
	}
	if elapsed < 200*time.Millisecond || elapsed > 500*time.Millisecond {
		t.Errorf("the round took %v with a 200ms deadline", elapsed)
	}
	// All listed agents bid in time: the round ends without waiting for
	// the deadline.
	start = time.Now()
	d, err = Round(t.Context(), nc, "c", Request{Kind: KindTask}, []string{"a", "b"}, 5*time.Second)
	if err != nil || len(d.Bids) != 2 || time.Since(start) > time.Second {
		t.Errorf("a full round: %d bids in %v, %v", len(d.Bids), time.Since(start), err)
	}
	// An open round counts whoever bids in time; the slow agent does not.
	d, err = Round(t.Context(), nc, "c", Request{Kind: KindTask}, nil, 300*time.Millisecond)
	if w, _ := d.Outcome.Winner(); err != nil || w.Bidder != "intruder" || len(d.Bids) != 3 {
		t.Errorf("an open round: winner %q of %d bids, %v; want intruder of 3", w.Bidder, len(d.Bids), err)
	}
	// Nobody answers in time.
	d, err = Round(t.Context(), nc, "c", Request{Kind: KindBudget, Tokens: 10}, []string{"slow"}, 50*time.Millisecond)
	if !errors.Is(err, coordination.ErrNoBids) || !reflect.DeepEqual(d.Missing, []string{"slow"}) {
		t.Errorf("no bids: %+v, %v; want ErrNoBids with slow missing", d, err)
	}
	if _, err := Round(t.Context(), nc, "c", Request{Kind: "vote"}, nil, time.Second); err == nil {
		t.Error("an unknown request kind was accepted")
	}
}

// BenchmarkCoordinationRound times a task round among 4 agents on their
// own connections to an embedded server on loopback, and reports the
// median and 95th-percentile latency of a round.
func BenchmarkCoordinationRound(b *testing.B) {
	url := embedded(b)
	agents := []string{"a1", "a2", "a3", "a4"}
	bids := map[string]Bid{}
	for i, id := range agents {
		bids[id] = Bid{Amount: float64(i)}
	}
	serveAgents(b, url, "bench", bids, nil)
	nc := connect(b, url)
	req := Request{Kind: KindTask, Pricing: coordination.SecondPrice}
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		d, err := Round(b.Context(), nc, "bench", req, agents, time.Second)
		lat = append(lat, time.Since(start))
		if err != nil || len(d.Bids) != len(agents) {
			b.Fatalf("%d bids, %v", len(d.Bids), err)
		}
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e6 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.95), "p95-ms")
}
