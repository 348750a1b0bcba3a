package datasets_test

import (
	"fmt"

	"github.com/mabeam/mabeam/datasets"
)

// Generate two arithmetic problems, solve them from their text alone, and
// score a prediction.
func Example() {
	exs, err := datasets.GenerateFamily("arithmetic", 2, 42, 1)
	if err != nil {
		panic(err)
	}
	for _, ex := range exs {
		s, _ := datasets.Solve(ex.Question)
		fmt.Printf("%s\n  gold %s, solver %s, wrong answers %v\n", ex.Question, ex.Answer, s.Answer, s.Distractors)
	}
	fmt.Println(datasets.ExactMatch("$"+exs[0].Answer+".00", exs[0].Answer))
	// Output:
	// Kofi owns 19 toy cars. He gives 7 toy cars to Arjun. He loses 9 toy cars. How many toy cars does Kofi have at the end?
	//   gold 3, solver 3, wrong answers [12 21 10 17 4]
	// Arjun owns 13 cookies. Omar gives him 3 more cookies. He buys 9 more cookies. How many cookies does Arjun have now?
	//   gold 25, solver 25, wrong answers [16 7 22 19 26]
	// 1
}
