package mongo

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestSwapOverExpiredRacingDelete: a version-0 CompareAndSwap over an
// expired document, while a Delete of the same id runs, always wins: at no
// moment is there a live record for it to lose to. Seen in the suite's
// linearizability check on FerretDB (cmd/sessionstore's TestCheck): on a
// compatible server the swap read the expired document, the Delete (which
// takes no lock) removed it, and the swap's write by _id then matched
// nothing and reported false.
func TestSwapOverExpiredRacingDelete(t *testing.T) {
	t.Parallel()
	s, coll := openStore(t, Options{CleanupInterval: -1})
	ctx := context.Background()
	const rounds = 60
	lost := 0
	for i := range rounds {
		saveRaw(t, coll, "id", time.Now().Add(-time.Second))
		var (
			wg  sync.WaitGroup
			ok  bool
			err error
		)
		wg.Go(func() {
			if err := s.Delete(ctx, "id"); err != nil {
				t.Errorf("round %d: Delete = %v", i, err)
			}
		})
		wg.Go(func() { ok, err = s.CompareAndSwap(ctx, "id", 0, []byte("new"), time.Now().Add(time.Hour)) })
		wg.Wait()
		if err != nil {
			t.Fatalf("round %d: CompareAndSwap = %v", i, err)
		}
		if !ok {
			lost++
		}
		if err := s.Delete(ctx, "id"); err != nil {
			t.Fatal(err)
		}
	}
	if lost > 0 {
		t.Errorf("a version-0 CompareAndSwap over an expired document lost %d of %d races with a Delete; want it to win every time", lost, rounds)
	}
}
