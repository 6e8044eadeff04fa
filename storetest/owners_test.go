package storetest_test

import (
	"testing"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/storetest"
)

func TestRunOwnersOnMemory(t *testing.T) {
	storetest.RunOwners(t, storetest.Harness{NewStore: func(t testing.TB) sessionstore.Store {
		s := memory.New(memory.Options{})
		t.Cleanup(func() { s.Close() })
		return s
	}})
}
