package mongo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/reopen"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/mongotest"
	"github.com/sessionstore/sessionstore/storetest"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// harness runs the suite on stores with the default options, each in a
// database of its own (so the 4 MiB documents of the size tests slow no
// other test), indexes ensured as an application would at start-up.
var harness = storetest.Harness{
	NewStore: func(t testing.TB) sessionstore.Store {
		s, coll := openStore(t, Options{})
		return opener.Track(s, func(t testing.TB) sessionstore.Store {
			again, _ := storeOn(t, coll.Database(), Options{Collection: coll.Name()})
			return again
		})
	},
	OpenAgain: opener.OpenAgain,
	// A collection per name, in one database for the two stores of a
	// subtest, so that they differ only in their collection.
	NewNamedStore: func(t testing.TB, name string) sessionstore.Store {
		s, _ := storeOn(t, namedDatabase(t), Options{Collection: "sessions_" + name})
		return s
	},
	NestedNames:     true,
	MaxDataSize:     DefaultMaxDataSize,
	ExpiryPrecision: 0,
	NewUnreachableStore: func(t testing.TB) sessionstore.Store {
		s, err := New(unreachableDatabase(t), Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	},
}

// opener opens the collection of a harness's store again, through another
// Store value: what another process configured alike opens.
var opener reopen.Opener

func TestConformance(t *testing.T) { storetest.Run(t, harness) }

// namedDatabases holds the database of each subtest that asks for named
// stores.
var namedDatabases sync.Map // testing.TB → *mongo.Database

// namedDatabase returns the database of t's named stores, made on first use.
func namedDatabase(t testing.TB) *mongo.Database {
	if db, ok := namedDatabases.Load(t); ok {
		return db.(*mongo.Database)
	}
	db, _ := mongotest.New(t)
	namedDatabases.Store(t, db)
	t.Cleanup(func() { namedDatabases.Delete(t) })
	return db
}

func BenchmarkStore(b *testing.B) { storetest.RunBenchmarks(b, harness) }

var quiet = slog.New(slog.DiscardHandler)

// openStore returns a store over a new database after EnsureIndexes, closed
// when the test ends. A nil opts.Logger discards the log.
func openStore(t testing.TB, opts Options) (*Store, *mongo.Collection) {
	t.Helper()
	db, _ := mongotest.New(t)
	return storeOn(t, db, opts)
}

func storeOn(t testing.TB, db *mongo.Database, opts Options) (*Store, *mongo.Collection) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	s, err := New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	return s, s.coll
}

// unreachableDatabase returns a database on a port where nothing listens.
func unreachableDatabase(t testing.TB) *mongo.Database {
	t.Helper()
	addr := testservers.ClosedAddr(t)
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + addr + "/?directConnection=true"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })
	return client.Database("sessions")
}

// logRecorder keeps the messages logged through it.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}

