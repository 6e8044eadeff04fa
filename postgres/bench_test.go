package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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

// pairFunc runs one Load + Save pair on the session id.
type pairFunc func(ctx context.Context, id string) error

// benchPairs returns a pair function for each contender, each over its own
// table on the server of pool, every session already saved once.
func benchPairs(b *testing.B, pool *pgxpool.Pool) []contender {
	b.Helper()
	data := make([]byte, benchDataSize)
	rand.Read(data)
	expiry := time.Now().Add(time.Hour)

	store := newStore(b, pool, postgres.Options{})

	rawTable := newTableName("raw")
	newStore(b, pool, postgres.Options{Table: rawTable}) // creates the table
	rawLoad, rawUpsert := fmt.Sprintf(rawLoadSQL, quote(rawTable)), fmt.Sprintf(rawUpsertSQL, quote(rawTable))

	scs := newSCSStore(b, pool)

	return []contender{
		{"store", func(ctx context.Context, id string) error {
			rec, _, err := store.Load(ctx, id)
			if err != nil {
				return err
			}
			return store.Save(ctx, id, nonEmpty(rec.Data, data), expiry)
		}},
		{"raw", func(ctx context.Context, id string) error {
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
		{"scs", func(_ context.Context, id string) error {
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
		b.Run(c.name, func(b *testing.B) {
			const id = "serial-session-id-0123456789abcdef0123456789abcdef"
			if err := c.pair(ctx, id); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := c.pair(ctx, id); err != nil {
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
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				// One session per goroutine: requests of different visitors.
				id := fmt.Sprintf("parallel-session-id-%032d", seq.Add(1))
				for pb.Next() {
					if err := c.pair(ctx, id); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkPairInterleaved runs the three pairs in turn within every
// iteration (rotating which goes first) and reports each one's median time
// per pair and the ratio of that median to raw's. On a busy machine, where
// separate benchmarks meet different load, this is the figure to compare:
// all three see the same moments, and the median ignores the stalls.
func BenchmarkPairInterleaved(b *testing.B) {
	ctx := context.Background()
	pairs := benchPairs(b, newPool(b))
	b.Run("serial", func(b *testing.B) {
		const id = "interleaved-session-id-0123456789abcdef0123456789ab"
		t := newTimings(len(pairs))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := t.round(ctx, pairs, i, id); err != nil {
				b.Fatal(err)
			}
			i++
		}
		t.report(b, pairs)
	})
	b.Run("parallel", func(b *testing.B) {
		var seq atomic.Int64
		t := newTimings(len(pairs))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			id := fmt.Sprintf("interleaved-parallel-id-%032d", seq.Add(1))
			for i := 0; pb.Next(); i++ {
				if err := t.round(ctx, pairs, i, id); err != nil {
					b.Error(err)
					return
				}
			}
		})
		t.report(b, pairs)
	})
}

type contender = struct {
	name string
	pair pairFunc
}

// timings collects the duration of every pair of each contender.
type timings struct {
	mu    sync.Mutex
	spent [][]time.Duration
}

func newTimings(n int) *timings { return &timings{spent: make([][]time.Duration, n)} }

// round runs every contender's pair once on id, starting with the i-th.
func (t *timings) round(ctx context.Context, pairs []contender, i int, id string) error {
	for k := range pairs {
		c := (i + k) % len(pairs)
		start := time.Now()
		if err := pairs[c].pair(ctx, id); err != nil {
			return err
		}
		d := time.Since(start)
		t.mu.Lock()
		t.spent[c] = append(t.spent[c], d)
		t.mu.Unlock()
	}
	return nil
}

// report reports the median pair time of each contender and its ratio to
// raw's.
func (t *timings) report(b *testing.B, pairs []contender) {
	medians := make([]float64, len(pairs))
	var raw float64
	for c, p := range pairs {
		if len(t.spent[c]) == 0 {
			return
		}
		slices.Sort(t.spent[c])
		medians[c] = float64(t.spent[c][len(t.spent[c])/2])
		if p.name == "raw" {
			raw = medians[c]
		}
	}
	for c, p := range pairs {
		b.ReportMetric(medians[c], p.name+"-p50-ns/pair")
		if p.name != "raw" {
			b.ReportMetric(medians[c]/raw, p.name+"/raw")
		}
	}
}
