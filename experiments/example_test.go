package experiments_test

import (
	"fmt"

	"github.com/mabeam/mabeam/experiments"
)

// Parse a small config and list the studies it compiles to: one per
// (dataset, optimizer, seed).
func Example() {
	cfg, err := experiments.Parse([]byte(`
name: demo
seeds: [1, 2]
datasets:
  - {name: arith, family: arithmetic, difficulty: 1, train: 2, val: 10, test: 20}
  - {name: logic, family: logic, train: 2, val: 10}
team:
  agents:
    - {id: a1, role: solver, model: {choices: [sim-small, sim-large]}, demos: {low: 0, high: 2}}
    - {id: a2, role: critic, optional: true}
  rounds: {low: 0, high: 2}
optimizers: [random]
budget: {trials: 5}
`), "demo.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	studies, err := cfg.Studies(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range studies {
		fmt.Println(st.Name, st.Problem.Space.Len(), "variables")
	}

	// Errors name the file, line and field.
	_, err = experiments.Parse([]byte("name: demo\nseeds: [1]\nbudget: {trails: 5}\n"), "typo.yaml")
	fmt.Println(err)
	// Output:
	// demo/arith/random/seed1 8 variables
	// demo/arith/random/seed2 8 variables
	// demo/logic/random/seed1 8 variables
	// demo/logic/random/seed2 8 variables
	// typo.yaml:1: datasets: missing key "datasets" (e.g. datasets: [{name: arith, family: arithmetic, val: 40}])
	// typo.yaml:1: team: missing key "team" (e.g. team: {agents: [{id: a1, role: solver}]})
	// typo.yaml:1: optimizers: missing key "optimizers" (e.g. optimizers: [{name: random}])
	// typo.yaml:3: budget.trails: unknown key "trails" (did you mean "trials"?) (valid: trials, calls, cost)
}
