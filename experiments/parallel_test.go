package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/store"
)

// storedTrials reads a study's trials from a store.
func storedTrials(t *testing.T, s *store.Store, study string) (store.Study, []optimizer.Trial) {
	t.Helper()
	rec, err := s.Study(context.Background(), study)
	if err != nil {
		t.Fatal(err)
	}
	trials, err := s.Trials(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	return rec, trials
}

// sameTrials reports the first difference between two trial tables, "" if
// none (durations and times aside).
func sameTrials(got, want []optimizer.Trial) string {
	if len(got) != len(want) {
		return "another number of trials"
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Number != w.Number || g.State != w.State || g.Value != w.Value || g.Calls != w.Calls || g.Tokens != w.Tokens ||
			g.Cost != w.Cost || !reflect.DeepEqual(g.Params, w.Params) || !reflect.DeepEqual(g.Agents, w.Agents) || string(g.Data) != string(w.Data) {
			return fmt.Sprintf("trial %d differs:\n%+v\nwant\n%+v", i, g, w)
		}
	}
	return ""
}

// Studies run three at a time store the trials and results they store one
// after another.
func TestRunnerParallel(t *testing.T) {
	ctx := context.Background()
	load := func() []*Study { _, sts := tinyStudies(t); return sts }
	seq, par := openStore(t), openStore(t)
	if _, err := (&Runner{Store: seq}).Run(ctx, load()); err != nil {
		t.Fatal(err)
	}
	sts := load()
	sums, err := (&Runner{Store: par, Parallel: 3}).Run(ctx, sts)
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != len(sts) || len(sts) != 4 {
		t.Fatalf("%d summaries of %d studies", len(sums), len(sts))
	}
	for i, st := range sts {
		if sums[i].Study != st.Name {
			t.Errorf("summary %d is of %s, want %s: the studies' order", i, sums[i].Study, st.Name)
		}
		wrec, want := storedTrials(t, seq, st.Name)
		grec, got := storedTrials(t, par, st.Name)
		if d := sameTrials(got, want); d != "" || len(want) < 10 {
			t.Errorf("%s: %d trials in parallel, %d in sequence: %s", st.Name, len(got), len(want), d)
		}
		if *grec.Result.TestScore != *wrec.Result.TestScore || grec.Status != store.StatusComplete {
			t.Errorf("%s: test %v (%s) in parallel, %v in sequence", st.Name, *grec.Result.TestScore, grec.Status, *wrec.Result.TestScore)
		}
	}
}

// A stop ends every study running at once: each is left interrupted or
// complete, and the run says it stopped.
func TestRunnerParallelStop(t *testing.T) {
	s := openStore(t)
	var trials atomic.Int64
	r := &Runner{Store: s, Parallel: 2, NoAnalysis: true, Stop: func() bool { return trials.Add(1) >= 5 }}
	sts := runnerStudies(t, runnerConfig, nil)
	_, err := r.Run(context.Background(), sts)
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("Run = %v, want ErrStopped", err)
	}
	for _, st := range sts {
		rec, _ := storedTrials(t, s, st.Name)
		if rec.Status != store.StatusInterrupted && rec.Status != store.StatusComplete {
			t.Errorf("%s: status %s after the stop", st.Name, rec.Status)
		}
	}
}

// The experiment's record holds its config as written, under the name it
// ran as (a notebook reads it from experiments.config).
func TestExperimentConfigStored(t *testing.T) {
	s := openStore(t)
	c := mustParse(t, runnerConfig, "rt.yaml")
	if err := c.Rename("renamed"); err != nil {
		t.Fatal(err)
	}
	sts, err := c.Studies(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Runner{Store: s, NoAnalysis: true}).Run(context.Background(), sts); err != nil {
		t.Fatal(err)
	}
	e, err := s.Experiment(context.Background(), "renamed")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(e.Config, &got); err != nil || got["yaml"] != runnerConfig || got["name"] != "renamed" || got["file"] != "rt.yaml" {
		t.Errorf("experiments.config = %s (%v), want the config as written", e.Config, err)
	}
}
