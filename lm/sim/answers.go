package sim

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

// minPeerWeight keeps a candidate whose stated confidence is 0 in the
// weighing of a revision.
const minPeerWeight = 0.05
