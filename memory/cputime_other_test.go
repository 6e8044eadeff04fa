//go:build !unix

package memory_test

import "time"

// processCPU is not measured on this system; the benchmarks then report no
// cpu-ns/op.
func processCPU() time.Duration { return 0 }
