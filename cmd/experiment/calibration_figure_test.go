package main

// The calibration figure of the real-models issue: a real-model run on
// the three built-in families through the loopback server, calibrated, and
// the fitted surrogate's single-agent accuracy per family checked against
// the real one on held-out questions, for two "real models": the surrogate
// with hidden profiles (the fit's own form), and a plain table of accuracy
// by family and difficulty that ignores the prompt (another form). Run with
// MABEAM_FIGURES=1 go test ./cmd/experiment -run TestCalibrationFigure -v.

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/experiments"
	"github.com/mabeam/mabeam/internal/openaitest"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
)

// tableModel answers a built-in question right with a probability given
// by model, family and difficulty alone, at a fixed confidence, in the
// surrogate's reply format; anything else (SIMBA's calls) the surrogate
// answers.
func tableModel(acc map[string]map[string][3]float64) lm.Model {
	m := sim.New(nil)
	return lm.ModelFunc(func(ctx context.Context, req lm.Request) (lm.Response, error) {
		resp, err := m.Generate(ctx, req)
		if err != nil {
			return resp, err
		}
		p, perr := prompt.Parse(req.Messages)
		if perr != nil || (p.Task != prompt.TaskAnswer && p.Task != "") {
			return resp, nil
		}
		sol, ok := datasets.Solve(p.Question)
		if !ok || len(sol.Distractors) == 0 {
			return resp, nil
		}
		d := min(max(int(math.Round(sol.Hardness)), 1), 3)
		h := fnv.New64a()
		fmt.Fprintf(h, "%s\x00%s\x00%g\x00%d", req.Model, p.Question, req.Temperature, req.Sample)
		u := float64(h.Sum64()>>11) / (1 << 53)
		ans, conf := sol.Distractors[0], 0.7
		if u < acc[req.Model][sol.Family][d-1] {
			ans, conf = sol.Answer, 0.85
		}
		text := resp.Text
		if i := strings.LastIndex(text, "Answer:"); i >= 0 {
			text = text[:i]
		}
		resp.Text = text + prompt.FormatAnswer(ans, conf)
		resp.Usage.CompletionTokens = lm.EstimateTokens(resp.Text)
		return resp, nil
	})
}

func TestCalibrationFigure(t *testing.T) {
	if os.Getenv("MABEAM_FIGURES") == "" {
		t.Skip("set MABEAM_FIGURES=1")
	}
	t.Setenv(testKeyEnv, testKey)
	shift := map[string]map[string]float64{
		"sim-small":  {"arithmetic": 0.8, "multihop": -0.4, "logic": 0.5},
		"sim-medium": {"arithmetic": -0.5, "multihop": 0.6, "logic": -0.3},
	}
	var hidden []sim.Profile
	for _, p := range sim.DefaultProfiles() {
		if s, ok := shift[p.Name]; ok {
			sk := map[string]float64{}
			for f, d := range s {
				sk[f] = p.Skill[f] + d
			}
			p.Skill = sk
			p.Hardness = map[string]float64{"arithmetic": 0.6, "multihop": 1.2, "logic": 0.9}
			hidden = append(hidden, p)
		}
	}
	worlds := []struct {
		name  string
		model lm.Model
	}{
		{"hidden profiles", sim.New(&sim.Options{Profiles: hidden})},
		{"accuracy table", tableModel(map[string]map[string][3]float64{
			"sim-small":  {"arithmetic": {0.7, 0.45, 0.25}, "multihop": {0.6, 0.4, 0.3}, "logic": {0.55, 0.5, 0.45}},
			"sim-medium": {"arithmetic": {0.85, 0.7, 0.5}, "multihop": {0.8, 0.55, 0.35}, "logic": {0.75, 0.6, 0.4}},
		})},
	}
	for _, w := range worlds {
		dir := t.TempDir()
		srv := newModelServer(t, openaitest.Options{}, w.model)
		cfg := writeConfig(t, dir, "calib.yaml", calibrationConfig(openaiLM(srv, ""),
			"{name: arith, family: arithmetic, val: 400}, {name: multihop, family: multihop, val: 400}, {name: logic, family: logic, val: 400}"))
		db := filepath.Join(dir, "calib.db")
		if code, _, stderr := cli(t, "run", cfg, "--db", db, "--no-analysis"); code != 0 {
			t.Fatalf("%s: run exited %d: %s", w.name, code, stderr)
		}
		code, stdout, stderr := cli(t, "calibrate", "--db", db, "--out", filepath.Join(dir, "p.yaml"), "--json")
		if code != 0 {
			t.Fatalf("%s: calibrate exited %d: %s", w.name, code, stderr)
		}
		var res experiments.CalibrateDoc
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d calls fitted", w.name, res.Fit)
		for _, f := range res.Families {
			t.Logf("fit set: %s %s: %d questions (%d calls), real %.3f, fitted %.3f [se %.3f], built-in %.3f", f.Model, f.Family, f.Questions, f.N, f.Accuracy, f.Fitted, f.AccuracySE, f.Base)
		}
		t.Logf("| model | family | held-out questions (calls) | real | fitted | fitted − real [se] | built-in |")
		var worst float64
		for _, h := range res.HeldOut {
			d := float64(h.Fitted - h.Accuracy)
			worst = max(worst, math.Abs(d)/float64(h.DiffSE))
			t.Logf("| %s | %s | %d (%d) | %.3f | %.3f | %+.3f [%.3f] | %.3f |", h.Model, h.Family, h.Questions, h.N, h.Accuracy, h.Fitted, d, h.DiffSE, h.Base)
		}
		t.Logf("%s: largest |fitted − real| is %.2f standard errors", w.name, worst)
	}
}
