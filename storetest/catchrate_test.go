package storetest

import (
	"os"
	"strconv"
	"testing"
)

// TestCatchRate measures how often the race checks catch the broken stores
// that only a race shows, over STORETEST_CATCH_RUNS runs (skipped when it
// is unset). docs/testing.md gives the figures:
//
//	STORETEST_CATCH_RUNS=100 go test -run TestCatchRate -v ./storetest/
func TestCatchRate(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STORETEST_CATCH_RUNS"))
	if n <= 0 {
		t.Skip("STORETEST_CATCH_RUNS is not set")
	}
	cases := []struct {
		name  string
		fault fault
		check func(s *suite) func(t tester, st *store)
	}{
		{"check-then-set swap, 32 racers on one id", faultRacyNoSleep, func(s *suite) func(tester, *store) { return s.swapRace }},
		{"check-then-set swap, racers on 32 ids", faultRacyNoSleep, func(s *suite) func(tester, *store) { return s.swapRaceIDs }},
		{"racy removal of expired records", faultRemovesExpiredRacily, func(s *suite) func(tester, *store) { return s.concurrentResave }},
		{"torn reads of big records", faultTornBigRead, func(s *suite) func(tester, *store) { return s.concurrentShared }},
	}
	for _, c := range cases {
		caught := 0
		for range n {
			s := &suite{h: refHarness(c.fault, noDeadFault)}
			rec := runRecorded(t, func(t tester) {
				t.Run("check", func(t tester) { c.check(s)(t, s.newStore(t)) })
			})
			if len(rec.failedLeaves()) > 0 {
				caught++
			}
		}
		t.Logf("%s: caught in %d of %d runs", c.name, caught, n)
	}
}
