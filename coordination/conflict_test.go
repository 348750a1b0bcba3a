package coordination

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
)

func TestResolverAllocate(t *testing.T) {
	ctx := context.Background()
	claims := []Claim{
		{Agent: "a", Amount: 6, Priority: 2, Bid: 3},
		{Agent: "b", Amount: 6, Priority: 1, Bid: 2},
		{Agent: "c", Amount: 2, Priority: 1, Bid: 1},
	}
	for _, tc := range []struct {
		strategy Strategy
		grants   []float64
		price    float64
	}{
		// a first; b and c share the remaining 4 in proportion 6:2.
		{ByPriority, []float64{6, 3, 1}, 0},
		{"", []float64{6, 3, 1}, 0},
		{Proportional, []float64{10 * 6.0 / 14, 10 * 6.0 / 14, 10 * 2.0 / 14}, 0},
		// a (3/unit) then b (2/unit) gets the rest; b is not fully served,
		// so the unit price is its bid.
		{ByAuction, []float64{6, 4, 0}, 2},
	} {
		t.Run(string(tc.strategy), func(t *testing.T) {
			r := &Resolver{Strategy: tc.strategy}
			res, err := r.Allocate(ctx, "tokens", 10, claims)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.grants {
				if math.Abs(res.Grants[i]-tc.grants[i]) > 1e-12 {
					t.Fatalf("grants %v, want %v", res.Grants, tc.grants)
				}
			}
			if res.Price != tc.price || res.Conflict.Kind != Overdemand || res.Conflict.Seq != 1 {
				t.Errorf("got %+v", res)
			}
			recs := r.Records()
			if len(recs) != 1 || recs[0].Conflict.Subject != "tokens" || len(recs[0].Grants) != 3 {
				t.Errorf("records %+v", recs)
			}
		})
	}
	t.Run("no conflict is not recorded", func(t *testing.T) {
		r := &Resolver{}
		res, err := r.Allocate(ctx, "tokens", 100, claims)
		if err != nil || res.Conflict.Seq != 0 || res.Grants[0] != 6 || len(r.Records()) != 0 {
			t.Errorf("got %+v, %v, records %d", res, err, len(r.Records()))
		}
	})
}

func TestResolverEscalate(t *testing.T) {
	ctx := context.Background()
	claims := []Claim{{Agent: "a", Amount: 8}, {Agent: "b", Amount: 8}}
	var asked Conflict
	boss := CoordinatorFunc(func(_ context.Context, c Conflict) (Resolution, error) {
		asked = c
		if c.Kind == Disagreement {
			return Resolution{Value: "blue", Note: "house style"}, nil
		}
		return Resolution{Grants: []float64{7, 3}, Note: "a is on the critical path"}, nil
	})
	r := &Resolver{Strategy: Escalate, Coordinator: boss}
	res, err := r.Allocate(ctx, "gpu-seconds", 10, claims)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Escalated || res.Grants[0] != 7 || res.Note == "" || asked.Capacity != 10 || len(asked.Claims) != 2 {
		t.Errorf("got %+v (coordinator saw %+v)", res, asked)
	}
	if res.Overhead != (Overhead{Rounds: 2, Messages: 4}) {
		t.Errorf("overhead %+v", res.Overhead)
	}
	set, err := r.Settle(ctx, "style", []Claim{{Agent: "a", Value: "red"}, {Agent: "b", Value: "green"}})
	if err != nil || set.Value != "blue" || !set.Escalated || set.Grants != nil {
		t.Errorf("settle: %+v, %v", set, err)
	}
	if recs := r.Records(); len(recs) != 2 || recs[0].Conflict.Seq != 1 || recs[1].Conflict.Seq != 2 || recs[1].Value != "blue" {
		t.Errorf("records %+v", recs)
	}

	greedy := &Resolver{Strategy: Escalate, Coordinator: CoordinatorFunc(func(context.Context, Conflict) (Resolution, error) {
		return Resolution{Grants: []float64{8, 8}}, nil // above capacity
	})}
	if _, err := greedy.Allocate(ctx, "x", 10, claims); !errors.Is(err, ErrBadResolution) {
		t.Errorf("over-capacity grants: %v", err)
	}
	if recs := greedy.Records(); len(recs) != 1 || recs[0].Grants != nil || !recs[0].Escalated {
		t.Errorf("a failed escalation must stay recorded without grants: %+v", recs)
	}
	if _, err := (&Resolver{Strategy: Escalate}).Allocate(ctx, "x", 10, claims); !errors.Is(err, ErrNoCoordinator) {
		t.Errorf("no coordinator: %v", err)
	}
	boom := errors.New("coordinator offline")
	failing := &Resolver{Strategy: Escalate, Coordinator: CoordinatorFunc(func(context.Context, Conflict) (Resolution, error) { return Resolution{}, boom })}
	if _, err := failing.Settle(ctx, "x", []Claim{{Value: "a"}, {Value: "b"}}); !errors.Is(err, boom) {
		t.Errorf("coordinator error: %v", err)
	}
}

