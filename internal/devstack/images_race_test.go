//go:build race

package devstack

// raceEnabled reports whether the tests run under the race detector, which
// makes compressing the real Go toolchain ten times slower.
const raceEnabled = true
