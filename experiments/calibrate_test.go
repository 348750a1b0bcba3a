package experiments

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/lm/sim"
)

// A figure not known (the standard error of a held-out family of one
// question) is null in calibrate's JSON, not an encoding error.
func TestCalibrateDocNaN(t *testing.T) {
	r := &CalibrateResult{Calibration: &sim.Calibration{
		Families: []sim.FamilyFit{{Model: "m", Family: "logic", N: 1, Questions: 1, Accuracy: 1, AccuracySE: math.NaN()}},
	}, Checks: []sim.FamilyCheck{{Model: "m", Family: "logic", N: 2, Questions: 1, Accuracy: 0.5, Fitted: 0.4, Diff: -0.1, DiffSE: math.NaN()}}}
	b, err := json.Marshal(r.Doc("p.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"accuracy_se":null`, `"diff_se":null`, `"diff":-0.1`, `"profiles_file":"p.yaml"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}
