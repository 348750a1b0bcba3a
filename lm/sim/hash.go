package sim

import (
	"math"
	"math/bits"
)

// The hash is a wyhash-style 64-bit hash over 8-byte words: fast, well mixed
// and the same on every machine and run, which hash/maphash (randomly seeded
// per process) is not.
const (
	k0 = 0xa0761d6478bd642f
	k1 = 0xe7037ed1a0b428db
	k2 = 0x8ebc6af09c88c6e3
	k3 = 0x589965cc75374cc3
)

// mum multiplies a and b to 128 bits and folds the halves.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

// hashString returns the 64-bit hash of s under seed.
func hashString(s string, seed uint64) uint64 {
	n := len(s)
	h := seed ^ mum(seed^k0, uint64(n)^k1)
	var a, b uint64
	switch {
	case n > 16:
		h2 := h ^ k2
		p := s
		for len(p) > 32 { // two lanes for instruction-level parallelism
			h = mum(le64(p)^k1, le64(p[8:])^h)
			h2 = mum(le64(p[16:])^k3, le64(p[24:])^h2)
			p = p[32:]
		}
		h ^= h2
		if len(p) > 16 {
			h = mum(le64(p)^k1, le64(p[8:])^h)
		}
		a, b = le64(s[n-16:]), le64(s[n-8:])
	case n >= 8:
		a, b = le64(s), le64(s[n-8:])
	case n >= 4:
		a, b = le32(s), le32(s[n-4:])
	case n > 0:
		a = uint64(s[0])<<16 | uint64(s[n>>1])<<8 | uint64(s[n-1])
	}
	return mum(k1^uint64(n), mum(a^k1, b^h))
}

// mix combines two hashes into one.
func mix(a, b uint64) uint64 { return mum(a^k0, b^k3) ^ a }

// uniform maps h to (0, 1), never 0 or 1.
func uniform(h uint64) float64 { return (float64(h>>11) + 0.5) / (1 << 53) }

// logistic maps h to a standard logistic draw (mean 0, scale 1).
func logistic(h uint64) float64 {
	u := uniform(h)
	return math.Log(u / (1 - u))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
