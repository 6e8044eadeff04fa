package backendtest_test

import (
	"bufio"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.mongodb.org/mongo-driver/v2/bson"
	mongodriver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
	"github.com/sessionstore/sessionstore/internal/testservers/mongotest"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
	"github.com/sessionstore/sessionstore/memcache"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/mongo"
	"github.com/sessionstore/sessionstore/postgres"
	"github.com/sessionstore/sessionstore/redis"
)

// Settings of BenchmarkGrowth.
const (
	// growthSizesEnv lists the numbers of live sessions to measure at,
	// comma separated; the default is growthSizes.
	growthSizesEnv = "SESSIONSTORE_GROWTH_SIZES"
	growthSizes    = "10000,1000000"
	// growthMongoMaxEnv caps the sizes on mongo: on FerretDB, the server
	// the tests use where no registry answers, every Load and Save reads the
	// whole collection, and the million takes about 3 minutes (fill and
	// two pairs); 100000 takes about 30 s.
	growthMongoMaxEnv = "SESSIONSTORE_GROWTH_MONGO_MAX"

	growthDataSize = 200 // as storetest's benchmarks: a typical encoded session
	growthLife     = 24 * time.Hour
	// growthMemcacheMB holds a million items of about 330 bytes (the
	// 384-byte slab class) with room to spare: the default 64 MB would evict.
	growthMemcacheMB = 1024
	growthSpotChecks = 1000 // random ids loaded after each fill
	// growthMongoSpotChecks is fewer: on FerretDB each Load reads the whole
	// collection (see the README), seconds apiece at a million documents.
	growthMongoSpotChecks = 20
)

// BenchmarkGrowth measures how the load+save pair of one request grows with
// the number of live sessions, on every backend on its real server: the
// figures of the README's "How cost grows with the number of sessions".
//
// Each backend's store is filled to each size in turn (10,000 then 1,000,000
// by default; SESSIONSTORE_GROWTH_SIZES changes them, and
// SESSIONSTORE_GROWTH_MONGO_MAX caps mongo's) with sessions of 200
// random bytes under random 43-byte base64url ids, the shape of the
// Manager's store keys. Filling is untimed and takes the fastest path that
// writes exactly the store's own format (a Redis pipeline, PostgreSQL COPY,
// MongoDB InsertMany, concurrent Saves on memcached); it is checked by Count
// and by loading random ids through the store before the timer starts. The
// timed operation is one Load of a random live session and one Save of new
// 200-byte data to it, through the real Store.
//
// Besides ns/op, B/op and allocs/op it reports fill-s, the seconds filling
// from empty to the size took, and server-B/session, the server's memory
// (the Go heap for memory) the sessions added, per session.
//
//	./scripts/test -run '^$' -bench Growth -benchtime 10s ./internal/backendtest/
//
// Nothing runs without -bench: a plain go test never fills a million rows.
func BenchmarkGrowth(b *testing.B) {
	sizes := growthSizeList(b)
	ids := growthIDs(slices.Max(sizes))
	datas := make([][]byte, 16) // Saves rotate over these, so each writes new data
	for i := range datas {
		datas[i] = make([]byte, growthDataSize)
		fillRandom(datas[i], uint64(i))
	}
	for _, be := range growthBackends() {
		b.Run("backend="+be.name, func(b *testing.B) {
			sizes := sizes
			if be.max > 0 {
				sizes = capSizes(sizes, be.max)
			}
			g := be.open(b)
			expiry := time.Now().Add(growthLife)
			ctx := context.Background()
			have, filling, added := 0, time.Duration(0), int64(0)
			for _, n := range sizes {
				b.Run(fmt.Sprint("sessions=", n), func(b *testing.B) {
					// Filled here, inside the sub-benchmark, so that a -bench
					// pattern leaving this size out fills nothing; b.Loop
					// starts the timer only after it.
					if have < n {
						before := g.memory(ctx, b)
						start := time.Now()
						if err := g.fill(ctx, ids[have:n], datas[0], expiry); err != nil {
							b.Fatalf("filling %s from %d to %d sessions: %v", be.name, have, n, err)
						}
						filling += time.Since(start)
						added += g.memory(ctx, b) - before
						have = n
						checkFilled(ctx, b, g, ids[:n])
						b.Logf("%s: %d sessions, filled in %v in all", be.name, n, filling.Round(time.Millisecond))
					}
					runPair(b, g.store, ids[:n], datas, expiry)
					b.ReportMetric(filling.Seconds(), "fill-s")
					if added > 0 {
						b.ReportMetric(float64(added)/float64(n), "server-B/session")
					}
				})
			}
		})
	}
}

