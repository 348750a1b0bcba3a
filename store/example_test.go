package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/store"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "mabeam")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := store.Open(ctx, filepath.Join(dir, "mabeam.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	st, err := s.CreateStudy(ctx, store.Study{Name: "demo", Optimizer: "random", Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	for n, temp := range []float64{0.2, 0.7} {
		rec := store.TrialRecord{
			Trial: optimizer.Trial{
				Number: n,
				State:  optimizer.Complete,
				Value:  0.9 - temp/2, // the team's accuracy on its batch
				Params: space.Assignment{"temperature": temp, "rounds": n + 1},
			},
			Agents: []store.AgentMetric{{Agent: "solver-1", Role: "solver", Model: "sim-small", Accuracy: 0.8}},
		}
		if err := s.FinishTrial(ctx, st.ID, rec); err != nil {
			log.Fatal(err)
		}
	}

	trials, err := s.Trials(ctx, st.ID)
	if err != nil {
		log.Fatal(err)
	}
	best, _ := optimizer.Best(trials, st.Direction)
	fmt.Printf("%d trials; best is trial %d with value %.2f and params %v\n",
		len(trials), best.Number, best.Value, best.Params.Key())
	// Output:
	// 2 trials; best is trial 0 with value 0.80 and params {"rounds":1,"temperature":0.2}
}
