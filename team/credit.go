package team

import (
	"fmt"

	"github.com/mabeam/mabeam/datasets"
)

// Subteam returns the team of the agents kept (keep is by index of
// s.Agents): the others and every edge that touches one are removed. A
// judge that is removed takes AggJudge with it (the rest vote by
// majority), and so does a judge left alone (it answers by itself). It is
// the coalition a contribution measure scores.
func (s Spec) Subteam(keep []bool) (Spec, error) {
	if len(keep) != len(s.Agents) {
		return Spec{}, fmt.Errorf("team: subteam of %d agents given %d flags", len(s.Agents), len(keep))
	}
	out := s
	out.Agents, out.Edges = nil, nil
	in := map[string]bool{}
	for i, a := range s.Agents {
		if keep[i] {
			out.Agents = append(out.Agents, a)
			in[a.ID] = true
		}
	}
	if len(out.Agents) == 0 {
		return Spec{}, fmt.Errorf("team: a subteam keeps no agent")
	}
	for _, e := range s.Edges {
		if in[e.From] && in[e.To] {
			out.Edges = append(out.Edges, e)
		}
	}
	if j := s.judgeIndex(); j >= 0 && (!keep[j] || len(out.Agents) == 1) {
		out.Aggregation, out.Judge = AggMajority, ""
	}
	return out, nil
}

// Credit is DyLAN's agent importance in one run (res, with its trace), by
// agent index of the spec: the team answer's credit, 1 in all, flows back
// along the messages that supported it, as DyLAN's backward pass does with
// the agents' ratings of their predecessors replaced by agreement.
//
// The last layer is the judge when it decided (its credit goes back in
// equal shares to the voters whose final answers agree with its answer, or
// stays with it when none does), else the voters whose final answers agree
// with the team answer, in equal shares. Going back a debate round, an
// agent's credit goes in equal shares to its sources that gave, in the
// round before, the answer it gives now: itself and the in-neighbours it
// read; it keeps the credit when no source agrees (the answer was its own)
// and when it sat the round out. An agent's importance is its credit
// summed over the layers, divided by their number, so the agents' credits
// sum to 1. A run with no team answer, or no trace, credits nobody. dst is
// reused when long enough.
func (t *Team) Credit(res *Result, dst []float64) []float64 {
	n := len(t.ids)
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	clear(dst)
	goal := datasets.Normalize(res.Answer)
	if goal == "" || len(res.Trace) == 0 {
		return dst
	}
	R := t.spec.Rounds
	cs := t.credits.Get().(*creditScratch)
	defer t.credits.Put(cs)
	cs.reset((R+1)*n, n)
	flat, said, w, next := cs.flat, cs.said, cs.w, cs.next // flat, said: by round and voter
	ans := func(r, i int) string { return flat[r*n+i] }
	spoke := func(r, i int) bool { return said[r*n+i] }
	judged := ""
	for k := range res.Trace {
		c := &res.Trace[k]
		i, ok := t.pos[c.Agent]
		switch {
		case !ok:
		case i == t.judge && c.Round == R+1:
			judged = datasets.Normalize(c.Answer)
		case c.Round >= 0 && c.Round <= R:
			flat[c.Round*n+i], said[c.Round*n+i] = datasets.Normalize(c.Answer), true
		}
	}
	for r := 1; r <= R; r++ {
		for _, i := range t.voters {
			if !spoke(r, i) {
				flat[r*n+i] = ans(r-1, i)
			}
		}
	}
	agree := 0
	for _, i := range t.voters {
		if ans(R, i) == goal {
			agree++
		}
	}
	for _, i := range t.voters {
		if agree > 0 && ans(R, i) == goal {
			w[i] = 1 / float64(agree)
		}
	}
	layers := R + 1
	if t.judge >= 0 && judged != "" {
		layers++
		dst[t.judge] = 1
		if agree == 0 {
			return dst // nobody gave its answer: the judge keeps the credit of every layer
		}
	}
	for r := R; ; r-- {
		for i := range w {
			dst[i] += w[i]
		}
		if r == 0 {
			break
		}
		clear(next)
		for _, i := range t.voters {
			if w[i] == 0 {
				continue
			}
			a := ans(r, i)
			if !spoke(r, i) {
				next[i] += w[i]
				continue
			}
			// The sources that gave a in the round before: itself and the
			// in-neighbours it read.
			self := ans(r-1, i) == a
			k := 0
			if self {
				k++
			}
			for _, j := range t.in[i] {
				if ans(r-1, j) == a {
					k++
				}
			}
			if k == 0 {
				next[i] += w[i]
				continue
			}
			share := w[i] / float64(k)
			if self {
				next[i] += share
			}
			for _, j := range t.in[i] {
				if ans(r-1, j) == a {
					next[j] += share
				}
			}
		}
		w, next = next, w
	}
	for i := range dst {
		dst[i] /= float64(layers)
	}
	return dst
}

// creditScratch is Credit's working memory, reused across runs.
type creditScratch struct {
	flat    []string
	said    []bool
	w, next []float64
}

// reset sizes and clears the scratch for cells answers and n agents.
func (cs *creditScratch) reset(cells, n int) {
	if cap(cs.flat) < cells {
		cs.flat, cs.said = make([]string, cells), make([]bool, cells)
	}
	cs.flat, cs.said = cs.flat[:cells], cs.said[:cells]
	clear(cs.flat)
	clear(cs.said)
	if cap(cs.w) < n {
		cs.w, cs.next = make([]float64, n), make([]float64, n)
	}
	cs.w, cs.next = cs.w[:n], cs.next[:n]
	clear(cs.w)
	clear(cs.next)
}