// runPair is the timed loop: a Load and a Save of new data on a random live
// session, as one request that changes its session does.
func runPair(b *testing.B, st sessionstore.Store, ids []string, datas [][]byte, expiry time.Time) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(uint64(len(ids)), 7))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := ids[rng.IntN(len(ids))]
		if _, found, err := st.Load(ctx, id); err != nil || !found {
			b.Fatalf("Load of a live session: found %v, %v", found, err)
		}
		if err := st.Save(ctx, id, datas[i%len(datas)], expiry); err != nil {
			b.Fatalf("Save: %v", err)
		}
		i++
	}
}

// grower is one backend's store under BenchmarkGrowth, with the means to fill
// it fast and to see what its server holds.
type grower struct {
	store sessionstore.Store
	// fill writes ids with data and expiry, exactly as Save would.
	fill func(ctx context.Context, ids []string, data []byte, expiry time.Time) error
	// memory returns the bytes the server (or the Go heap) uses now, or 0
	// when it cannot tell; only differences are reported.
	memory func(ctx context.Context, b *testing.B) int64
	// check, when set, adds a backend's own check of a fill: memcached
	// cannot count, but it can say whether it evicted anything.
	check func(ctx context.Context, b *testing.B, n int)
	// spotChecks is how many random ids the check loads; 0 means
	// growthSpotChecks.
	spotChecks int
}

type growthBackend struct {
	name string
	max  int // the largest size measured; 0: no cap
	open func(b *testing.B) *grower
}

func growthBackends() []growthBackend {
	mongoMax := 0
	if v := os.Getenv(growthMongoMaxEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			panic(fmt.Sprintf("%s=%q: want a positive number", growthMongoMaxEnv, v))
		}
		mongoMax = n
	}
	return []growthBackend{
		{name: "memory", open: growMemory},
		{name: "redis", open: growRedis},
		{name: "postgres", open: growPostgres},
		{name: "memcache", open: growMemcache},
		{name: "mongo", max: mongoMax, open: growMongo},
	}
}

// growMemory fills through Save, each id a fresh string: the store keeps what
// it is given, and the heap it adds is what the benchmark reports.
func growMemory(b *testing.B) *grower {
	s := memory.New(memory.Options{MaxSessions: -1}) // the default cap is exactly 1,000,000
	b.Cleanup(func() { s.Close() })
	return &grower{
		store: s,
		fill: func(ctx context.Context, ids []string, data []byte, expiry time.Time) error {
			for _, id := range ids {
				if err := s.Save(ctx, strings.Clone(id), data, expiry); err != nil {
					return err
				}
			}
			return nil
		},
		memory: func(context.Context, *testing.B) int64 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return int64(ms.HeapAlloc)
		},
	}
}

// growRedis fills with pipelined SET … PXAT of the store's own value: the
// 16-byte header (expiry in Unix ms, version, both big-endian) and the data;
// see the redis package doc. A wrong layout fails the check's Loads.
func growRedis(b *testing.B) *grower {
	client, _ := redistest.New(b)
	prefix := "growth_" + strconv.FormatUint(rand.Uint64(), 36) + ":"
	s, err := redis.New(client, redis.Options{Prefix: prefix})
	fatal(b, "redis.New", err)
	b.Cleanup(func() {
		// The shared server outlives this benchmark: drop its million keys.
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 10_000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			if keys = append(keys, iter.Val()); len(keys) == 10_000 {
				client.Unlink(ctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			client.Unlink(ctx, keys...)
		}
	})
	return &grower{
		store: s,
		fill: func(ctx context.Context, ids []string, data []byte, expiry time.Time) error {
			ms := expiry.UnixMilli()
			return inBatches(len(ids), 1000, 4, func(lo, hi int) error {
				pipe := client.Pipeline()
				for _, id := range ids[lo:hi] {
					val := make([]byte, 16+len(data))
					binary.BigEndian.PutUint64(val[0:], uint64(ms))
					binary.BigEndian.PutUint64(val[8:], nonZero())
					copy(val[16:], data)
					pipe.Do(ctx, "set", prefix+id, val, "pxat", ms)
				}
				_, err := pipe.Exec(ctx)
				return err
			})
		},
		memory: func(ctx context.Context, b *testing.B) int64 {
			info, err := client.InfoMap(ctx, "memory").Result()
			if err != nil {
				b.Logf("redis INFO memory: %v", err)
				return 0
			}
			n, _ := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
			return n
		},
	}
}

// growPostgres fills with COPY into the store's own table, then VACUUM
// ANALYZE, as autovacuum would have left a table grown over days.
func growPostgres(b *testing.B) *grower {
	pool, _ := pgtest.New(b)
	table := "growth_" + strconv.FormatUint(rand.Uint64(), 36)
	s, err := postgres.New(pool, postgres.Options{Table: table, CleanupInterval: -1})
	fatal(b, "postgres.New", err)
	fatal(b, "postgres CreateTable", s.CreateTable(context.Background()))
	b.Cleanup(func() {
		s.Close()
		pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{table}.Sanitize())
	})
	return &grower{
		store: s,
		fill: func(ctx context.Context, ids []string, data []byte, expiry time.Time) error {
			i := 0
			_, err := pool.CopyFrom(ctx, pgx.Identifier{table}, []string{"id", "data", "expiry", "version"},
				pgx.CopyFromFunc(func() ([]any, error) {
					if i == len(ids) {
						return nil, nil
					}
					i++
					return []any{[]byte(ids[i-1]), data, expiry, int64(nonZero())}, nil
				}))
			if err != nil {
				return err
			}
			_, err = pool.Exec(ctx, "VACUUM ANALYZE "+pgx.Identifier{table}.Sanitize())
			return err
		},
		memory: func(ctx context.Context, b *testing.B) int64 {
			var n int64
			err := pool.QueryRow(ctx, "SELECT pg_total_relation_size($1::text::regclass)", pgx.Identifier{table}.Sanitize()).Scan(&n)
			if err != nil {
				b.Logf("postgres pg_total_relation_size: %v", err)
			}
			return n
		},
	}
}

