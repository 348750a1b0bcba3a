package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mabeam/mabeam/coordination"
	"github.com/nats-io/nats.go"
)

// Coordination rounds.
//
// A coordination round decides among agents in other processes over NATS
// request-reply. The coordinator (Round) publishes a Request on a subject
// with a reply inbox of its own; every agent listening there (Serve)
// answers with its Bid; the coordinator waits until every listed agent
// has answered or the timeout has passed, ignores bids that come later,
// from unlisted agents or for another round, orders the rest by agent id
// and decides with the coordination package's rule: a sealed-bid auction
// (coordination.SealedBid) for a task, a token-budget split
// (coordination.Budget) for a budget. It publishes the Decision on
// SUBJECT.decision and returns it. With the bids in agent-id order the
// decision is the one the coordination package makes locally for the
// same bids, whatever order they arrived in.

// RequestKind says what a coordination round decides.
type RequestKind string

// Request kinds.
const (
	// KindTask: agents bid for a task; a coordination.SealedBid auction
	// with the request's Pricing, Reserve and Units awards it.
	KindTask RequestKind = "task"
	// KindBudget: agents ask for tokens of a budget; coordination.Budget
	// with the request's Method splits its Tokens.
	KindBudget RequestKind = "budget"
)

// Request is what a coordinator asks the agents in one round.
type Request struct {
	// ID identifies the round; "" makes Round choose a unique one.
	ID string `json:"id"`
	// Kind is KindTask or KindBudget.
	Kind RequestKind `json:"kind"`
	// Subject names what is decided, e.g. the task or the budget.
	Subject string `json:"subject,omitempty"`
	// Deadline is when bids stop being counted; Round sets it.
	Deadline time.Time `json:"deadline"`

	// Pricing, Reserve and Units are the task auction's, as in
	// coordination.SealedBid ("" is first price, 0 no reserve, 0 one unit).
	Pricing coordination.Pricing `json:"pricing,omitempty"`
	Reserve float64              `json:"reserve,omitempty"`
	Units   int                  `json:"units,omitempty"`

	// Tokens is the budget to split and Method how, as in
	// coordination.Budget ("" is equal shares).
	Tokens int                       `json:"tokens,omitempty"`
	Method coordination.BudgetMethod `json:"method,omitempty"`
}

// Bid is one agent's answer to a Request.
type Bid struct {
	// Agent is the agent's id; Serve sets it.
	Agent string `json:"agent"`
	// Round is the request's ID; Serve sets it.
	Round string `json:"round"`
	// Amount is the bid for a task (coordination.Bid.Amount), finite and
	// >= 0; bidding below the Reserve declines.
	Amount float64 `json:"amount,omitempty"`
	// Value and Demand are a budget request's (coordination.BudgetRequest):
	// what a token is worth to the agent and the most it can use (0: no
	// limit).
	Value  float64 `json:"value,omitempty"`
	Demand int     `json:"demand,omitempty"`
}

// Decision is the outcome of a coordination round.
type Decision struct {
	Request Request `json:"request"`
	// Bids are the bids counted, by agent id.
	Bids []Bid `json:"bids"`
	// Missing are the listed agents whose bid did not arrive by the
	// deadline, by agent id.
	Missing []string `json:"missing,omitempty"`
	// Outcome is the task auction's result (KindTask); its Index fields
	// index Bids.
	Outcome coordination.Outcome `json:"outcome"`
	// Allocation is the budget split (KindBudget), aligned with Bids.
	Allocation coordination.Allocation `json:"allocation"`
}

// DecisionSubject is where Round publishes the decisions of rounds held
// on subject.
func DecisionSubject(subject string) string { return subject + ".decision" }

// Serve answers the requests published on subject as agent agentID, with
// the bids bid returns (called for one request at a time), until ctx
// ends or the returned subscription is unsubscribed. It returns once the
// server has the subscription, so a Round started afterwards reaches it.
func Serve(ctx context.Context, nc *nats.Conn, subject, agentID string, bid func(Request) Bid) (*nats.Subscription, error) {
	if agentID == "" {
		return nil, errors.New("cluster: serve: an agent needs an id")
	}
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		var req Request
		if m.Reply == "" || json.Unmarshal(m.Data, &req) != nil {
			return // not a round's request
		}
		b := bid(req)
		b.Agent, b.Round = agentID, req.ID
		data, err := json.Marshal(b)
		if err != nil {
			return // e.g. a NaN amount: no bid
		}
		m.Respond(data)
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: serve %s as %s: %w", subject, agentID, err)
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := nc.FlushWithContext(fctx); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("cluster: serve %s as %s: %w", subject, agentID, err)
	}
	context.AfterFunc(ctx, func() { sub.Unsubscribe() })
	return sub, nil
}

