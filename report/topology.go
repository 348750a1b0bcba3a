package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Topology is the team drawn as a directed graph: agents on a circle
// (the first at the top, then clockwise), node area proportional to the
// size of the agent's contribution, negative contributions in another
// colour, and edges with arrow heads whose width grows with the messages
// followed along them.
type Topology struct {
	// Title is the plot title; "" means "Team topology".
	Title string
	// Nodes are the agents; at least one is required, IDs unique.
	Nodes []TopologyNode
	// Edges are the directed links; nil means none.
	Edges []TopologyEdge
}

// TopologyNode is one agent of a Topology.
type TopologyNode struct {
	// ID names the node in edges; it must be non-empty and unique.
	ID string
	// Label is drawn beside the node; "" means the ID.
	Label string
	// Size is the agent's contribution: the node's area grows with |Size|
	// and a negative one is drawn in another colour. NaN means not
	// measured: a mid-sized grey node.
	Size float64
}

// TopologyEdge is a directed link of a Topology.
type TopologyEdge struct {
	// From and To are node IDs; From == To draws a loop.
	From, To string
	// Weight is the number of messages followed along the edge, scaled to
	// the heaviest edge for the line width; 0 or NaN draws the thinnest
	// line. It must not be negative.
	Weight float64
}

// Plot draws the graph, without axes. It returns an *InputError when there
// are no nodes, an ID is empty or repeated, an edge names an unknown node,
// a Size is infinite or a Weight is negative or infinite.
func (t *Topology) Plot() (*plot.Plot, error) {
	const kind = "topology"
	if t == nil {
		return nil, invalid(kind, "", "nil Topology")
	}
	if len(t.Nodes) == 0 {
		return nil, invalid(kind, "Nodes", "no nodes to draw")
	}
	index := make(map[string]int, len(t.Nodes))
	for i, n := range t.Nodes {
		f := fmt.Sprintf("Nodes[%d]", i)
		if n.ID == "" {
			return nil, invalid(kind, f+".ID", "empty ID")
		}
		if j, dup := index[n.ID]; dup {
			return nil, invalid(kind, f+".ID", "ID %q repeats Nodes[%d]", n.ID, j)
		}
		if math.IsInf(n.Size, 0) {
			return nil, invalid(kind, f+".Size", "%v is infinite", n.Size)
		}
		index[n.ID] = i
	}
	g := &graph{nodes: t.Nodes, index: index}
	for i, e := range t.Edges {
		f := fmt.Sprintf("Edges[%d]", i)
		if _, ok := index[e.From]; !ok {
			return nil, invalid(kind, f+".From", "unknown node %q", e.From)
		}
		if _, ok := index[e.To]; !ok {
			return nil, invalid(kind, f+".To", "unknown node %q", e.To)
		}
		if e.Weight < 0 || math.IsInf(e.Weight, 0) {
			return nil, invalid(kind, f+".Weight", "%v: must be finite and not negative", e.Weight)
		}
	}
	g.edges = t.Edges

	note := "node area: |contribution|"
	for _, e := range t.Edges {
		if e.Weight != t.Edges[0].Weight {
			note += "    edge width: messages followed" // only when the widths say something
			break
		}
	}
	p := newPlot(or(t.Title, "Team topology"), note, "")
	p.HideAxes()
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	p.X.Label.TextStyle.Font.Size = tickSize
	p.X.Label.TextStyle.Color = color.Gray{Y: 0x55}
	p.Add(g)

	var pos, neg, unk bool
	for _, n := range t.Nodes {
		pos = pos || n.Size >= 0
		neg = neg || n.Size < 0
		unk = unk || math.IsNaN(n.Size)
	}
	leg := newSideLegend()
	kinds := 0
	for _, k := range []struct {
		on   bool
		name string
		col  color.Color
	}{{pos, "positive contribution", nodePositive}, {neg, "negative contribution", nodeNegative}, {unk, "not measured", nodeUnknown}} {
		if k.on {
			kinds++
			leg.add(k.name, glyphThumb(draw.GlyphStyle{Color: k.col, Radius: vg.Points(4), Shape: draw.CircleGlyph{}}))
		}
	}
	if kinds > 1 {
		p.Add(leg)
	}
	return p, nil
}

