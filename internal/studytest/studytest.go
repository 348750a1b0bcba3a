// Package studytest holds what the optimizers' tests share: a study
// compiled from a config text, and trial tables compared across runs.
package studytest

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/optimizer"
)

// First compiles a config's first study.
func First(t testing.TB, yaml string) *experiments.Study {
	t.Helper()
	c, err := experiments.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sts, err := c.Studies(nil)
	if err != nil {
		t.Fatal(err)
	}
	return sts[0]
}

// Strip returns the trials with what differs between two runs of the
// same study blanked (start times and durations) and NaN values made
// comparable, for reflect.DeepEqual.
func Strip(ts []optimizer.Trial) []optimizer.Trial {
	out := slices.Clone(ts)
	for i := range out {
		out[i].Start, out[i].Duration = time.Time{}, 0
		if math.IsNaN(out[i].Value) {
			out[i].Value = -1
		}
	}
	return out
}