// Round holds one coordination round on subject among agents: it
// publishes req, counts the bids of the listed agents that arrive within
// timeout (all bids within timeout if agents is empty; the round ends
// early once every listed agent has bid), decides, and publishes the
// decision on DecisionSubject(subject). With no bids the decision has no
// outcome and the error matches coordination.ErrNoBids; a bad bid is a
// *coordination.InputError naming the agent.
func Round(ctx context.Context, nc *nats.Conn, subject string, req Request, agents []string, timeout time.Duration) (Decision, error) {
	switch req.Kind {
	case KindTask, KindBudget:
	default:
		return Decision{}, fmt.Errorf("cluster: round: unknown request kind %q (known: task, budget)", req.Kind)
	}
	if timeout <= 0 {
		return Decision{}, fmt.Errorf("cluster: round: timeout %v must be > 0", timeout)
	}
	if req.ID == "" {
		req.ID = newID()
	}
	req.Deadline = time.Now().Add(timeout)
	want := make(map[string]bool, len(agents))
	for _, a := range agents {
		want[a] = true
	}
	inbox := nc.NewInbox()
	// A channel of our size: SubscribeSync's holds 64k messages, and
	// allocating it each round costs more than the round.
	replies := make(chan *nats.Msg, max(4*len(agents), 256))
	sub, err := nc.ChanSubscribe(inbox, replies)
	if err != nil {
		return Decision{}, fmt.Errorf("cluster: round %s: %w", req.ID, err)
	}
	defer sub.Unsubscribe()
	data, err := json.Marshal(req)
	if err != nil {
		return Decision{}, fmt.Errorf("cluster: round %s: %w", req.ID, err)
	}
	if err := nc.PublishMsg(&nats.Msg{Subject: subject, Reply: inbox, Data: data}); err != nil {
		return Decision{}, fmt.Errorf("cluster: round %s: %w", req.ID, err)
	}

	bctx, cancel := context.WithDeadline(ctx, req.Deadline)
	defer cancel()
	got := make(map[string]Bid, len(agents))
collect:
	for len(want) == 0 || len(got) < len(want) {
		if bctx.Err() != nil && ctx.Err() == nil {
			break // the deadline: later bids are not counted
		}
		var m *nats.Msg
		select {
		case m = <-replies:
		case <-bctx.Done():
			if ctx.Err() != nil {
				return Decision{}, fmt.Errorf("cluster: round %s: %w", req.ID, ctx.Err())
			}
			break collect // the deadline: later bids are not counted
		}
		var b Bid
		if json.Unmarshal(m.Data, &b) != nil || b.Round != req.ID || b.Agent == "" || len(want) > 0 && !want[b.Agent] {
			continue
		}
		if _, dup := got[b.Agent]; !dup {
			got[b.Agent] = b
		}
	}
	sub.Unsubscribe()

	d := Decision{Request: req, Bids: make([]Bid, 0, len(got))}
	for _, b := range got {
		d.Bids = append(d.Bids, b)
	}
	slices.SortFunc(d.Bids, func(a, b Bid) int { return cmp.Compare(a.Agent, b.Agent) })
	for a := range want {
		if _, ok := got[a]; !ok {
			d.Missing = append(d.Missing, a)
		}
	}
	slices.Sort(d.Missing)
	derr := decide(&d)
	if data, err := json.Marshal(d); err == nil {
		if err := nc.Publish(DecisionSubject(subject), data); err != nil && derr == nil {
			derr = fmt.Errorf("publishing the decision: %w", err)
		}
	}
	if derr != nil {
		return d, fmt.Errorf("cluster: round %s: %w", req.ID, derr)
	}
	return d, nil
}

// decide applies the coordination package's rule to d.Bids.
func decide(d *Decision) error {
	var err error
	switch d.Request.Kind {
	case KindTask:
		bids := make([]coordination.Bid, len(d.Bids))
		for i, b := range d.Bids {
			bids[i] = coordination.Bid{Bidder: b.Agent, Amount: b.Amount}
		}
		auction := coordination.SealedBid{Pricing: d.Request.Pricing, Reserve: d.Request.Reserve, Units: d.Request.Units}
		d.Outcome, err = auction.Run(bids)
	case KindBudget:
		reqs := make([]coordination.BudgetRequest, len(d.Bids))
		for i, b := range d.Bids {
			reqs[i] = coordination.BudgetRequest{Agent: b.Agent, Value: b.Value, Demand: b.Demand}
		}
		d.Allocation, err = coordination.Budget{Method: d.Request.Method}.Split(d.Request.Tokens, reqs)
	}
	return err
}