// growMemcache fills with concurrent Saves through the store (gomemcache has
// no pipeline), on a server of its own with memory for a million sessions.
func growMemcache(b *testing.B) *grower {
	client, srv := memcachetest.NewWithMemory(b, growthMemcacheMB)
	s, err := memcache.New(client, memcache.Options{Prefix: "growth:"})
	fatal(b, "memcache.New", err)
	stat := func(b *testing.B, name string) int64 {
		v, err := memcacheStat(srv.Addr, name)
		if err != nil {
			b.Logf("memcached stats %s: %v", name, err)
		}
		return v
	}
	return &grower{
		store: s,
		fill: func(ctx context.Context, ids []string, data []byte, expiry time.Time) error {
			// As many as the client keeps idle connections: more would dial
			// and close one per call.
			return inBatches(len(ids), 100, 16, func(lo, hi int) error {
				for _, id := range ids[lo:hi] {
					if err := s.Save(ctx, id, data, expiry); err != nil {
						return err
					}
				}
				return nil
			})
		},
		memory: func(_ context.Context, b *testing.B) int64 { return stat(b, "bytes") },
		check: func(_ context.Context, b *testing.B, n int) {
			if ev := stat(b, "evictions"); ev != 0 {
				b.Fatalf("memcached evicted %d items: give it more than %d MB", ev, growthMemcacheMB)
			}
			if items := stat(b, "curr_items"); items != int64(n) {
				b.Fatalf("memcached holds %d items, want %d", items, n)
			}
		},
	}
}

