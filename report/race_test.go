//go:build race

package report

// raceEnabled reports whether the tests run under the race detector,
// which slows rendering tenfold.
const raceEnabled = true
