package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/optimizer"
)

// A trial's recorded calls, retries and unparsed replies come back as
// written, and a rewritten trial replaces its calls.
func TestCallsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	st := mustStudy(t, s, "c")
	rec := record(0, 2)
	rec.Trial.Retries = 7
	rec.Agents[0].Unparsed = 3
	rec.Calls = []Call{
		{Seq: 0, Example: "e0", Family: "arithmetic", Difficulty: 2, Agent: "a0", Role: "solver", Model: "sim-small",
			Temperature: 0.7, MaxTokens: 256,
			Messages: []lm.Message{{Role: lm.RoleSystem, Content: "sys"}, {Role: lm.RoleUser, Content: "What is 2+2?"}},
			Output:   "Answer: 4\nConfidence: 0.9", Answer: "4", Parsed: true, Score: 1, Confidence: 0.9,
			PromptTokens: 12, CompletionTokens: 8, Latency: 1500 * time.Millisecond, Retries: 2},
		{Seq: 1, Example: "e0", Agent: "a1", Model: "gpt-x", Round: 1, Output: "four", Parsed: false,
			Score: math.NaN(), Confidence: math.NaN(), Cached: true},
	}
	if err := s.FinishTrial(ctx, st.ID, rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Record(ctx, st.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Trial.Retries != 7 || got.Agents[0].Unparsed != 3 {
		t.Errorf("retries %d, unparsed %d; want 7 and 3", got.Trial.Retries, got.Agents[0].Unparsed)
	}
	if len(got.Calls) != 2 || !reflect.DeepEqual(got.Calls[0], rec.Calls[0]) {
		t.Fatalf("calls read back as\n%+v\nwant\n%+v", got.Calls, rec.Calls)
	}
	c1 := got.Calls[1]
	if c1.Parsed || !c1.Cached || !math.IsNaN(c1.Score) || c1.Round != 1 || c1.Messages != nil && len(c1.Messages) != 0 {
		t.Errorf("second call read back as %+v", c1)
	}
	calls, trials, err := s.Calls(ctx, st.ID)
	if err != nil || len(calls) != 2 || !reflect.DeepEqual(trials, []int{0, 0}) {
		t.Fatalf("Calls: %d calls, trials %v, err %v", len(calls), trials, err)
	}

	// Rewriting a running trial replaces its rows.
	if err := s.StartTrial(ctx, st.ID, optimizer.Trial{Number: 1, Params: rec.Trial.Params}); err != nil {
		t.Fatal(err)
	}
	r1 := record(1, 1)
	r1.Calls = []Call{{Seq: 0, Example: "e9", Agent: "a0", Parsed: true, Score: 0}}
	if err := s.FinishTrial(ctx, st.ID, r1); err != nil {
		t.Fatal(err)
	}
	calls, trials, err = s.Calls(ctx, st.ID)
	if err != nil || len(calls) != 3 || trials[2] != 1 || calls[2].Example != "e9" {
		t.Fatalf("after a second trial: %+v %v %v", calls, trials, err)
	}
	if t1, _ := s.Trial(ctx, st.ID, 1); t1.Retries != 0 {
		t.Errorf("trial 1 retries %d, want 0", t1.Retries)
	}
}

// A write cut short by its context's end says so (errors.Is
// context.Canceled), whatever the driver reports, so an abandoned call's
// cache write is not taken for a failure of the store.
func TestWriteCancelled(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (study_id, time, kind, message) VALUES (NULL, 'x', 'start', 'm')`); err != nil {
			return err
		}
		cancel()
		time.Sleep(50 * time.Millisecond) // database/sql rolls the transaction back
		return nil                        // and Commit reports sql.ErrTxDone
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("write under a cancelled context: %v; want it to match context.Canceled", err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d events after the cancelled write (%v); want none", n, err)
	}
}
