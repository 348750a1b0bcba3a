package experiments

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/store"
)

// CalibrateOptions select the recorded calls Calibrate fits to and how
// many are held out to check the fit.
type CalibrateOptions struct {
	// Experiment limits the calls to one experiment's studies; "" reads
	// every study of the store.
	Experiment string
	// HeldOut is the share of questions held out of the fit to check it
	// (sim.SplitHeldOut); 0 means DefaultHeldOut.
	HeldOut float64
	// Seed seeds the held-out split.
	Seed uint64
	// Source names the records in the fitted profiles' descriptions (e.g.
	// the store's path).
	Source string
}

// DefaultHeldOut is the share of questions Calibrate holds out by default.
const DefaultHeldOut = 0.3

// ErrNoCalls is returned by Calibrate for a store without recorded calls.
var ErrNoCalls = errors.New("experiments: no recorded calls")

// CalibrateResult is a fit of surrogate profiles to a store's recorded
// calls, and its check on the held-out questions.
type CalibrateResult struct {
	*sim.Calibration
	// Checks compare, per model and family of the held-out calls, the real
	// accuracy with the fitted and the base profiles' expectation.
	Checks []sim.FamilyCheck
	// Studies counts the studies with recorded calls; Calls their calls,
	// Duplicates those left out as repeats of another (the same request
	// and reply: a cached or repeated call adds nothing), Fit and Held the
	// rest on each side of the split.
	Studies, Calls, Duplicates, Fit, Held int
}

// Calibrate fits surrogate profiles (sim.Calibrate) to the calls recorded
// in s (the calls table: a real-model run records them by default), one
// profile per model name the teams used, priced as the studies' configs
// priced the server model behind it. The questions of a share o.HeldOut of
// the calls are held out of the fit, and the fitted profiles are checked
// against the real accuracy on them. It returns ErrNoCalls when no study
// has recorded calls.
func Calibrate(ctx context.Context, s *store.Store, o CalibrateOptions) (*CalibrateResult, error) {
	if o.HeldOut == 0 {
		o.HeldOut = DefaultHeldOut
	}
	if !(o.HeldOut > 0 && o.HeldOut < 1) {
		return nil, fmt.Errorf("experiments: held-out share %g outside (0, 1)", o.HeldOut)
	}
	studies, err := s.Studies(ctx, o.Experiment)
	if err != nil {
		return nil, err
	}
	res := &CalibrateResult{}
	prices := map[string]lm.Price{}
	seen := map[callKey]bool{}
	var recs []sim.Record
	for _, st := range studies {
		calls, _, err := s.Calls(ctx, st.ID)
		if err != nil {
			return nil, err
		}
		if len(calls) == 0 {
			continue
		}
		res.Studies++
		if err := configPrices(st.Config, prices); err != nil {
			return nil, fmt.Errorf("experiments: study %q: its config's prices: %w", st.Name, err)
		}
		for i := range calls {
			c := &calls[i]
			res.Calls++
			k := keyOf(c)
			if seen[k] {
				res.Duplicates++
				continue
			}
			seen[k] = true
			score := c.Score
			if math.IsNaN(score) {
				score = -1 // not scored: sim.Calibrate skips it as invalid
			}
			recs = append(recs, sim.Record{
				Model: c.Model, Messages: c.Messages, Temperature: c.Temperature, MaxTokens: c.MaxTokens,
				Family: c.Family, Difficulty: c.Difficulty, Score: score, Confidence: c.Confidence, Parsed: c.Parsed,
				PromptTokens: int(c.PromptTokens), CompletionTokens: int(c.CompletionTokens), Latency: c.Latency,
			})
		}
	}
	if len(recs) == 0 {
		where := "the store"
		if o.Experiment != "" {
			where = "experiment " + o.Experiment
		}
		return nil, fmt.Errorf("%w in %s: run a real-model experiment with lm.record_calls (on by default for backend openai) first", ErrNoCalls, where)
	}
	fit, held := sim.SplitHeldOut(recs, o.HeldOut, o.Seed)
	res.Fit, res.Held = len(fit), len(held)
	cal, err := sim.Calibrate(fit, nil, &sim.CalibrateOptions{Source: o.Source, Prices: prices})
	if err != nil {
		return nil, err
	}
	res.Calibration = cal
	res.Checks = cal.Check(held)
	return res, nil
}

