package space

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func ids(n int) []string {
	return []string{"a1", "a2", "a3", "a4", "a5"}[:n]
}

// edgeList writes edges compactly: "a1>a2" for data, "a1>a2:command" otherwise.
func edgeList(edges []Edge) string {
	parts := make([]string, len(edges))
	for i, e := range edges {
		parts[i] = e.From + ">" + e.To
		if e.Type != Data {
			parts[i] += ":" + e.Type.String()
		}
	}
	return strings.Join(parts, " ")
}

func TestTopologies(t *testing.T) {
	cases := []struct {
		topo string
		n    int
		hub  string
		want string
	}{
		{TopoChain, 1, "", ""},
		{TopoChain, 2, "", "a1>a2"},
		{TopoChain, 5, "", "a1>a2 a2>a3 a3>a4 a4>a5"},
		{TopoRing, 1, "", ""},
		{TopoRing, 2, "", "a1>a2 a2>a1"},
		{TopoRing, 5, "", "a1>a2 a2>a3 a3>a4 a4>a5 a5>a1"},
		{TopoStar, 1, "", ""},
		{TopoStar, 2, "", "a1>a2 a2>a1"},
		{TopoStar, 5, "", "a1>a2 a2>a1 a1>a3 a3>a1 a1>a4 a4>a1 a1>a5 a5>a1"},
		{TopoStar, 5, "a3", "a3>a1 a1>a3 a3>a2 a2>a3 a3>a4 a4>a3 a3>a5 a5>a3"},
		{TopoStar, 2, "a9", "a1>a2 a2>a1"}, // an absent hub falls back to the first agent
		{TopoTree, 1, "", ""},
		{TopoTree, 2, "", "a1>a2:command a2>a1"},
		{TopoTree, 5, "", "a1>a2:command a2>a1 a1>a3:command a3>a1 a2>a4:command a4>a2 a2>a5:command a5>a2"},
		{TopoMesh, 1, "", ""},
		{TopoMesh, 2, "", "a1>a2 a2>a1"},
		{TopoMesh, 5, "", "a1>a2 a1>a3 a1>a4 a1>a5 a2>a1 a2>a3 a2>a4 a2>a5 a3>a1 a3>a2 a3>a4 a3>a5 a4>a1 a4>a2 a4>a3 a4>a5 a5>a1 a5>a2 a5>a3 a5>a4"},
	}
	for _, c := range cases {
		edges, err := TopologyEdges(c.topo, ids(c.n), c.hub, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := edgeList(edges); got != c.want {
			t.Errorf("%s over %d (hub %q) = %s\nwant %s", c.topo, c.n, c.hub, got, c.want)
		}
		if err := ValidateGraph(ids(c.n), edges); err != nil {
			t.Errorf("%s over %d: %v", c.topo, c.n, err)
		}
	}
	explicit := []Edge{{From: "a1", To: "a3"}, {From: "a3", To: "a1", Type: Feedback}, {From: "a5", To: "a2", Type: Supervision}}
	for n, want := range map[int]string{1: "", 2: "", 3: "a1>a3 a3>a1:feedback", 5: "a1>a3 a3>a1:feedback a5>a2:supervision"} {
		edges, _ := TopologyEdges(TopoExplicit, ids(n), "", explicit)
		if got := edgeList(edges); got != want {
			t.Errorf("explicit over %d = %q, want %q", n, got, want)
		}
	}
	if _, err := TopologyEdges("hypercube", ids(3), "", nil); !errors.Is(err, ErrGraph) {
		t.Errorf("unknown topology: %v", err)
	}
}

func TestNeighbors(t *testing.T) {
	edges := append(Star(ids(4), "a1"), Edge{From: "a2", To: "a1", Type: Feedback})
	if got := InNeighbors(edges, "a1"); !reflect.DeepEqual(got, []string{"a2", "a3", "a4"}) {
		t.Errorf("InNeighbors(a1) = %v", got)
	}
	if got := InNeighbors(edges, "a3"); !reflect.DeepEqual(got, []string{"a1"}) {
		t.Errorf("InNeighbors(a3) = %v", got)
	}
	if got := OutNeighbors(Chain(ids(3)), "a2"); !reflect.DeepEqual(got, []string{"a3"}) {
		t.Errorf("OutNeighbors(a2) = %v", got)
	}
	if got := InNeighbors(Chain(ids(3)), "a1"); got != nil {
		t.Errorf("InNeighbors(a1) of a chain = %v", got)
	}
}

func TestValidateGraph(t *testing.T) {
	cases := []struct {
		edges []Edge
		want  string
	}{
		{[]Edge{{From: "a1", To: "x"}}, `space: edge 0 (a1->x (data)): unknown agent "x"`},
		{[]Edge{{From: "y", To: "a1"}}, `unknown agent "y"`},
		{[]Edge{{From: "a1", To: "a2"}, {From: "a2", To: "a2"}}, "edge 1 (a2->a2 (data)): self loop"},
		{[]Edge{{From: "a1", To: "a2"}, {From: "a1", To: "a2"}}, "duplicate edge"},
		{[]Edge{{From: "a1", To: "a2", Type: 9}}, "unknown edge type"},
	}
	for _, c := range cases {
		err := ValidateGraph(ids(3), c.edges)
		if !errors.Is(err, ErrGraph) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ValidateGraph(%v) = %v, want %q", c.edges, err, c.want)
		}
	}
	// The same ends with another type is a different edge.
	if err := ValidateGraph(ids(2), []Edge{{From: "a1", To: "a2"}, {From: "a1", To: "a2", Type: Command}}); err != nil {
		t.Error(err)
	}
}

func TestEdgeTypeText(t *testing.T) {
	for _, et := range []EdgeType{Data, Feedback, Command, Supervision} {
		b, err := et.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back EdgeType
		if err := back.UnmarshalText(b); err != nil || back != et {
			t.Errorf("%v round trip: %v, %v", et, back, err)
		}
	}
	var et EdgeType
	if err := et.UnmarshalText([]byte("gossip")); !errors.Is(err, ErrGraph) {
		t.Errorf("UnmarshalText(gossip) = %v", err)
	}
	if _, err := EdgeType(7).MarshalText(); err == nil {
		t.Error("MarshalText of an unknown type succeeded")
	}
}
