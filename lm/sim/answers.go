package sim

import (
	"github.com/mabeam/mabeam/lm/prompt"
)

// sameAnswer reports whether two answers are equal after the normalisation
// voting uses (see normHash).
func sameAnswer(a, b string) bool { return a == b || normHash(a) == normHash(b) }

// normHash hashes an answer after trimming space and trailing periods,
// folding ASCII case and collapsing runs of white space, so answers that a
// vote counts as equal hash equal; 0 is the empty answer. Answers are
// short, so it goes byte by byte and does not allocate.
func normHash(s string) uint64 {
	s = trimAnswer(s)
	if s == "" {
		return 0
	}
	h := uint64(0xcbf29ce484222325)
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isSpace(c) {
			space = true
			continue
		}
		if space {
			h = (h ^ ' ') * 0x100000001b3
			space = false
		}
		h = (h ^ uint64(lower(c))) * 0x100000001b3
	}
	return mum(h^k1, k2) | 1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func trimAnswer(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && (isSpace(s[len(s)-1]) || s[len(s)-1] == '.') {
		s = s[:len(s)-1]
	}
	return s
}

// minPeerWeight keeps a peer that states confidence 0 in the count.
const minPeerWeight = 0.05

// peerView is the peers' answers read once: their normalised hashes and
// weights (stated confidence, clamped to [minPeerWeight, 1]).
type peerView struct {
	peers  []prompt.Peer
	hashes []uint64
}

func (v *peerView) weight(i int) float64 { return max(min(v.peers[i].Confidence, 1), minPeerWeight) }

// tally is the support of one answer among the peers.
type tally struct {
	first   int     // index of the first peer giving it; -1 if none
	weight  float64 // summed weights
	count   int
	confSum float64 // summed stated confidences
}

func (t tally) meanConf() float64 {
	if t.count == 0 {
		return 0
	}
	return t.confSum / float64(t.count)
}

// plurality returns the answer with the most weighted support (ties: more
// peers, then the first named) and the total weight. Empty answers abstain.
func (v *peerView) plurality() (best tally, total float64) {
	best.first = -1
	for i, h := range v.hashes {
		if h == 0 || indexOf(v.hashes[:i], h) >= 0 {
			continue
		}
		t := v.support(h)
		t.first = i
		total += t.weight
		if t.weight > best.weight || (t.weight == best.weight && t.count > best.count) {
			best = t
		}
	}
	return best, total
}

// support is the tally of the answer with normalised hash h.
func (v *peerView) support(h uint64) tally {
	t := tally{first: -1}
	for j, hj := range v.hashes {
		if hj == h && h != 0 {
			if t.first < 0 {
				t.first = j
			}
			t.weight += v.weight(j)
			t.confSum += min(max(v.peers[j].Confidence, 0), 1)
			t.count++
		}
	}
	return t
}

func indexOf(xs []uint64, x uint64) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}