var (
	nodePositive = palette[0]
	nodeNegative = palette[3]
	nodeUnknown  = color.NRGBA{0xaa, 0xaa, 0xaa, 0xff}
	edgeColor    = color.NRGBA{0x44, 0x44, 0x44, 0xc0}
)

// graph lays the team out when drawn, on the canvas it is given, so that
// the circle stays round whatever the output size.
type graph struct {
	nodes []TopologyNode
	edges []TopologyEdge
	index map[string]int
}

const (
	nodeRMin  = vg.Length(4)  // the radius of a node of size 0
	nodeRMax  = vg.Length(16) // the radius of the largest node, room permitting
	labelGap  = vg.Length(4)  // between a node and its label
	loopR     = vg.Length(5)  // radius of a self-loop
	edgeWMin  = vg.Length(0.6)
	edgeWMax  = vg.Length(4)
	arrowLen  = vg.Length(6)
	arrowHalf = vg.Length(3)
	maxLabelW = vg.Length(110)
)

func (g *graph) Plot(c draw.Canvas, _ *plot.Plot) {
	n := len(g.nodes)
	sty := textStyle(vg.Points(9.5), text.XLeft, text.YBottom)
	labels := make([]string, n)
	for i, nd := range g.nodes {
		labels[i] = fit(sty, or(nd.Label, nd.ID), maxLabelW)
	}
	loops := make([]bool, n)
	for _, e := range g.edges {
		if e.From == e.To {
			loops[g.index[e.From]] = true
		}
	}

	maxSize := 0.0
	for _, nd := range g.nodes {
		if !math.IsNaN(nd.Size) {
			maxSize = math.Max(maxSize, math.Abs(nd.Size))
		}
	}
	dir := make([]vg.Point, n) // outward unit vectors
	lsty := make([]text.Style, n)
	for i := range g.nodes {
		th := math.Pi/2 - 2*math.Pi*float64(i)/float64(n)
		dir[i] = vg.Point{X: vg.Length(math.Cos(th)), Y: vg.Length(math.Sin(th))}
		if n == 1 {
			dir[i] = vg.Point{X: 1}
		}
		// Labels align away from the circle: left-aligned on the right,
		// bottom-aligned at the top, and smoothly in between.
		lsty[i] = sty
		lsty[i].XAlign = text.XAlignment(-0.5 + 0.5*float64(dir[i].X))
		lsty[i].YAlign = text.YAlignment(-0.5 + 0.5*float64(dir[i].Y))
	}
	labelOff := func(i int, rmax vg.Length) vg.Length {
		off := rmax + labelGap
		if loops[i] {
			off += 2 * loopR
		}
		return off
	}
	// extent is the box of node i with its label and loop, relative to
	// the node's centre, when nodes are at most rmax in radius.
	extent := func(i int, rmax vg.Length) vg.Rectangle {
		r := vg.Rectangle{Min: vg.Point{X: -rmax, Y: -rmax}, Max: vg.Point{X: rmax, Y: rmax}}
		lr := lsty[i].Rectangle(labels[i]).Add(dir[i].Scale(labelOff(i, rmax)))
		return vg.Rectangle{
			Min: vg.Point{X: min(r.Min.X, lr.Min.X), Y: min(r.Min.Y, lr.Min.Y)},
			Max: vg.Point{X: max(r.Max.X, lr.Max.X), Y: max(r.Max.Y, lr.Max.Y)},
		}
	}
	// bbox is the box of the whole drawing for a circle of radius R
	// centred at the origin.
	bbox := func(R, rmax vg.Length) vg.Rectangle {
		b := vg.Rectangle{Min: vg.Point{X: vg.Length(math.Inf(1)), Y: vg.Length(math.Inf(1))},
			Max: vg.Point{X: vg.Length(math.Inf(-1)), Y: vg.Length(math.Inf(-1))}}
		for i := range g.nodes {
			e := extent(i, rmax).Add(dir[i].Scale(R))
			b.Min.X, b.Min.Y = min(b.Min.X, e.Min.X), min(b.Min.Y, e.Min.Y)
			b.Max.X, b.Max.Y = max(b.Max.X, e.Max.X), max(b.Max.Y, e.Max.Y)
		}
		return b
	}
	// fitR is the largest radius at which the drawing fits the canvas.
	size := c.Size()
	fitR := func(rmax vg.Length) vg.Length {
		if n == 1 {
			return 0
		}
		lo, hi := vg.Length(0), max(size.X, size.Y)
		for range 40 {
			m := (lo + hi) / 2
			if b := bbox(m, rmax).Size(); b.X <= size.X && b.Y <= size.Y {
				lo = m
			} else {
				hi = m
			}
		}
		return lo
	}
	// Nodes no larger than 0.3 of the distance between neighbours.
	rmax := nodeRMax
	R := fitR(rmax)
	if n > 1 {
		if chord := 2 * R * vg.Length(math.Sin(math.Pi/float64(n))); chord*0.3 < rmax {
			rmax = max(nodeRMin+1, chord*0.3)
			R = fitR(rmax)
		}
	}
	R = max(R, vg.Points(10)) // a canvas too small for the labels: they may overlap
	b := bbox(R, rmax)
	ctr := c.Center().Sub(vg.Point{X: (b.Min.X + b.Max.X) / 2, Y: (b.Min.Y + b.Max.Y) / 2})

	at := make([]vg.Point, n)
	rad := make([]vg.Length, n)
	for i, nd := range g.nodes {
		at[i] = ctr.Add(dir[i].Scale(R))
		switch {
		case math.IsNaN(nd.Size):
			rad[i] = (nodeRMin + rmax) / 2
		case maxSize == 0:
			rad[i] = nodeRMin
		default: // area proportional to |Size|
			rad[i] = nodeRMin + (rmax-nodeRMin)*vg.Length(math.Sqrt(math.Abs(nd.Size)/maxSize))
		}
	}

	// Edges under the nodes; an edge with a reverse twin shifts to its
	// right so that the two stay apart.
	maxW := 0.0
	pairs := make(map[[2]int]bool, len(g.edges))
	for _, e := range g.edges {
		if !math.IsNaN(e.Weight) {
			maxW = math.Max(maxW, e.Weight)
		}
		pairs[[2]int{g.index[e.From], g.index[e.To]}] = true
	}
	for _, e := range g.edges {
		a, b := g.index[e.From], g.index[e.To]
		w := edgeWMin
		if maxW > 0 && !math.IsNaN(e.Weight) {
			w += (edgeWMax - edgeWMin) * vg.Length(e.Weight/maxW)
		}
		ls := draw.LineStyle{Color: edgeColor, Width: w}
		if a == b {
			o := at[a].Add(dir[a].Scale(rad[a] + loopR*0.7))
			var path vg.Path
			path.Move(o.Add(vg.Point{X: loopR}))
			path.Arc(o, loopR, 0, 2*math.Pi)
			path.Close()
			c.SetLineStyle(ls)
			c.Stroke(path)
			continue
		}
		d := at[b].Sub(at[a])
		l := vg.Length(math.Hypot(float64(d.X), float64(d.Y)))
		if l <= rad[a]+rad[b]+arrowLen {
			continue // the nodes touch: no room for an edge
		}
		u := d.Scale(1 / l)
		perp := vg.Point{X: u.Y, Y: -u.X} // to the right of the direction
		shift := vg.Point{}
		if pairs[[2]int{b, a}] {
			shift = perp.Scale(max(2.5, w/2+1))
		}
		from := at[a].Add(u.Scale(rad[a] + 1)).Add(shift)
		tip := at[b].Sub(u.Scale(rad[b] + 1)).Add(shift)
		al, ah := arrowLen+w, arrowHalf+w/2
		base := tip.Sub(u.Scale(al))
		c.StrokeLine2(ls, from.X, from.Y, base.X, base.Y)
		c.FillPolygon(edgeColor, []vg.Point{tip, base.Add(perp.Scale(ah)), base.Sub(perp.Scale(ah))})
	}

	// Nodes, then their labels outside the circle, aligned away from it.
	ring := draw.LineStyle{Color: color.White, Width: vg.Points(1)}
	for i, nd := range g.nodes {
		col := nodePositive
		switch {
		case math.IsNaN(nd.Size):
			col = nodeUnknown
		case nd.Size < 0:
			col = nodeNegative
		}
		var path vg.Path
		path.Move(at[i].Add(vg.Point{X: rad[i]}))
		path.Arc(at[i], rad[i], 0, 2*math.Pi)
		path.Close()
		c.SetColor(col)
		c.Fill(path)
		c.SetLineStyle(ring)
		c.Stroke(path)

		c.FillText(lsty[i], at[i].Add(dir[i].Scale(labelOff(i, rad[i]))), labels[i])
	}
}
