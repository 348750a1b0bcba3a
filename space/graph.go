package space

import (
	"fmt"
	"slices"
	"strconv"
)

// EdgeType says what an edge's messages are for. The zero value is Data.
type EdgeType uint8

// Edge types.
const (
	Data        EdgeType = iota // From's answer is input to To (debate, pipelines)
	Feedback                    // From's critique of To's work goes back to To
	Command                     // From delegates or instructs To (a manager or parent)
	Supervision                 // From monitors To and may veto or correct it
)

var edgeTypeNames = [...]string{"data", "feedback", "command", "supervision"}

func (t EdgeType) String() string {
	if int(t) < len(edgeTypeNames) {
		return edgeTypeNames[t]
	}
	return "EdgeType(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText writes the type's name.
func (t EdgeType) MarshalText() ([]byte, error) {
	if int(t) >= len(edgeTypeNames) {
		return nil, fmt.Errorf("space: unknown edge type %d", t)
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads a type's name.
func (t *EdgeType) UnmarshalText(b []byte) error {
	for i, n := range edgeTypeNames {
		if n == string(b) {
			*t = EdgeType(i)
			return nil
		}
	}
	return &ruleError{msg: fmt.Sprintf("space: unknown edge type %q (want data, feedback, command or supervision)", b), rule: ErrGraph, class: ErrInvalidSpace}
}

// Edge is a directed link of the coordination graph: From's messages reach
// To.
type Edge struct {
	From string   `json:"from" yaml:"from"`
	To   string   `json:"to" yaml:"to"`
	Type EdgeType `json:"type" yaml:"type"`
}

func (e Edge) String() string { return e.From + "->" + e.To + " (" + e.Type.String() + ")" }

// Topology names, the values of the team/topology variable.
const (
	TopoChain    = "chain"    // a1→a2→…→an
	TopoStar     = "star"     // hub ↔ every other agent
	TopoRing     = "ring"     // a1→a2→…→an→a1
	TopoTree     = "tree"     // binary tree in agent order
	TopoMesh     = "mesh"     // every ordered pair
	TopoExplicit = "explicit" // a given edge set, or one searched bool per candidate edge
)

// Topologies lists the topology names.
var Topologies = []string{TopoChain, TopoStar, TopoRing, TopoTree, TopoMesh, TopoExplicit}

// Chain links each agent to the next with Data edges: a1→a2, a2→a3, ...
func Chain(ids []string) []Edge {
	var out []Edge
	for i := 1; i < len(ids); i++ {
		out = append(out, Edge{From: ids[i-1], To: ids[i]})
	}
	return out
}

// Ring is Chain closed by an edge from the last agent to the first; with
// two agents it is a1→a2, a2→a1, with one it is empty.
func Ring(ids []string) []Edge {
	out := Chain(ids)
	if len(ids) > 1 {
		out = append(out, Edge{From: ids[len(ids)-1], To: ids[0]})
	}
	return out
}

// Star links hub to every other agent and back with Data edges (hub→a,
// a→hub for each a in order). If hub is not among ids, the first agent is
// the hub.
func Star(ids []string, hub string) []Edge {
	if len(ids) == 0 {
		return nil
	}
	if !slices.Contains(ids, hub) {
		hub = ids[0]
	}
	var out []Edge
	for _, id := range ids {
		if id != hub {
			out = append(out, Edge{From: hub, To: id}, Edge{From: id, To: hub})
		}
	}
	return out
}

// Tree arranges the agents in a binary tree in order (the parent of the
// i-th agent, counting from 0, is agent (i-1)/2) and links each parent to
// its children with Command edges and each child to its parent with Data
// edges: the parent delegates, the child reports back.
func Tree(ids []string) []Edge {
	var out []Edge
	for i := 1; i < len(ids); i++ {
		p := ids[(i-1)/2]
		out = append(out, Edge{From: p, To: ids[i], Type: Command}, Edge{From: ids[i], To: p})
	}
	return out
}

// Mesh links every ordered pair of distinct agents with Data edges, in
// order: a1→a2, a1→a3, ..., a2→a1, ...
func Mesh(ids []string) []Edge {
	var out []Edge
	for _, a := range ids {
		for _, b := range ids {
			if a != b {
				out = append(out, Edge{From: a, To: b})
			}
		}
	}
	return out
}

// Restrict returns the edges whose ends are both among ids, in order.
func Restrict(edges []Edge, ids []string) []Edge {
	var out []Edge
	for _, e := range edges {
		if slices.Contains(ids, e.From) && slices.Contains(ids, e.To) {
			out = append(out, e)
		}
	}
	return out
}

// TopologyEdges builds the edges of topology over the agents ids: hub is
// the star's hub (see Star) and explicit the candidate edges of the
// explicit topology, restricted to ids.
func TopologyEdges(topology string, ids []string, hub string, explicit []Edge) ([]Edge, error) {
	switch topology {
	case TopoChain:
		return Chain(ids), nil
	case TopoStar:
		return Star(ids, hub), nil
	case TopoRing:
		return Ring(ids), nil
	case TopoTree:
		return Tree(ids), nil
	case TopoMesh:
		return Mesh(ids), nil
	case TopoExplicit:
		return Restrict(explicit, ids), nil
	}
	return nil, &ruleError{msg: fmt.Sprintf("space: unknown topology %q (want one of %v)", topology, Topologies), rule: ErrGraph, class: ErrInvalidSpace}
}

// InNeighbors returns the agents whose messages reach id (the From of every
// edge into id), in edge order, each once.
func InNeighbors(edges []Edge, id string) []string {
	var out []string
	for _, e := range edges {
		if e.To == id && !slices.Contains(out, e.From) {
			out = append(out, e.From)
		}
	}
	return out
}

// OutNeighbors returns the agents id's messages reach, in edge order, each
// once.
func OutNeighbors(edges []Edge, id string) []string {
	var out []string
	for _, e := range edges {
		if e.From == id && !slices.Contains(out, e.To) {
			out = append(out, e.To)
		}
	}
	return out
}

// ValidateGraph checks that every edge joins two distinct agents of ids with
// a known type and that no edge (same ends, same type) appears twice. The
// error matches ErrGraph.
func ValidateGraph(ids []string, edges []Edge) error {
	type key struct {
		from, to string
		t        EdgeType
	}
	seen := make(map[key]bool, len(edges))
	for i, e := range edges {
		bad := func(detail string) error {
			return &ruleError{msg: fmt.Sprintf("space: edge %d (%s): %s", i, e, detail), rule: ErrGraph, class: ErrInvalidSpace}
		}
		switch {
		case !slices.Contains(ids, e.From):
			return bad("unknown agent " + strconv.Quote(e.From))
		case !slices.Contains(ids, e.To):
			return bad("unknown agent " + strconv.Quote(e.To))
		case e.From == e.To:
			return bad("self loop")
		case int(e.Type) >= len(edgeTypeNames):
			return bad("unknown edge type")
		case seen[key{e.From, e.To, e.Type}]:
			return bad("duplicate edge")
		}
		seen[key{e.From, e.To, e.Type}] = true
	}
	return nil
}