func (r *logRecorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

func TestNewRejectsBadOptions(t *testing.T) {
	db := unreachableDatabase(t)
	for _, tc := range []struct {
		name string
		new  func() (*Store, error)
	}{
		{"nil database", func() (*Store, error) { return New(nil, Options{}) }},
		{"nil collection", func() (*Store, error) { return NewCollection(nil, Options{}) }},
		{"negative MaxDataSize", func() (*Store, error) { return New(db, Options{MaxDataSize: -1}) }},
		{"MaxDataSize above the BSON limit", func() (*Store, error) { return New(db, Options{MaxDataSize: MaxMaxDataSize + 1}) }},
		{"collection name differs", func() (*Store, error) {
			return NewCollection(db.Collection("a"), Options{Collection: "b"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := tc.new(); err == nil || s != nil || !strings.HasPrefix(err.Error(), "mongo: new: ") {
				t.Fatalf("got (%v, %v), want a nil store and a mongo: new: error", s, err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	db := unreachableDatabase(t)
	s, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.coll.Name() != DefaultCollection || s.maxData != DefaultMaxDataSize ||
		s.interval != DefaultCleanupInterval || s.log != slog.Default() {
		t.Fatalf("defaults: collection %q, max %d, interval %v, default logger %v",
			s.coll.Name(), s.maxData, s.interval, s.log == slog.Default())
	}
	s, err = NewCollection(db.Collection("mine"), Options{Collection: "mine", MaxDataSize: 10})
	if err != nil || s.coll.Name() != "mine" || s.maxData != 10 {
		t.Fatalf("NewCollection: %v, %v", s, err)
	}
}

// TestTooLargeSendsNothing checks that the size is refused before any network
// call: the store's database does not answer, yet the error is immediate.
func TestTooLargeSendsNothing(t *testing.T) {
	s, err := New(unreachableDatabase(t), Options{MaxDataSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background() // no deadline: a network call would hang for 30 s
	exp := time.Now().Add(time.Hour)
	if err := s.Save(ctx, "id", make([]byte, 9), exp); !errors.Is(err, sessionstore.ErrTooLarge) {
		t.Errorf("Save: %v, want ErrTooLarge", err)
	}
	if _, err := s.CompareAndSwap(ctx, "id", 0, make([]byte, 9), exp); !errors.Is(err, sessionstore.ErrTooLarge) {
		t.Errorf("CompareAndSwap: %v, want ErrTooLarge", err)
	}
}

// TestDocumentShape reads back the raw documents that the package doc
// describes: a string _id for an id that is valid UTF-8, binary for one that
// is not, and two ids differing only in that form never share a document.
func TestDocumentShape(t *testing.T) {
	s, coll := openStore(t, Options{})
	ctx := context.Background()
	expiry := time.Date(2100, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	for _, tc := range []struct {
		id     string
		wantID func(bson.RawValue) bool
		form   string
	}{
		{"sess\x00ion-é", func(v bson.RawValue) bool { s, ok := v.StringValueOK(); return ok && s == "sess\x00ion-é" }, "a string"},
		{"\xff\x00id", func(v bson.RawValue) bool {
			st, b, ok := v.BinaryOK()
			return ok && st == 0 && string(b) == "\xff\x00id"
		}, "BinData(0, ...)"},
	} {
		if err := s.Save(ctx, tc.id, []byte(tc.id), expiry); err != nil {
			t.Fatal(err)
		}
		raw, err := coll.FindOne(ctx, bson.D{{Key: "data", Value: bson.Binary{Data: []byte(tc.id)}}}).Raw()
		if err != nil {
			t.Fatal(err)
		}
		if got := len(mustElements(t, raw)); got != 4 {
			t.Errorf("%q: document has %d fields, want 4: %v", tc.id, got, raw)
		}
		if !tc.wantID(raw.Lookup("_id")) {
			t.Errorf("%q: _id = %v, want %s", tc.id, raw.Lookup("_id"), tc.form)
		}
		if st, b, ok := raw.Lookup("data").BinaryOK(); !ok || st != 0 || string(b) != tc.id {
			t.Errorf("%q: data = %v, want BinData(0, the data)", tc.id, raw.Lookup("data"))
		}
		if ms, ok := raw.Lookup("expiry").DateTimeOK(); !ok || ms != expiry.UnixMilli() {
			t.Errorf("%q: expiry = %v, want the date %d ms", tc.id, raw.Lookup("expiry"), expiry.UnixMilli())
		}
		if v, ok := raw.Lookup("version").Int64OK(); !ok || v == 0 {
			t.Errorf("%q: version = %v, want a non-zero int64", tc.id, raw.Lookup("version"))
		}
		rec, found, err := s.Load(ctx, tc.id)
		if err != nil || !found || string(rec.Data) != tc.id {
			t.Fatalf("Load(%q) = %q, %v, %v", tc.id, rec.Data, found, err)
		}
		if want := expiry.Truncate(time.Millisecond); !rec.Expiry.Equal(want) {
			t.Errorf("Load expiry %v, want %v (truncated to the millisecond)", rec.Expiry, want)
		}
	}

	// The same bytes under the other form are another id's document.
	if _, err := coll.InsertOne(ctx, bson.D{
		{Key: "_id", Value: bson.Binary{Data: []byte("plain")}},
		{Key: "data", Value: bson.Binary{Data: []byte("binary form")}},
		{Key: "expiry", Value: bson.NewDateTimeFromTime(expiry)},
		{Key: "version", Value: int64(1)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Load(ctx, "plain"); found || err != nil {
		t.Fatalf("Load(plain) found the binary _id \"plain\": %v, %v", found, err)
	}
}

func mustElements(t *testing.T, raw bson.Raw) []bson.RawElement {
	t.Helper()
	els, err := raw.Elements()
	if err != nil {
		t.Fatal(err)
	}
	return els
}

// TestEnsureIndexes checks that EnsureIndexes can run again, leaves an index
// on the expiry, and says once in the log when it falls back to its own
// cleanup.
func TestEnsureIndexes(t *testing.T) {
	logs := &logRecorder{}
	s, coll := openStore(t, Options{Logger: slog.New(logs)})
	ctx := context.Background()
	for range 2 {
		if err := s.EnsureIndexes(ctx); err != nil {
			t.Fatalf("EnsureIndexes again: %v", err)
		}
	}
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var expiryIndexes []mongo.IndexSpecification
	for _, spec := range specs {
		if spec.Name == ttlIndexName || spec.Name == plainIndexName {
			expiryIndexes = append(expiryIndexes, spec)
		}
	}
	if len(expiryIndexes) != 1 {
		t.Fatalf("indexes %+v, want one on the expiry", specs)
	}
	msgs := logs.messages()
	if s.compat.Load() {
		t.Logf("server without TTL indexes: %q", msgs)
		var ttl, locks int
		for _, m := range msgs {
			switch {
			case strings.Contains(m, "cannot create TTL indexes"):
				ttl++
			case strings.Contains(m, "serializes its writes per id"):
				locks++
			}
		}
		if ttl != 1 || locks != 1 || len(msgs) != 2 {
			t.Errorf("log %q, want one message saying the store cleans up by itself and one that it serializes its writes", msgs)
		}
		if expiryIndexes[0].Name != plainIndexName {
			t.Errorf("index %q, want %q", expiryIndexes[0].Name, plainIndexName)
		}
	} else if len(msgs) != 0 {
		t.Errorf("log %q on a server with TTL indexes, want nothing", msgs)
	}
}

// TestCompatibleServerSafeWithoutEnsureIndexes checks that a store whose
// indexes come from a migration, so that EnsureIndexes is never called,
// still finds out on its first write that FerretDB needs its per-id locks,
// and that its compare-and-swap then lets exactly one of 32 racers win, round
// after round (without the locks, up to 23 of 32 won on FerretDB).
func TestCompatibleServerSafeWithoutEnsureIndexes(t *testing.T) {
	t.Parallel()
	db, _ := mongotest.New(t)
	logs := &logRecorder{}
	s, err := New(db, Options{Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	var info bson.M
	if err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		t.Fatal(err)
	}
	_, ferret := info["ferretdbVersion"]
	if s.compat.Load() {
		t.Fatal("the store took the server for a compatible one before asking it")
	}
	expiry := time.Now().Add(time.Hour)
	var version uint64
	for round := range 8 {
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for r := range 32 {
			wg.Go(func() {
				<-start
				ok, err := s.CompareAndSwap(ctx, "race", version, fmt.Appendf(nil, "%d/%d", round, r), expiry)
				if err != nil {
					t.Errorf("CompareAndSwap = %v", err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d of 32 racers won; want exactly 1", round, n)
		}
		rec, found, err := s.Load(ctx, "race")
		if err != nil || !found {
			t.Fatalf("Load = %v, %v", found, err)
		}
		version = rec.Version
	}
	if got := s.compat.Load(); got != ferret {
		t.Errorf("per-id locks on: %v; want %v on a server whose buildInfo has ferretdbVersion: %v", got, ferret, ferret)
	}
	if ferret && (len(logs.messages()) != 1 || !strings.Contains(logs.messages()[0], "serializes its writes per id")) {
		t.Errorf("log %q; want one message saying the store serializes its writes", logs.messages())
	}
}

// TestTTLIndex checks that MongoDB gets a real TTL index. Only a server that
// has TTL indexes can pass it.
func TestTTLIndex(t *testing.T) {
	s, coll := openStore(t, Options{})
	if s.compat.Load() {
		t.Skip("the server cannot create TTL indexes (FerretDB): EnsureIndexes fell back to the store's own cleanup, " +
			"tested by TestCleanup; run with SESSIONSTORE_MONGO_IMAGE=mongo:8 to test the TTL index")
	}
	specs, err := coll.Indexes().ListSpecifications(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range specs {
		if spec.Name == ttlIndexName {
			keys, _ := spec.KeysDocument.Elements()
			if spec.ExpireAfterSeconds == nil || *spec.ExpireAfterSeconds != 0 ||
				len(keys) != 1 || keys[0].Key() != fieldExpiry || !isOne(keys[0].Value()) {
				t.Fatalf("TTL index %+v, want {expiry: 1} with expireAfterSeconds 0", spec)
			}
			return
		}
	}
	t.Fatalf("no TTL index in %+v", specs)
}

// TestDeleteExpired checks the deletion the cleanup runs: expired documents
// go, live ones stay.
func TestDeleteExpired(t *testing.T) {
	t.Parallel()
	s, coll := openStore(t, Options{CleanupInterval: -1})
	ctx := context.Background()
	saveRaw(t, coll, "expired", time.Now().Add(-time.Second))
	if err := s.Save(ctx, "live", []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteExpired(ctx)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1, nil", n, err)
	}
	if ids := rawIDs(t, coll); len(ids) != 1 || ids[0] != "live" {
		t.Fatalf("documents left: %q, want [live]", ids)
	}
}

// TestCleanup checks who deletes expired documents: on a server without TTL
// indexes, the store's goroutine, until Close; on MongoDB, the TTL index, and
// the store starts no goroutine.
func TestCleanup(t *testing.T) {
	t.Parallel()
	s, coll := openStore(t, Options{CleanupInterval: 20 * time.Millisecond})
	if !s.compat.Load() {
		if s.cancel != nil {
			t.Fatal("cleanup goroutine started on a server with TTL indexes")
		}
		return
	}
	saveRaw(t, coll, "expired", time.Now().Add(-time.Second))
	deadline := time.Now().Add(10 * time.Second)
	for len(rawIDs(t, coll)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cleanup did not delete the expired document within 10 s")
		}
		time.Sleep(20 * time.Millisecond) // polls the database, which cannot notify
	}
	s.Close()
	select {
	case <-s.cleaned:
	default:
		t.Fatal("cleanup goroutine still running after Close")
	}
	saveRaw(t, coll, "expired", time.Now().Add(-time.Second))
	time.Sleep(100 * time.Millisecond) // five intervals: a running cleanup would delete it
	if ids := rawIDs(t, coll); len(ids) != 1 {
		t.Fatalf("documents %q after Close, want the expired one kept", ids)
	}
}

// TestClose checks that Close is safe twice, stops the cleanup for good, and
// leaves the store serving.
func TestClose(t *testing.T) {
	t.Parallel()
	s, _ := openStore(t, Options{})
	ctx := context.Background()
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	s.mu.Lock()
	cleaned := s.cleaned
	s.mu.Unlock()
	if cleaned != nil {
		select {
		case <-cleaned:
		default:
			t.Fatal("cleanup goroutine still running after Close")
		}
	}
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	restarted := s.cleaned != cleaned
	s.mu.Unlock()
	if restarted {
		t.Fatal("EnsureIndexes after Close started a cleanup")
	}
	if err := s.Save(ctx, "id", []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Save after Close: %v", err)
	}
	if _, found, err := s.Load(ctx, "id"); !found || err != nil {
		t.Fatalf("Load after Close: %v, %v", found, err)
	}
}

// TestCloseBeforeEnsureIndexes checks that a store closed before it learnt
// that the server has no TTL indexes never starts its cleanup.
func TestCloseBeforeEnsureIndexes(t *testing.T) {
	t.Parallel()
	db, _ := mongotest.New(t)
	s, err := New(db, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.EnsureIndexes(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		t.Fatal("EnsureIndexes after Close started the cleanup")
	}
}

// TestWriteLockHonoursContext checks that on a compatible server, a write
// waiting for the lock of its id gives up when its context ends.
func TestWriteLockHonoursContext(t *testing.T) {
	t.Parallel()
	s, err := New(unreachableDatabase(t), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s.compat.Store(true)
	unlock, err := s.lock(context.Background(), "id")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	exp := time.Now().Add(time.Hour)
	for name, call := range map[string]func() error{
		"Save":           func() error { return s.Save(ctx, "id", nil, exp) },
		"Touch":          func() error { _, err := s.Touch(ctx, "id", exp); return err },
		"CompareAndSwap": func() error { _, err := s.CompareAndSwap(ctx, "id", 1, nil, exp); return err },
	} {
		if err := call(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want a context deadline error", name, err)
		}
	}
}

// TestServerStops stops the database while requests run: every call fails
// within its deadline with a wrapped error and never reports a false
// "found"; once the server is back, the same Store serves the sessions saved
// before the stop.
func TestServerStops(t *testing.T) {
	db, srv := mongotest.New(t, testservers.Dedicated())
	if srv.Container() == nil {
		t.Skip("SESSIONSTORE_MONGO_URL points at a server this test cannot stop")
	}
	s, _ := storeOn(t, db, Options{})
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	const sessions = 20
	for i := range sessions {
		if err := s.Save(ctx, sessionID(i), []byte(sessionID(i)), exp); err != nil {
			t.Fatal(err)
		}
	}

	const timeout = time.Second
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures int
	// check is what every call must show: within its deadline, or a wrapped
	// error; it returns whether the call failed.
	check := func(op string, start time.Time, err error) bool {
		if err == nil {
			return false
		}
		if took := time.Since(start); took > timeout+500*time.Millisecond {
			t.Errorf("%s failed after %v, past the %v deadline: %v", op, took, timeout, err)
		}
		if !strings.HasPrefix(err.Error(), "mongo: ") || !wrapsCause(err) {
			t.Errorf("%s error not wrapped by the store: %v", op, err)
		}
		mu.Lock()
		failures++
		mu.Unlock()
		return true
	}
	// The workers read the sessions saved above and write only their own,
	// so what is found after the restart was saved before the stop.
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := sessionID((w*7 + i) % sessions)
				callCtx, cancel := context.WithTimeout(ctx, timeout)
				start := time.Now()
				rec, found, err := s.Load(callCtx, id)
				if check("Load", start, err) && found {
					t.Errorf("a failing Load reported found: %v", err)
				} else if found && string(rec.Data) != id {
					t.Errorf("Load(%s) = %q", id, rec.Data)
				}
				start = time.Now()
				check("Save", start, s.Save(callCtx, "worker-"+id, []byte(id), exp))
				cancel()
			}
		}()
	}

	time.Sleep(200 * time.Millisecond) // let the workers run against a live server first
	srv.Stop(t)
	time.Sleep(2 * timeout) // every worker now meets the stopped server
	srv.Start(t)
	close(stop)
	wg.Wait()
	if failures == 0 {
		t.Fatal("no call failed while the server was stopped")
	}
	t.Logf("%d calls failed while the server was stopped", failures)

	// The driver finds the server again on its own; the same store is used.
	deadline := time.Now().Add(30 * time.Second)
	for {
		callCtx, cancel := context.WithTimeout(ctx, timeout)
		_, _, err := s.Load(callCtx, sessionID(0))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store still failing 30 s after the server came back: %v", err)
		}
	}
	for i := range sessions {
		rec, found, err := s.Load(ctx, sessionID(i))
		if err != nil || !found || string(rec.Data) != sessionID(i) {
			t.Fatalf("session %d after restart: %q, %v, %v", i, rec.Data, found, err)
		}
	}
}

func sessionID(i int) string { return "session-" + string(rune('a'+i)) }

// saveRaw writes a document of the store's shape directly, for expiries in
// the past that Save would delete instead.
func saveRaw(t *testing.T, coll *mongo.Collection, id string, expiry time.Time) {
	t.Helper()
	if _, err := coll.InsertOne(context.Background(), newDocument(id, []byte("x"), expiry)); err != nil {
		t.Fatal(err)
	}
}

// rawIDs returns the ids of every document, expired or not.
func rawIDs(t *testing.T, coll *mongo.Collection) []string {
	t.Helper()
	ctx := context.Background()
	cur, err := coll.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []document
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i], _ = idFrom(d.ID)
	}
	return ids
}

func isOne(v bson.RawValue) bool {
	n, ok := v.AsInt64OK()
	return ok && n == 1
}

// wrapsCause reports whether err wraps another error, alone or among several.
func wrapsCause(err error) bool {
	switch e := err.(type) {
	case interface{ Unwrap() error }:
		return e.Unwrap() != nil
	case interface{ Unwrap() []error }:
		return len(e.Unwrap()) > 0
	}
	return false
}

// TestBothWritePaths runs the one-round-trip Touch and CompareAndSwap that
// MongoDB gets and the read-then-write ones of a compatible server through
// the same cases, one call at a time, so that the MongoDB path is tested
// where only FerretDB runs (whose lack of atomicity only races can show;
// the conformance suite's races run on the path the server gets).
func TestBothWritePaths(t *testing.T) {
	s, coll := openStore(t, Options{CleanupInterval: -1})
	ctx := context.Background()
	hour := time.Now().Add(time.Hour)
	for _, path := range []struct {
		name  string
		touch func(context.Context, string, time.Time) (bool, error)
		swap  func(context.Context, string, uint64, bson.D) (bool, error)
	}{
		{"MongoDB", s.touch, s.swap},
		{"compatible", s.touchCompat, s.swapCompat},
	} {
		t.Run(path.name, func(t *testing.T) {
			s.compat.Store(path.name == "compatible") // lock takes the id's lock only then
			// state puts id in one of three states and returns the live
			// version (0 when there is none).
			state := func(id, st string) uint64 {
				t.Helper()
				if err := s.Delete(ctx, id); err != nil {
					t.Fatal(err)
				}
				switch st {
				case "expired":
					saveRaw(t, coll, id, time.Now().Add(-time.Second))
				case "live":
					if err := s.Save(ctx, id, []byte("old"), hour); err != nil {
						t.Fatal(err)
					}
					rec, _, err := s.Load(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					return rec.Version
				}
				return 0
			}
			for _, tc := range []struct {
				state   string
				version func(live uint64) uint64
				want    bool
			}{
				{"missing", func(uint64) uint64 { return 0 }, true},
				{"expired", func(uint64) uint64 { return 0 }, true},
				{"live", func(uint64) uint64 { return 0 }, false},
				{"live", func(v uint64) uint64 { return v }, true},
				{"live", func(v uint64) uint64 { return v + 1 }, false},
				{"expired", func(uint64) uint64 { return 1 }, false},
				{"missing", func(uint64) uint64 { return 1 }, false},
			} {
				id := path.name + "-" + tc.state
				version := tc.version(state(id, tc.state))
				swapped, err := path.swap(ctx, id, version, newDocument(id, []byte("new"), hour))
				if err != nil || swapped != tc.want {
					t.Errorf("swap over %s with version %d = %v, %v; want %v", tc.state, version, swapped, err, tc.want)
				}
				rec, found, err := s.Load(ctx, id)
				if wantNew := tc.want; err != nil || (found && string(rec.Data) == "new") != wantNew {
					t.Errorf("after swap over %s: %q, %v, %v", tc.state, rec.Data, found, err)
				}
			}
			for _, st := range []string{"missing", "expired", "live"} {
				id := path.name + "-touch-" + st
				state(id, st)
				later := hour.Add(time.Hour)
				found, err := path.touch(ctx, id, later)
				if err != nil || found != (st == "live") {
					t.Errorf("touch of %s = %v, %v", st, found, err)
				}
				rec, loaded, err := s.Load(ctx, id)
				if err != nil || loaded != (st == "live") || (loaded && !rec.Expiry.Equal(later.Truncate(time.Millisecond))) {
					t.Errorf("after touch of %s: %v, %v, %v", st, rec.Expiry, loaded, err)
				}
			}
		})
	}
}
