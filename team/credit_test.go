package team

import (
	"context"
	"math"
	"testing"

	"github.com/mabeam/mabeam/datasets"
)

// TestCredit: DyLAN's importance with agreement for ratings, on runs whose
// credit is worked out by hand.
func TestCredit(t *testing.T) {
	judge := AgentSpec{ID: "j", Role: RoleJudge, Kind: "script"}
	cases := []struct {
		name string
		spec Spec
		want []float64
	}{
		{"majority, no rounds", Spec{Agents: scripted("5:0.5", "5:0.5", "6:0.9")}, []float64{0.5, 0.5, 0}},
		// a2 takes a1's answer in round 1: a1 is credited for both.
		{"persuaded", Spec{Agents: scripted("5:0.5", "6:0.5|5:0.5", "6:0.9"), Rounds: 1, Edges: []Edge{{"a1", "a2"}}}, []float64{0.75, 0.25, 0}},
		// a2 changes its answer without anybody it reads giving it: its own.
		{"own change", Spec{Agents: scripted("5:0.5", "6:0.5|5:0.5", "6:0.9"), Rounds: 1, Edges: []Edge{{"a3", "a2"}}}, []float64{0.5, 0.5, 0}},
		{"judge agrees with a1", Spec{Agents: append(scripted("5:0.5", "6:0.5"), withScript(judge, "5:0.9")), Aggregation: AggJudge}, []float64{0.5, 0, 0.5}},
		{"judge alone", Spec{Agents: append(scripted("5:0.5", "6:0.5"), withScript(judge, "7:0.9")), Aggregation: AggJudge}, []float64{0, 0, 1}},
		{"no answer", Spec{Agents: scripted("", "")}, []float64{0, 0}},
	}
	for _, c := range cases {
		tm, err := New(c.spec, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		res, err := tm.Run(context.Background(), datasets.Example{ID: "x", Question: "q"})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := tm.Credit(&res, nil)
		for i := range c.want {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Errorf("%s: credit %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}

func withScript(a AgentSpec, s string) AgentSpec { a.Instruction = s; return a }

// TestSubteam: the agents left out go with their edges, and a judge left
// out or left alone takes the judge aggregation with it.
func TestSubteam(t *testing.T) {
	s := Spec{Agents: append(scripted("5:0.5", "6:0.5"), AgentSpec{ID: "j", Role: RoleJudge, Kind: "script", Instruction: "6:1"}),
		Edges: []Edge{{"a1", "a2"}, {"a2", "a1"}, {"a1", "j"}}, Aggregation: AggJudge, Rounds: 1}
	sub, err := s.Subteam([]bool{true, false, true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Agents) != 2 || len(sub.Edges) != 1 || sub.Edges[0] != (Edge{"a1", "j"}) || sub.Aggregation != AggJudge {
		t.Errorf("without a2: %+v", sub)
	}
	if sub, _ = s.Subteam([]bool{true, true, false}); sub.Aggregation != AggMajority || len(sub.Edges) != 2 {
		t.Errorf("without the judge: %+v", sub)
	}
	if sub, _ = s.Subteam([]bool{false, false, true}); sub.Aggregation != AggMajority {
		t.Errorf("the judge alone: %+v", sub)
	} else if _, err := New(sub, nil, nil); err != nil {
		t.Errorf("the judge alone does not run: %v", err)
	}
	if _, err := s.Subteam([]bool{false, false, false}); err == nil {
		t.Error("an empty subteam is not an error")
	}
	if _, err := s.Subteam([]bool{true}); err == nil {
		t.Error("flags of the wrong length are not an error")
	}
}