func TestResolverSettle(t *testing.T) {
	ctx := context.Background()
	claims := []Claim{
		{Agent: "a", Value: "0.2", Priority: 1, Bid: 5},
		{Agent: "b", Value: "0.7", Priority: 3, Bid: 2},
		{Agent: "c", Value: "0.2", Priority: 0, Bid: 1},
		{Agent: "d", Value: "0.9", Amount: 1.5, Bid: 4},
	}
	for _, tc := range []struct {
		strategy Strategy
		value    string
		price    float64
	}{
		{ByPriority, "0.7", 0},
		{Proportional, "0.2", 0}, // 2 claimants of weight 1 beat one of 1.5
		{ByAuction, "0.2", 4},    // highest bid 5; the best bid for another value is 4
	} {
		r := &Resolver{Strategy: tc.strategy}
		res, err := r.Settle(ctx, "temperature", claims)
		if err != nil || res.Value != tc.value || res.Price != tc.price || res.Conflict.Kind != Disagreement {
			t.Errorf("%s: got %+v, %v; want %s at %v", tc.strategy, res, err, tc.value, tc.price)
		}
	}
	r := &Resolver{Normalize: func(s string) string { return s[:1] }}
	res, err := r.Settle(ctx, "x", []Claim{{Value: "yes"}, {Value: "yep"}})
	if err != nil || res.Value != "y" || res.Conflict.Seq != 0 || len(r.Records()) != 0 {
		t.Errorf("agreement after normalising: %+v, %v", res, err)
	}
}

// Whatever the strategy, grants stay within demand and capacity and use
// the capacity fully when demand exceeds it.
func TestResolverGrantBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	ctx := context.Background()
	for inst := 0; inst < 2000; inst++ {
		claims := make([]Claim, 1+rng.IntN(10))
		demand := 0.0
		for i := range claims {
			claims[i] = Claim{Agent: strconv.Itoa(i), Amount: float64(rng.IntN(10)), Priority: rng.IntN(3), Bid: float64(rng.IntN(4))}
			demand += claims[i].Amount
		}
		capacity := rng.Float64() * 40
		for _, s := range []Strategy{ByPriority, Proportional, ByAuction} {
			res, err := (&Resolver{Strategy: s}).Allocate(ctx, "r", capacity, claims)
			if err != nil {
				t.Fatal(err)
			}
			total := 0.0
			for i, g := range res.Grants {
				if g < 0 || g > claims[i].Amount*(1+1e-12) {
					t.Fatalf("%s: grant %v for demand %v", s, g, claims[i].Amount)
				}
				total += g
			}
			if want := math.Min(capacity, demand); math.Abs(total-want) > 1e-9 {
				t.Fatalf("%s: granted %v of %v (demand %v)", s, total, capacity, demand)
			}
		}
	}
}

// Conflicts found concurrently are all recorded, numbered 1..n.
func TestResolverConcurrent(t *testing.T) {
	r := &Resolver{Strategy: Proportional}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for k := 0; k < 50; k++ {
				if _, err := r.Allocate(context.Background(), "r", 1, []Claim{{Amount: 1}, {Amount: 1}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	recs := r.Records()
	if len(recs) != 400 {
		t.Fatalf("%d records, want 400", len(recs))
	}
	for i, rec := range recs {
		if rec.Conflict.Seq != i+1 {
			t.Fatalf("record %d has Seq %d", i, rec.Conflict.Seq)
		}
	}
}

func TestResolverErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := (&Resolver{Strategy: "dice"}).Allocate(ctx, "r", 1, []Claim{{Amount: 1}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad strategy: %v", err)
	}
	if _, err := (&Resolver{}).Allocate(ctx, "r", -1, []Claim{{Amount: 1}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad capacity: %v", err)
	}
	if _, err := (&Resolver{}).Allocate(ctx, "r", 1, []Claim{{Amount: math.NaN()}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad amount: %v", err)
	}
	if _, err := (&Resolver{}).Settle(ctx, "r", nil); !errors.Is(err, ErrNoBids) {
		t.Errorf("no claims: %v", err)
	}
}
