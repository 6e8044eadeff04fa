package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionstore/sessionstore/internal/pairbench"
	"github.com/sessionstore/sessionstore/postgres"
)

// The benchmarks below put one Load + Save pair (what a request that
// changes its session costs) side by side in one run, against one server:
//
//	store: this package
//	raw:   the same two statements written by hand with pgx
//	scs:   github.com/alexedwards/scs/pgxstore (Find + Commit)
//
// Run them with: go test -run '^$' -bench Pair -benchmem ./postgres/

const benchDataSize = 512 // a typical encoded session

// Raw pgx statements over a table of this package's schema.
const (
	rawLoadSQL   = `SELECT data, expiry FROM %s WHERE id = $1 AND expiry > $2`
	rawUpsertSQL = `INSERT INTO %s (id, data, expiry, version) VALUES ($1, $2, $3, 1)
ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`
)

// benchPairs returns a pair function for each contender, each over its own
// table on the server of pool, every session already saved once.
func benchPairs(b *testing.B, pool *pgxpool.Pool) []pairbench.Contender {
	b.Helper()
	data := make([]byte, benchDataSize)
	rand.Read(data)
	expiry := time.Now().Add(time.Hour)

	store := newStore(b, pool, postgres.Options{})

	rawTable := newTableName("raw")
	newStore(b, pool, postgres.Options{Table: rawTable}) // creates the table
	rawLoad, rawUpsert := fmt.Sprintf(rawLoadSQL, quote(rawTable)), fmt.Sprintf(rawUpsertSQL, quote(rawTable))

	scs := newSCSStore(b, pool)

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
				exp time.Time
			)
			key := []byte(id)
			err := pool.QueryRow(ctx, rawLoad, key, time.Now()).Scan(&got, &exp)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			_, err = pool.Exec(ctx, rawUpsert, key, nonEmpty(got, data), expiry)
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

// newSCSStore returns an scs pgxstore over a schema of its own: pgxstore
// hard-codes the table name "sessions", so its pool's search_path points at
// that schema.
func newSCSStore(b *testing.B, pool *pgxpool.Pool) *pgxstore.PostgresStore {
	b.Helper()
	ctx := context.Background()
	schema := newTableName("scs")
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+quote(schema)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pool.Exec(ctx, "DROP SCHEMA "+quote(schema)+" CASCADE") })
	// The schema scs documents for its PostgreSQL stores.
	_, err := pool.Exec(ctx, `CREATE TABLE `+quote(schema)+`.sessions (
	token TEXT PRIMARY KEY,
	data BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL)`)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE INDEX ON `+quote(schema)+`.sessions (expiry)`); err != nil {
		b.Fatal(err)
	}
	cfg := pool.Config()
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	scsPool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(scsPool.Close)
	return pgxstore.NewWithCleanupInterval(scsPool, 0)
}

func BenchmarkPair(b *testing.B) {
	ctx := context.Background()
	for _, c := range benchPairs(b, newPool(b)) {
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
	for _, c := range benchPairs(b, newPool(b)) {
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

// BenchmarkPairInterleaved runs the three pairs in turn within every
// iteration and reports medians and ratios to raw (see internal/pairbench).
func BenchmarkPairInterleaved(b *testing.B) {
	pairbench.Interleaved(b, benchPairs(b, newPool(b)))
}
