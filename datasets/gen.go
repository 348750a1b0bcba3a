package datasets

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// exampleRand returns the random source of example i of a generation call.
// Each example has its own stream, so Generate(n, ...)[i] does not depend
// on n and a longer call extends a shorter one.
func exampleRand(family string, seed uint64, difficulty, i int) *rand.Rand {
	h := uint64(14695981039346656037) // FNV-1a
	for j := 0; j < len(family); j++ {
		h ^= uint64(family[j])
		h *= 1099511628211
	}
	s2 := splitmix(h ^ splitmix(uint64(difficulty)<<40^uint64(i)))
	return rand.New(rand.NewPCG(splitmix(seed^h), s2))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// levelOf is the difficulty of example i: difficulty itself, or for 0 a
// balanced mix cycling 1, 2, 3.
func levelOf(difficulty, i int) int {
	if difficulty == 0 {
		return i%3 + 1
	}
	return difficulty
}

// checkGenerate panics on a difficulty outside 0..3: a programmer error,
// since user input goes through GenerateFamily, which returns an error.
func checkGenerate(family string, difficulty int) {
	if difficulty < 0 || difficulty > 3 {
		panic(fmt.Sprintf("datasets: %s.Generate: difficulty %d outside 0..3", family, difficulty))
	}
}

func exampleID(family string, seed uint64, i int) string {
	return family + "-" + strconv.FormatUint(seed, 10) + "-" + strconv.Itoa(i)
}

// pick returns a uniformly chosen element of xs.
func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// between returns a uniform integer in [lo, hi].
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }
