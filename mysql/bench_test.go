package mysql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/mysqlstore"

	"github.com/sessionstore/sessionstore/internal/pairbench"
	"github.com/sessionstore/sessionstore/internal/testservers/mysqltest"
	"github.com/sessionstore/sessionstore/mysql"
)

// The benchmarks below put one Load + Save pair (what a request that
// changes its session costs) side by side in one run, against one server:
//
//	store:        this package
//	raw:          the same two statements written by hand with database/sql,
//	              as most code does it (db.QueryRowContext, db.ExecContext)
//	raw-prepared: the same, through statements prepared once (db.Prepare)
//	scs:          github.com/alexedwards/scs/mysqlstore (Find + Commit)
//
// Run them with: ./scripts/test -run '^$' -bench Pair -benchmem ./mysql/

const benchDataSize = 512 // a typical encoded session

// Raw statements over a table of this package's schema.
const (
	rawLoadSQL   = `SELECT data, expiry FROM %s WHERE id = ? AND expiry > ?`
	rawUpsertSQL = `INSERT INTO %s (id, data, expiry, version) VALUES (?, ?, ?, 1)
ON DUPLICATE KEY UPDATE data = VALUES(data), expiry = VALUES(expiry)`
)

// benchPairs returns a pair function for each contender, each over its own
// table on the server, every session already saved once.
func benchPairs(b *testing.B) []pairbench.Contender {
	b.Helper()
	db := newDB(b)
	data := make([]byte, benchDataSize)
	rand.Read(data)
	expiry := time.Now().Add(time.Hour)

	store := newStore(b, db, mysql.Options{})

	rawTable := newTableName("raw")
	newStore(b, db, mysql.Options{Table: rawTable}) // creates the table
	rawLoad, rawUpsert := fmt.Sprintf(rawLoadSQL, quote(rawTable)), fmt.Sprintf(rawUpsertSQL, quote(rawTable))
	prepLoad, err := db.Prepare(rawLoad)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { prepLoad.Close() })
	prepUpsert, err := db.Prepare(rawUpsert)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { prepUpsert.Close() })

	scs := newSCSStore(b)

	rawPair := func(ctx context.Context, id string, load func(args ...any) *sql.Row, upsert func(args ...any) error) error {
		var (
			got []byte
			exp int64
		)
		key := []byte(id)
		err := load(key, time.Now().UnixNano()).Scan(&got, &exp)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return upsert(key, nonEmpty(got, data), expiry.UnixNano())
	}
	return []pairbench.Contender{
		{Name: "store", Pair: func(ctx context.Context, id string) error {
			rec, _, err := store.Load(ctx, id)
			if err != nil {
				return err
			}
			return store.Save(ctx, id, nonEmpty(rec.Data, data), expiry)
		}},
		{Name: "raw", Pair: func(ctx context.Context, id string) error {
			return rawPair(ctx, id,
				func(args ...any) *sql.Row { return db.QueryRowContext(ctx, rawLoad, args...) },
				func(args ...any) error { _, err := db.ExecContext(ctx, rawUpsert, args...); return err })
		}},
		{Name: "raw-prepared", Pair: func(ctx context.Context, id string) error {
			return rawPair(ctx, id,
				func(args ...any) *sql.Row { return prepLoad.QueryRowContext(ctx, args...) },
				func(args ...any) error { _, err := prepUpsert.ExecContext(ctx, args...); return err })
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

// newSCSStore returns an scs mysqlstore over a database of its own: it
// hard-codes the table name "sessions". The table is the one scs documents,
// with the token widened from CHAR(43) to CHAR(64) for the benchmark's ids.
func newSCSStore(b *testing.B) *mysqlstore.MySQLStore {
	b.Helper()
	ctx := context.Background()
	cfg, _ := mysqltest.Config(b)
	root := mysqltest.OpenDB(b, cfg)
	database := newTableName("scs")
	if _, err := root.ExecContext(ctx, "CREATE DATABASE "+quote(database)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { root.ExecContext(ctx, "DROP DATABASE "+quote(database)) })
	for _, q := range []string{
		`CREATE TABLE ` + quote(database) + `.sessions (
	token CHAR(64) PRIMARY KEY,
	data BLOB NOT NULL,
	expiry TIMESTAMP(6) NOT NULL)`,
		`CREATE INDEX sessions_expiry_idx ON ` + quote(database) + `.sessions (expiry)`,
	} {
		if _, err := root.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	cfg.DBName, cfg.ParseTime = database, true // as scs's README opens it
	return mysqlstore.NewWithCleanupInterval(mysqltest.OpenDB(b, cfg), 0)
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

// BenchmarkPairInterleaved runs the pairs in turn within every iteration
// and reports medians and ratios to raw (see internal/pairbench).
func BenchmarkPairInterleaved(b *testing.B) {
	pairbench.Interleaved(b, benchPairs(b))
}
