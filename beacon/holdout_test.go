package beacon_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/beacon"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// Development functions, none of them among the black-box figure's five:
// BEACON's defaults are compared on these, so that nothing is tuned to the
// figure's functions.
var holdout = map[string]struct {
	sp *space.Space
	f  func(space.Assignment) float64
}{
	"levy4": {boxSpace(4, -10, 10), func(a space.Assignment) float64 {
		x := vec(a, 4)
		w := func(v float64) float64 { return 1 + (v-1)/4 }
		s := math.Pow(math.Sin(math.Pi*w(x[0])), 2)
		for i := 0; i < 3; i++ {
			s += math.Pow(w(x[i])-1, 2) * (1 + 10*math.Pow(math.Sin(math.Pi*w(x[i])+1), 2))
		}
		return s + math.Pow(w(x[3])-1, 2)*(1+math.Pow(math.Sin(2*math.Pi*w(x[3])), 2))
	}},
	"styblinski4": {boxSpace(4, -5, 5), func(a space.Assignment) float64 {
		s := 0.0
		for _, v := range vec(a, 4) {
			s += v*v*v*v - 16*v*v + 5*v
		}
		return s / 2
	}},
	"michalewicz5": {boxSpace(5, 0, math.Pi), func(a space.Assignment) float64 {
		s := 0.0
		for i, v := range vec(a, 5) {
			s -= math.Sin(v) * math.Pow(math.Sin(float64(i+1)*v*v/math.Pi), 20)
		}
		return s
	}},
	"rastrigin3": {boxSpace(3, -5.12, 5.12), func(a space.Assignment) float64 {
		s := 30.0
		for _, v := range vec(a, 3) {
			s += v*v - 10*math.Cos(2*math.Pi*v)
		}
		return s
	}},
	"dixonprice6": {boxSpace(6, -10, 10), func(a space.Assignment) float64 {
		x := vec(a, 6)
		s := (x[0] - 1) * (x[0] - 1)
		for i := 1; i < 6; i++ {
			s += float64(i+1) * math.Pow(2*x[i]*x[i]-x[i-1], 2)
		}
		return s
	}},
	// A tuning-shaped problem: log-scale floats, an integer, a choice.
	"tuning": {space.MustNew(logFloat("lr", 1e-5, 1), logFloat("wd", 1e-6, 1e-1), space.Int("layers", 1, 12), space.Choice("act", "relu", "gelu", "tanh")),
		func(a space.Assignment) float64 {
			lr, wd := math.Log10(a.Float("lr")), math.Log10(a.Float("wd"))
			act := map[string]float64{"relu": 0.1, "gelu": 0, "tanh": 0.4}[a.String("act")]
			l := float64(a.Int("layers"))
			return math.Pow(lr+2.7, 2) + 0.3*math.Pow(wd+3.5, 2) + 0.05*math.Pow(l-7, 2) + 0.5*math.Pow(lr+2.7, 2)*math.Abs(wd+3.5) + act
		}},
	"mixedcat": {space.MustNew(space.Float("x0", -2, 2), space.Float("x1", -2, 2), space.Choice("m", "p", "q", "r"), space.Int("k", 0, 6)),
		func(a space.Assignment) float64 {
			off := map[string]float64{"p": 0.7, "q": -0.4, "r": 1.2}[a.String("m")]
			return math.Pow(a.Float("x0")-off, 2) + math.Pow(a.Float("x1")+off, 2) + 0.2*math.Abs(float64(a.Int("k")-4)) + map[string]float64{"p": 0.3, "q": 0, "r": 0.6}[a.String("m")]
		}},
}

func median(sorted []float64) float64 {
	n := len(sorted)
	return (sorted[(n-1)/2] + sorted[n/2]) / 2
}

func boxSpace(d int, lo, hi float64) *space.Space {
	var vs []space.Var
	for i := range d {
		vs = append(vs, space.Float(fmt.Sprintf("x%d", i), lo, hi))
	}
	return space.MustNew(vs...)
}

func vec(a space.Assignment, d int) []float64 {
	out := make([]float64, d)
	for i := range out {
		out[i] = a.Float(fmt.Sprintf("x%d", i))
	}
	return out
}

// TestHoldout prints BEACON's (and random search's) median best value over
// 10 seeds (MABEAM_HOLDOUT_SEEDS) of 50 trials on the development functions;
// MABEAM_HOLDOUT=1.
// MABEAM_HOLDOUT_SETTINGS='{...}' adds a column for BEACON with those
// settings. It reports and asserts nothing: it is how defaults are judged
// away from the black-box figure's functions.
func TestHoldout(t *testing.T) {
	if os.Getenv("MABEAM_HOLDOUT") == "" {
		t.Skip("MABEAM_HOLDOUT=1")
	}
	samplers := map[string]optimizer.Sampler{"random": optimizer.Random{}, "beacon": beacon.Sampler{}}
	if v := os.Getenv("MABEAM_HOLDOUT_SETTINGS"); v != "" { // e.g. {"deterministic": true}
		var settings map[string]any
		if err := json.Unmarshal([]byte(v), &settings); err != nil {
			t.Fatalf("MABEAM_HOLDOUT_SETTINGS: %v", err)
		}
		smp, err := optimizer.SamplerWith("beacon", settings)
		if err != nil {
			t.Fatal(err)
		}
		samplers["variant"] = smp
	}
	seeds := 10
	if v := os.Getenv("MABEAM_HOLDOUT_SEEDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("MABEAM_HOLDOUT_SEEDS=%q is not a positive number", v)
		}
		seeds = n
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range holdout {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		fn := holdout[name]
		var row []string
		var base []float64
		for _, sn := range []string{"random", "beacon", "variant"} {
			smp, ok := samplers[sn]
			if !ok {
				continue
			}
			var bests []float64
			for seed := range uint64(seeds) {
				st, _ := optimizer.NewStudy(fn.sp, smp, optimizer.Minimize, seed)
				for range 50 {
					tr, err := st.Ask()
					if err != nil {
						t.Fatal(err)
					}
					st.Tell(tr.Number, fn.f(tr.Params))
				}
				b, _ := st.Best()
				bests = append(bests, b.Value)
			}
			if sn == "beacon" {
				base = slices.Clone(bests)
			}
			if sn == "variant" { // paired by seed: the same random start
				wins := 0
				for i := range bests {
					if bests[i] < base[i] {
						wins++
					}
				}
				row = append(row, fmt.Sprintf("variant better on %d/%d seeds", wins, seeds))
			}
			slices.Sort(bests)
			row = append(row, fmt.Sprintf("%s %.4g", sn, median(bests)))
		}
		t.Logf("%-13s %s", name, strings.Join(row, " | "))
	}
}

func logFloat(name string, low, high float64) space.Var {
	v := space.Float(name, low, high)
	v.Log = true
	return v
}
