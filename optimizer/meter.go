package optimizer

import (
	"context"
	"sync"

	"github.com/mabeam/mabeam/lm"
)

// Meter counts the LM calls an optimizer makes itself (introspection,
// proposals), so that they count in the budget like any evaluation: the
// optimizer makes its own calls through a Meter and charges what Take
// returns to the trial those calls produced (Trial.Charge), which the store
// then keeps with it.
type Meter struct {
	model lm.Model

	mu   sync.Mutex // protects used
	used Usage
}

var _ lm.Model = (*Meter)(nil)

// Usage is what a set of LM calls used.
type Usage struct {
	Calls, Tokens int64
	Cost, Billed  float64 // nominal and billed, as lm.Response
	Retries       int64   // failed attempts before the replies (lm.Response.Retries)
}

// NewMeter returns a Meter in front of m.
func NewMeter(m lm.Model) *Meter { return &Meter{model: m} }

// Generate calls the model and counts the call (a failed call counts too:
// it may have been billed).
func (m *Meter) Generate(ctx context.Context, req lm.Request) (lm.Response, error) {
	resp, err := m.model.Generate(ctx, req)
	m.mu.Lock()
	m.used.Calls++
	m.used.Tokens += int64(resp.Usage.Total())
	m.used.Cost += resp.Cost
	m.used.Billed += resp.Billed()
	m.used.Retries += int64(resp.Retries)
	m.mu.Unlock()
	return resp, err
}

// Identity is the metered model's (lm.IdentityOf): a meter does not change
// the answers.
func (m *Meter) Identity() string { return lm.IdentityOf(m.model) }

// Used returns what the calls since the last Take used, and keeps
// counting.
func (m *Meter) Used() Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.used
}

// Take returns what the calls since the last Take used, and starts
// counting afresh.
func (m *Meter) Take() Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.used
	m.used = Usage{}
	return u
}

// Charge adds u to the trial's calls, tokens and costs.
func (t *Trial) Charge(u Usage) {
	t.Calls += u.Calls
	t.Tokens += u.Tokens
	t.Cost += u.Cost
	t.Billed += u.Billed
	t.Retries += u.Retries
}
