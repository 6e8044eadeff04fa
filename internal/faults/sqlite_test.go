package faults_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/sqlite"
)

// restartTargets are the backends TestRestartMidSave kills an application
// of: those with a server, and SQLite, whose database file the killed
// process and the restarted application share (two processes writing one
// file, one of them killed with SIGKILL in the middle of its work).
func restartTargets() []target { return append(targets(), sqliteTarget) }

// sqliteTarget has no server and no link: its "address" is a directory,
// and each name a database file in it.
var sqliteTarget = target{
	name: "sqlite",
	server: func(t testing.TB) (string, func(context.Context, string) (int, bool, error)) {
		return t.TempDir(), func(context.Context, string) (int, bool, error) { return 0, false, nil }
	},
	open: func(t testing.TB, dir string, _ dialFunc, name string, _ int) (sessionstore.Store, func()) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := sqlite.Open(ctx, filepath.Join(dir, name+".db"), sqlite.Options{CleanupInterval: -1})
		must(t, "sqlite.Open", err)
		return st, func() { st.Close() }
	},
}
