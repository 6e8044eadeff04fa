package sqlite_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/sqlite3store"

	"github.com/sessionstore/sessionstore/internal/pairbench"
	"github.com/sessionstore/sessionstore/sqlite"
)

// The pair benchmarks put one Load + Save pair (what a request that changes
// its session costs) side by side in one run, each over a database file of
// its own opened with the same pragmas (WAL, synchronous=NORMAL,
// busy_timeout) and the same number of connections:
//
//	store: this package
//	raw:   the same two statements written by hand with database/sql
//	prepared: raw, with the two statements prepared once (sql.Stmt), as
//	       the store does
//	scs:   github.com/alexedwards/scs/sqlite3store (Find + Commit) over the
//	       same modernc.org/sqlite driver (it takes any *sql.DB; its own
//	       tests use the cgo driver github.com/mattn/go-sqlite3)
//
// Run them with: go test -run '^$' -bench Pair -benchmem ./sqlite/
//
// BenchmarkWriters compares ways of letting many goroutines write at once,
// and BenchmarkSynchronous the two durability settings.

const benchDataSize = 512 // a typical encoded session

// Raw statements over a table of this package's schema.
const (
	rawLoadSQL   = `SELECT data, expiry FROM sessions WHERE id = ? AND expiry > ?`
	rawUpsertSQL = `INSERT INTO sessions (id, data, expiry, version) VALUES (?, ?, ?, 1)
ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`
)

