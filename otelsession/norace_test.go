//go:build !race

package otelsession_test

// allocNoise is how many allocations per round a comparison of two whole
// requests tolerates: none without -race (see race_test.go).
const allocNoise = 0
