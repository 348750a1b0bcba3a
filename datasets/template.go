package datasets

import (
	"strings"
)

// A template is a sentence with slots, written like "{P} buys {N} more {I}.".
// The same template renders a sentence in a generator and matches it in a
// solver, so the two cannot drift apart. Slots:
//
//	X  the protagonist's name       F  another person's first name
//	P  She/He    s  she/he           o  her/him       h  her/his
//	I  the item (plural noun)        N, M  non-negative integers
type template struct {
	lits  []string // len(lits) == len(slots)+1; lits[0] may be ""
	slots []byte
}

func compile(pattern string) template {
	var t template
	rest := pattern
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			t.lits = append(t.lits, rest)
			return t
		}
		if len(rest) < i+3 || rest[i+2] != '}' {
			panic("datasets: bad template " + pattern)
		}
		t.lits = append(t.lits, rest[:i])
		t.slots = append(t.slots, rest[i+1])
		rest = rest[i+3:]
	}
}

// textVars is what the slots of one sentence are bound to. The zero value of
// a string field means "not known yet": matching captures it.
type textVars struct {
	name, item, friend string
	gender             int8 // 0 unknown, 1 female, 2 male
	n, m               int
}

var pronouns = [3][4]string{
	{},
	{"She", "she", "her", "her"},
	{"He", "he", "him", "his"},
}

func pronounIndex(slot byte) int {
	switch slot {
	case 'P':
		return 0
	case 's':
		return 1
	case 'o':
		return 2
	}
	return 3 // 'h'
}

// render writes t with v's bindings to b.
func (t template) render(b *strings.Builder, v *textVars) {
	for k, sl := range t.slots {
		b.WriteString(t.lits[k])
		switch sl {
		case 'X':
			b.WriteString(v.name)
		case 'F':
			b.WriteString(v.friend)
		case 'I':
			b.WriteString(v.item)
		case 'N':
			writeInt(b, v.n)
		case 'M':
			writeInt(b, v.m)
		default:
			b.WriteString(pronouns[v.gender][pronounIndex(sl)])
		}
	}
	b.WriteString(t.lits[len(t.lits)-1])
}

func writeInt(b *strings.Builder, n int) {
	var buf [20]byte
	i := len(buf)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		buf[i] = '-'
	}
	b.Write(buf[i:])
}

// match reports whether s is exactly t under bindings v; on success v holds
// the captured values (names, item, gender, numbers). v is unchanged on
// failure. It does not allocate.
func (t *template) match(s string, v *textVars) bool {
	w := *v
	if !strings.HasPrefix(s, t.lits[0]) {
		return false
	}
	s = s[len(t.lits[0]):]
	for k, sl := range t.slots {
		next := t.lits[k+1]
		switch sl {
		case 'N', 'M':
			j, n := 0, 0
			for j < len(s) && s[j] >= '0' && s[j] <= '9' && j < 9 {
				n = n*10 + int(s[j]-'0')
				j++
			}
			if j == 0 || (j > 1 && s[0] == '0') {
				return false
			}
			if sl == 'N' {
				w.n = n
			} else {
				w.m = n
			}
			s = s[j:]
		case 'X', 'F', 'I':
			p := &w.name
			if sl == 'F' {
				p = &w.friend
			} else if sl == 'I' {
				p = &w.item
			}
			if *p != "" {
				if !strings.HasPrefix(s, *p) {
					return false
				}
				s = s[len(*p):]
				break
			}
			j := strings.Index(s, next)
			if j <= 0 {
				return false
			}
			word := s[:j]
			if sl == 'I' && !isLowerWords(word) || sl != 'I' && !isCapWord(word) {
				return false
			}
			*p, s = word, s[j:]
		default:
			pi := pronounIndex(sl)
			if w.gender != 0 {
				if !strings.HasPrefix(s, pronouns[w.gender][pi]) {
					return false
				}
				s = s[len(pronouns[w.gender][pi]):]
				break
			}
			// "her" is both object and possessive; "his"/"him" settle it.
			found := false
			for g := int8(1); g <= 2; g++ {
				p := pronouns[g][pi]
				if strings.HasPrefix(s, p) && strings.HasPrefix(s[len(p):], next) {
					w.gender, s, found = g, s[len(p):], true
					break
				}
			}
			if !found {
				return false
			}
		}
		if !strings.HasPrefix(s, next) {
			return false
		}
		s = s[len(next):]
	}
	if s != "" {
		return false
	}
	*v = w
	return true
}

// isCapWord reports whether s is an ASCII word like "Mara".
func isCapWord(s string) bool {
	if len(s) < 2 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// isLowerWords reports whether s is one or two lower-case ASCII words.
func isLowerWords(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	spaces := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			spaces++
			if spaces > 1 {
				return false
			}
		} else if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// nextSentence splits s after its first sentence, which ends in ". " or at
// the end of s.
func nextSentence(s string) (sentence, rest string) {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1], s[i+2:]
	}
	return s, ""
}
