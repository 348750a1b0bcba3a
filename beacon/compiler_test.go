package beacon_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/beacon"
	"github.com/mabeam/mabeam/internal/studytest"
	"github.com/mabeam/mabeam/optimizer"
)

// TestCompiler: on a validation split of 100 the compiler bootstraps
// (trial 0: the baseline on train, its proposals charged to it), then
// scores configurations on mini-batches of 35, puts the best one on the
// full split every 5 search trials and at the end, runs until the call
// budget, and returns a full-validation trial; resumed from any prefix of
// its trials it proposes the same trials.
func TestCompiler(t *testing.T) {
	cfg := strings.Replace(teamConfig, "val: 30", "val: 100", 1)
	cfg = strings.Replace(cfg, "train: 8", "train: 32", 1)
	cfg = strings.Replace(cfg, "trials: 40", "calls: 9000", 1)
	st := studytest.First(t, cfg)
	res, err := st.Opt.Optimize(context.Background(), st.Problem, st.Budget)
	if err != nil {
		t.Fatal(err)
	}
	if res.Spent.Calls > st.Budget.Calls {
		t.Errorf("spent %d calls of %d", res.Spent.Calls, st.Budget.Calls)
	}
	var search, full int
	for i, tr := range res.Trials {
		switch {
		case i == 0:
			if tr.Strategy != beacon.StrategyBootstrap || tr.Split != optimizer.SplitTrain || tr.Batch != 32 {
				t.Errorf("trial 0: %+v", tr)
			}
		case tr.Strategy == beacon.StrategySearch:
			search++
			if tr.Split != optimizer.SplitValBatch || tr.Batch != 35 && tr.State != optimizer.Stopped {
				t.Errorf("search trial %d: split %s batch %d", tr.Number, tr.Split, tr.Batch)
			}
		case tr.Strategy == beacon.StrategyFull:
			full++
			if tr.Split != optimizer.SplitVal || tr.Batch != 100 {
				t.Errorf("full trial %d: split %s batch %d", tr.Number, tr.Split, tr.Batch)
			}
		}
	}
	if search < 20 || full < search/5 || !res.BestOK || res.Best.Strategy != beacon.StrategyFull {
		t.Errorf("%d search, %d full trials; best %+v", search, full, res.Best)
	}
	// Agents' instructions come from the candidates, demos from the sets.
	differ := 0
	for _, tr := range res.Trials[1:] {
		for _, a := range tr.Agents {
			if a.Instruction != "" && a.Instruction != res.Trials[1].Agents["s1"].Instruction {
				differ++
			}
		}
	}
	if differ == 0 {
		t.Error("no trial tried a proposed instruction")
	}
	want := studytest.Strip(res.Trials)
	for _, cut := range []int{1, 2, 6, 7, 13, len(want) - 1} {
		p := *st.Problem
		p.History = slices.Clone(res.Trials[:cut])
		got, err := st.Opt.Optimize(context.Background(), &p, st.Budget)
		if err != nil || !reflect.DeepEqual(studytest.Strip(got.Trials), want) {
			t.Fatalf("resumed after %d trials: the trials differ (%v)", cut, err)
		}
	}
}

// TestCompilerTinyBudget: a call budget a few calls short of the bootstrap
// and its instruction proposals is never passed: the proposals stop at
// the budget.
func TestCompilerTinyBudget(t *testing.T) {
	st := studytest.First(t, teamConfig)
	full, err := st.Opt.Optimize(context.Background(), st.Problem, st.Budget)
	if err != nil {
		t.Fatal(err)
	}
	boot := full.Trials[0]
	if boot.Strategy != beacon.StrategyBootstrap || boot.Calls < 10 {
		t.Fatalf("trial 0: %+v", boot)
	}
	for _, short := range []int64{1, 3, boot.Calls / 2} {
		b := optimizer.Budget{Calls: boot.Calls - short}
		res, err := st.Opt.Optimize(context.Background(), st.Problem, b)
		if err != nil {
			t.Fatalf("budget %d calls: %v", b.Calls, err)
		}
		if res.Spent.Calls > b.Calls {
			t.Errorf("budget %d calls: spent %d", b.Calls, res.Spent.Calls)
		}
	}
}