// growMongo fills with unordered InsertMany of the store's own documents:
// _id the id (a string when valid UTF-8, as every id here), data binary,
// expiry a date, version a non-zero int64; see the mongo package doc.
func growMongo(b *testing.B) *grower {
	db, _ := mongotest.New(b)
	name := "growth_" + strconv.FormatUint(rand.Uint64(), 36)
	s, err := mongo.New(db, mongo.Options{
		Collection: name,
		// No expired document exists here; on FerretDB each cleanup round
		// would be a scan of the collection in the middle of the timings.
		CleanupInterval: -1,
		Logger:          slog.New(slog.DiscardHandler), // the TTL fallback notice is expected
	})
	fatal(b, "mongo.New", err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fatal(b, "mongo EnsureIndexes", s.EnsureIndexes(ctx))
	b.Cleanup(func() { s.Close() })
	coll := db.Collection(name)
	return &grower{
		store:      s,
		spotChecks: growthMongoSpotChecks,
		fill: func(ctx context.Context, ids []string, data []byte, expiry time.Time) error {
			unordered := options.InsertMany().SetOrdered(false)
			return inBatches(len(ids), 1000, 2, func(lo, hi int) error {
				docs := make([]any, 0, hi-lo)
				for _, id := range ids[lo:hi] {
					docs = append(docs, bson.D{
						{Key: "_id", Value: id},
						{Key: "data", Value: bson.Binary{Data: data}},
						{Key: "expiry", Value: bson.NewDateTimeFromTime(expiry)},
						{Key: "version", Value: int64(nonZero() >> 1)},
					})
				}
				_, err := coll.InsertMany(ctx, docs, unordered)
				return err
			})
		},
		memory: func(ctx context.Context, b *testing.B) int64 {
			return mongoCollSize(ctx, b, db, name)
		},
	}
}

// mongoCollSize returns the collection's size with its indexes (collStats
// totalSize, else storageSize plus totalIndexSize), or 0 when the server
// does not say.
func mongoCollSize(ctx context.Context, b *testing.B, db *mongodriver.Database, name string) int64 {
	var st bson.M
	if err := db.RunCommand(ctx, bson.D{{Key: "collStats", Value: name}}).Decode(&st); err != nil {
		b.Logf("mongo collStats: %v", err)
		return 0
	}
	num := func(k string) int64 {
		switch v := st[k].(type) {
		case int32:
			return int64(v)
		case int64:
			return v
		case float64:
			return int64(v)
		}
		return 0
	}
	if n := num("totalSize"); n > 0 {
		return n
	}
	return num("storageSize") + num("totalIndexSize")
}

// checkFilled fails the benchmark unless the store holds exactly the ids:
// Count where the store can count, then Loads of random ids through the
// store, which also prove the bulk paths wrote the store's own format.
func checkFilled(ctx context.Context, b *testing.B, g *grower, ids []string) {
	b.Helper()
	if _, ok := g.store.(sessionstore.Counter); ok {
		n, err := sessionstore.Count(ctx, g.store)
		if err != nil || n != len(ids) {
			b.Fatalf("Count = %d, %v; want %d", n, err, len(ids))
		}
	}
	if g.check != nil {
		g.check(ctx, b, len(ids))
	}
	rng := rand.New(rand.NewPCG(1, uint64(len(ids))))
	for range cmp.Or(g.spotChecks, growthSpotChecks) {
		id := ids[rng.IntN(len(ids))]
		rec, found, err := g.store.Load(ctx, id)
		if err != nil || !found || len(rec.Data) != growthDataSize || rec.Version == 0 {
			b.Fatalf("Load of a filled id: found %v, %d bytes, version %d, %v", found, len(rec.Data), rec.Version, err)
		}
	}
}

// inBatches calls fn on [lo, hi) batches of at most size covering [0, n)
// from workers goroutines, and returns the first error.
func inBatches(n, size, workers int, fn func(lo, hi int) error) error {
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				lo := next
				next = min(next+size, n)
				stop := first != nil || lo >= n
				mu.Unlock()
				if stop {
					return
				}
				if err := fn(lo, min(lo+size, n)); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// growthIDs returns n distinct random ids of 43 base64url characters, the
// form of the Manager's store keys (SHA-256 of the cookie's id), the same in
// every run.
func growthIDs(n int) []string {
	rng := rand.NewChaCha8([32]byte{'g', 'r', 'o', 'w', 't', 'h'})
	raw := make([]byte, 32)
	ids := make([]string, n)
	for i := range ids {
		rng.Read(raw)
		ids[i] = base64.RawURLEncoding.EncodeToString(raw)
	}
	return ids
}

func fillRandom(p []byte, seed uint64) {
	rand.NewChaCha8([32]byte{byte(seed), 'd', 'a', 't', 'a'}).Read(p)
}

// nonZero returns a random non-zero version, as the stores draw theirs.
func nonZero() uint64 {
	for {
		if v := rand.Uint64(); v>>1 != 0 {
			return v
		}
	}
}

// growthSizeList returns the sizes of SESSIONSTORE_GROWTH_SIZES, ascending.
func growthSizeList(b *testing.B) []int {
	v := os.Getenv(growthSizesEnv)
	if v == "" {
		v = growthSizes
	}
	var sizes []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want positive numbers, comma separated", growthSizesEnv, v)
		}
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	return slices.Compact(sizes)
}

// capSizes replaces the sizes above limit by limit.
func capSizes(sizes []int, limit int) []int {
	out := make([]int, 0, len(sizes))
	for _, n := range sizes {
		out = append(out, min(n, limit))
	}
	return slices.Compact(out)
}

// memcacheStat returns one figure of the server's `stats`, which gomemcache
// has no call for.
func memcacheStat(addr, name string) (int64, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("stats\r\n")); err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(conn)
	for sc.Scan() && sc.Text() != "END" {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "STAT" && f[1] == name {
			return strconv.ParseInt(f[2], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in the stats: %v", name, sc.Err())
}

func fatal(b *testing.B, what string, err error) {
	b.Helper()
	if err != nil {
		b.Fatalf("%s: %v", what, err)
	}
}