// callKey identifies a call by its request (lm.Key) and its reply.
type callKey struct{ request, reply string }

func keyOf(c *store.Call) callKey {
	req := lm.Request{Model: c.Model, Messages: c.Messages, Temperature: c.Temperature, MaxTokens: c.MaxTokens}
	return callKey{lm.Key("", req), c.Output}
}

// configPrices adds to prices the price of each model name a study's
// stored config can use under backend openai (Config.ModelComponents'
// names, priced by the server model each stands for); a sim study's models
// keep their profiles' prices.
func configPrices(config []byte, prices map[string]lm.Price) error {
	if len(config) == 0 {
		return nil
	}
	l, err := studyLM(config)
	if err != nil || l.Backend != "openai" {
		return err
	}
	c := &Config{LM: l}
	for _, m := range c.ModelComponents() {
		if p, ok := l.Prices[c.ServerModel(m.Name)]; ok {
			prices[m.Name] = p
		}
	}
	return nil
}

// CalibrateDoc is `experiment calibrate --json`'s document: the counts,
// the fit and its check, by model and family. A figure that is not known
// (a standard error of a single question) is null.
type CalibrateDoc struct {
	ProfilesFile string           `json:"profiles_file"`
	Studies      int              `json:"studies"`
	Calls        int              `json:"calls"`
	Duplicates   int              `json:"duplicates"`
	Fit          int              `json:"fit_calls"`
	Held         int              `json:"held_out_calls"`
	Skipped      sim.Skipped      `json:"skipped"`
	Families     []FamilyFitDoc   `json:"families"`
	Models       []sim.ModelFit   `json:"models"`
	HeldOut      []FamilyCheckDoc `json:"held_out"`
}

// FamilyFitDoc is a sim.FamilyFit in CalibrateDoc.
type FamilyFitDoc struct {
	Model      string    `json:"model"`
	Family     string    `json:"family"`
	N          int       `json:"n"`
	Questions  int       `json:"questions"`
	Accuracy   jsonFloat `json:"accuracy"`
	AccuracySE jsonFloat `json:"accuracy_se"`
	Base       jsonFloat `json:"base"`
	Fitted     jsonFloat `json:"fitted"`
	Skill      jsonFloat `json:"skill"`
	SkillSE    jsonFloat `json:"skill_se"`
	Slope      jsonFloat `json:"slope"`
	SlopeSE    jsonFloat `json:"slope_se"`
}

// FamilyCheckDoc is a sim.FamilyCheck in CalibrateDoc.
type FamilyCheckDoc struct {
	Model     string    `json:"model"`
	Family    string    `json:"family"`
	N         int       `json:"n"`
	Questions int       `json:"questions"`
	Accuracy  jsonFloat `json:"accuracy"`
	Lo        jsonFloat `json:"lo"`
	Hi        jsonFloat `json:"hi"`
	Fitted    jsonFloat `json:"fitted"`
	Base      jsonFloat `json:"base"`
	Diff      jsonFloat `json:"diff"`
	DiffSE    jsonFloat `json:"diff_se"`
}

// Doc is r as CalibrateDoc, naming the profiles file written.
func (r *CalibrateResult) Doc(profilesFile string) CalibrateDoc {
	d := CalibrateDoc{ProfilesFile: profilesFile, Studies: r.Studies, Calls: r.Calls, Duplicates: r.Duplicates,
		Fit: r.Fit, Held: r.Held, Skipped: r.Skipped, Models: r.Models}
	for _, f := range r.Families {
		d.Families = append(d.Families, FamilyFitDoc{f.Model, f.Family, f.N, f.Questions, jsonFloat(f.Accuracy),
			jsonFloat(f.AccuracySE), jsonFloat(f.Base), jsonFloat(f.Fitted), jsonFloat(f.Skill), jsonFloat(f.SkillSE),
			jsonFloat(f.Slope), jsonFloat(f.SlopeSE)})
	}
	for _, c := range r.Checks {
		d.HeldOut = append(d.HeldOut, FamilyCheckDoc{c.Model, c.Family, c.N, c.Questions, jsonFloat(c.Accuracy),
			jsonFloat(c.Lo), jsonFloat(c.Hi), jsonFloat(c.Fitted), jsonFloat(c.Base), jsonFloat(c.Diff), jsonFloat(c.DiffSE)})
	}
	return d
}
