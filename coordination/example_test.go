package coordination_test

import (
	"fmt"

	"github.com/mabeam/mabeam/coordination"
)

// Sell a 4,000-token budget to the agent that values it most, in a Vickrey
// (second-price) auction with a reserve: the winner pays the second-highest
// bid, so each agent's best bid is its true value per token.
func Example() {
	bids := []coordination.Bid{
		{Bidder: "solver", Amount: 0.82}, // value per token, e.g. from confidence
		{Bidder: "critic", Amount: 0.64},
		{Bidder: "planner", Amount: 0.71},
		{Bidder: "judge", Amount: 0.25}, // below the reserve: rejected
	}
	auction := coordination.SealedBid{Pricing: coordination.SecondPrice, Reserve: 0.3}
	out, err := auction.Run(bids)
	if err != nil {
		fmt.Println(err)
		return
	}
	w, _ := out.Winner()
	fmt.Printf("winner %s bid %.2f pays %.2f per token, %.0f for 4000 tokens\n", w.Bidder, w.Bid, w.Price, 4000*w.Price)
	// Output:
	// winner solver bid 0.82 pays 0.71 per token, 2840 for 4000 tokens
}
