package sessionstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
)

// TestContextErr checks ContextErr on contexts that have not ended, ended
// at their deadline, or were cancelled. (The moment between a deadline and
// its timer, which ContextErr exists for, cannot be held open by a test;
// the suite's mid-call Context checks meet it on real drivers.)
func TestContextErr(t *testing.T) {
	if err := sessionstore.ContextErr(context.Background()); err != nil {
		t.Errorf("ContextErr(Background) = %v; want nil", err)
	}
	live, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if err := sessionstore.ContextErr(live); err != nil {
		t.Errorf("ContextErr before the deadline = %v; want nil", err)
	}
	past, cancel := context.WithDeadline(context.Background(), time.Now().Add(time.Millisecond))
	defer cancel()
	<-past.Done()
	if err := sessionstore.ContextErr(past); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ContextErr of an expired context = %v; want context.DeadlineExceeded", err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sessionstore.ContextErr(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("ContextErr of a cancelled context = %v; want context.Canceled", err)
	}
}
