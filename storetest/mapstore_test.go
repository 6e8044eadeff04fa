package storetest_test

import (
	"testing"

	"github.com/sessionstore/sessionstore/storetest"
)

// TestMapStore is the test the Example shows: it proves the user's MapStore
// of example_test.go against the suite.
func TestMapStore(t *testing.T) {
	storetest.Run(t, mapStoreHarness)
}
