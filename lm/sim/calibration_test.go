package sim_test

import (
	"testing"

	"github.com/mabeam/mabeam/lm/sim"
)

// calibration is the single-agent table of the package documentation:
// accuracy of one solver with the reference instruction at temperature 0,
// per family and difficulty, for sim-small, sim-medium, sim-large and
// sim-adversary.
var calibration = []struct {
	family     string
	difficulty int
	acc        [4]float64
}{
	{"arithmetic", 1, [4]float64{0.52, 0.77, 0.88, 0.15}},
	{"arithmetic", 2, [4]float64{0.39, 0.59, 0.79, 0.09}},
	{"arithmetic", 3, [4]float64{0.23, 0.35, 0.63, 0.03}},
	{"multihop", 1, [4]float64{0.54, 0.74, 0.90, 0.14}},
	{"multihop", 2, [4]float64{0.33, 0.56, 0.79, 0.07}},
	{"multihop", 3, [4]float64{0.20, 0.39, 0.64, 0.02}},
	{"logic", 1, [4]float64{0.53, 0.72, 0.89, 0.16}},
	{"logic", 2, [4]float64{0.36, 0.52, 0.78, 0.05}},
	{"logic", 3, [4]float64{0.17, 0.30, 0.63, 0.03}},
}

// calibrationTolerance allows for sampling noise over 400 questions and for
// small changes in the generators.
const calibrationTolerance = 0.07

func TestCalibration(t *testing.T) {
	m := sim.New(nil)
	models := [4]string{"sim-small", "sim-medium", "sim-large", "sim-adversary"}
	for _, row := range calibration {
		exs := examples(t, row.family, 400, row.difficulty)
		var got [4]float64
		for i, model := range models {
			got[i] = accuracy(t, m, call{model: model, instruction: refInstruction}, exs)
			if d := got[i] - row.acc[i]; d > calibrationTolerance || d < -calibrationTolerance {
				t.Errorf("%s difficulty %d, %s: accuracy %.3f, table says %.2f", row.family, row.difficulty, model, got[i], row.acc[i])
			}
		}
		t.Logf("%-10s %d  %.3f %.3f %.3f %.3f", row.family, row.difficulty, got[0], got[1], got[2], got[3])
		if !(got[3] < got[0] && got[0] < got[1] && got[1] < got[2]) {
			t.Errorf("%s difficulty %d: accuracies %v not ordered adversary < small < medium < large", row.family, row.difficulty, got)
		}
	}
	// The headline figure: one sim-medium solver on medium arithmetic.
	if a := accuracy(t, m, call{model: "sim-medium", instruction: refInstruction}, examples(t, "arithmetic", 400, 2)); a < 0.55 || a > 0.65 {
		t.Errorf("sim-medium on medium arithmetic: accuracy %.3f, want 0.55-0.65", a)
	}
}