// benchDB opens a new database file the way Open does: WAL, synchronous,
// busy_timeout and as many connections.
func benchDB(b *testing.B, busyTimeout bool, sync string) *sql.DB {
	b.Helper()
	q := url.Values{}
	if busyTimeout {
		q.Add("_pragma", "busy_timeout(5000)")
	}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	u := url.URL{Scheme: "file", Path: filepath.Join(b.TempDir(), "bench.db"), RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	b.Cleanup(func() { db.Close() })
	return db
}

// benchPairs returns a pair function for each contender.
func benchPairs(b *testing.B) []pairbench.Contender {
	b.Helper()
	ctx := context.Background()
	data := make([]byte, benchDataSize)
	rand.Read(data)
	expiry := time.Now().Add(time.Hour)

	store, _ := openStore(b, sqlite.Options{})

	rawDB := benchDB(b, true, sqlite.SynchronousNormal)
	schema, err := sqlite.New(rawDB, sqlite.Options{CleanupInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	if err := schema.CreateTable(ctx); err != nil {
		b.Fatal(err)
	}

	prepDB := benchDB(b, true, sqlite.SynchronousNormal)
	prepSchema, err := sqlite.New(prepDB, sqlite.Options{CleanupInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	if err := prepSchema.CreateTable(ctx); err != nil {
		b.Fatal(err)
	}
	prepLoad, err := prepDB.Prepare(rawLoadSQL)
	if err != nil {
		b.Fatal(err)
	}
	prepUpsert, err := prepDB.Prepare(rawUpsertSQL)
	if err != nil {
		b.Fatal(err)
	}

	scsDB := benchDB(b, true, sqlite.SynchronousNormal)
	// The schema scs documents for sqlite3store.
	if _, err := scsDB.Exec(`CREATE TABLE sessions (
	token TEXT PRIMARY KEY,
	data BLOB NOT NULL,
	expiry REAL NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions(expiry);`); err != nil {
		b.Fatal(err)
	}
	scs := sqlite3store.NewWithCleanupInterval(scsDB, 0)

	return []pairbench.Contender{
		{Name: "store", Pair: func(ctx context.Context, id string) error {
			rec, _, err := store.Load(ctx, id)
			if err != nil {
				return err
			}
			return store.Save(ctx, id, nonEmpty(rec.Data, data), expiry)
		}},
		{Name: "raw", Pair: func(ctx context.Context, id string) error {
			var (
				got []byte
				exp int64
			)
			key := []byte(id)
			err := rawDB.QueryRowContext(ctx, rawLoadSQL, key, time.Now().UnixNano()).Scan(&got, &exp)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			_, err = rawDB.ExecContext(ctx, rawUpsertSQL, key, nonEmpty(got, data), expiry.UnixNano())
			return err
		}},
		{Name: "prepared", Pair: func(ctx context.Context, id string) error {
			var (
				got []byte
				exp int64
			)
			key := []byte(id)
			err := prepLoad.QueryRowContext(ctx, key, time.Now().UnixNano()).Scan(&got, &exp)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			_, err = prepUpsert.ExecContext(ctx, key, nonEmpty(got, data), expiry.UnixNano())
			return err
		}},
		{Name: "scs", Pair: func(_ context.Context, id string) error {
			got, _, err := scs.Find(id)
			if err != nil {
				return err
			}
			return scs.Commit(id, nonEmpty(got, data), expiry)
		}},
	}
}

// nonEmpty returns got, or data before the first save.
func nonEmpty(got, data []byte) []byte {
	if len(got) == 0 {
		return data
	}
	return got
}

func BenchmarkPair(b *testing.B) {
	ctx := context.Background()
	for _, c := range benchPairs(b) {
		b.Run(c.Name, func(b *testing.B) {
			const id = "serial-session-id-0123456789abcdef0123456789abcdef"
			if err := c.Pair(ctx, id); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Pair(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPairParallel(b *testing.B) {
	ctx := context.Background()
	var seq atomic.Int64
	for _, c := range benchPairs(b) {
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				// One session per goroutine: requests of different visitors.
				id := fmt.Sprintf("parallel-session-id-%032d", seq.Add(1))
				for pb.Next() {
					if err := c.Pair(ctx, id); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkPairInterleaved runs the four pairs in turn within every
// iteration and reports medians and ratios to raw (see internal/pairbench).
func BenchmarkPairInterleaved(b *testing.B) {
	pairbench.Interleaved(b, benchPairs(b))
}

// BenchmarkWriters saves from 64 goroutines at once (GOMAXPROCS×32), each
// its own session, with the ways of handling SQLite's one write lock:
//
//	turns+busy_timeout: the store as Open makes it: its writes take turns
//	    (a token taken with the context), busy_timeout for other processes
//	busy_timeout: no turns; SQLite's busy handler polls for the lock
//	retries: no turns, no busy_timeout; the store's own retries, with
//	    growing waits, meet every SQLITE_BUSY
//	one-connection: the database/sql pool limited to one connection, so
//	    reads wait for writes too
//
// lock-retries/op is how often a statement met a locked database and was
// run again; without the retries each of those would have reached the
// caller as "database is locked" (in the retries variant). p99-µs and
// max-µs are the latency of one save as its caller sees it: the wait for
// the lock included.
func BenchmarkWriters(b *testing.B) {
	ctx := context.Background()
	data := make([]byte, benchDataSize)
	rand.Read(data)
	for _, v := range []struct {
		name        string
		busyTimeout bool
		turns       bool
		conns       int
	}{
		{"turns+busy_timeout", true, true, 4},
		{"busy_timeout", true, false, 4},
		{"retries", false, false, 4},
		{"one-connection", true, false, 1},
	} {
		b.Run(v.name, func(b *testing.B) {
			db := benchDB(b, v.busyTimeout, sqlite.SynchronousNormal)
			db.SetMaxOpenConns(v.conns)
			s, err := sqlite.New(db, sqlite.Options{CleanupInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.CreateTable(ctx); err != nil {
				b.Fatal(err)
			}
			if !v.turns {
				sqlite.WithoutWriterTurns(s)
			}
			var (
				seq    atomic.Int64
				failed atomic.Int64
				mu     sync.Mutex
				took   []time.Duration
			)
			expiry := time.Now().Add(time.Hour)
			b.SetParallelism(32)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				id := fmt.Sprint("writer-", seq.Add(1))
				var mine []time.Duration
				for pb.Next() {
					start := time.Now()
					if err := s.Save(ctx, id, data, expiry); err != nil {
						failed.Add(1)
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				took = append(took, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(float64(sqlite.LockRetries(s))/float64(b.N), "lock-retries/op")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(took[len(took)-1].Microseconds()), "max-µs")
			if n := failed.Load(); n > 0 {
				b.Errorf("%d saves failed", n)
			}
		})
	}
}

// BenchmarkSynchronous saves from one goroutine, then from many, with each
// synchronous setting: FULL syncs the log at every commit.
func BenchmarkSynchronous(b *testing.B) {
	ctx := context.Background()
	data := make([]byte, benchDataSize)
	rand.Read(data)
	expiry := time.Now().Add(time.Hour)
	for _, mode := range []string{sqlite.SynchronousFull, sqlite.SynchronousNormal} {
		b.Run(mode+"/serial", func(b *testing.B) {
			s, _ := openStore(b, sqlite.Options{Synchronous: mode})
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Save(ctx, "serial", data, expiry); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(mode+"/parallel", func(b *testing.B) {
			s, _ := openStore(b, sqlite.Options{Synchronous: mode})
			var seq atomic.Int64
			b.SetParallelism(32)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				id := fmt.Sprint("parallel-", seq.Add(1))
				for pb.Next() {
					if err := s.Save(ctx, id, data, expiry); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
