package mongo

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionstore/sessionstore"
)

// Field names of a session document. The layout is documented in the package
// comment; changing a name orphans every stored session.
const (
	fieldID      = "_id"
	fieldData    = "data"
	fieldExpiry  = "expiry"
	fieldVersion = "version"
)

// Index names created by EnsureIndexes. Both index {expiry: 1}; MongoDB keeps
// at most one of them, so a collection moved from a compatible server to
// MongoDB must have expiry_1 dropped first.
const (
	ttlIndexName   = "expiry_ttl"
	plainIndexName = "expiry_1"
)

const (
	// DefaultCollection is the collection New uses when Options.Collection is empty.
	DefaultCollection = "sessions"

	// DefaultMaxDataSize is the largest data Save accepts by default: 4 MiB,
	// a quarter of MongoDB's 16 MiB document limit.
	DefaultMaxDataSize = 4 << 20

	// MaxMaxDataSize is the largest Options.MaxDataSize accepted: MongoDB's
	// 16 MiB document limit less room for the id and the other fields.
	MaxMaxDataSize = 16<<20 - 1<<10

	// DefaultCleanupInterval is how often the store deletes expired documents
	// itself when the server cannot (see Store.EnsureIndexes).
	DefaultCleanupInterval = time.Minute
)

// cleanupRoundTimeout bounds one DeleteMany of the background cleanup, and so
// how long Close may wait for a round under way.
const cleanupRoundTimeout = 30 * time.Second

// codeNotImplemented is the server error code FerretDB answers for a TTL index
// ("expireAfterSeconds is not implemented yet").
const codeNotImplemented = 238

// Options configures a Store. The zero value gives the documented defaults.
type Options struct {
	// Collection names the collection New uses in the database it is given.
	// NewCollection, given the collection itself, requires it to be empty or
	// equal to that collection's name.
	// Optional. Default is "sessions" (DefaultCollection).
	Collection string

	// MaxDataSize is the largest data, in bytes, that Save and CompareAndSwap
	// accept; larger data fails with an error wrapping
	// sessionstore.ErrTooLarge before anything is sent. At most MaxMaxDataSize.
	// Optional. Default is 4 MiB (DefaultMaxDataSize).
	MaxDataSize int

	// CleanupInterval is how often the store deletes expired documents with
	// one DeleteMany, when EnsureIndexes found that the server cannot create
	// a TTL index (FerretDB and other compatible servers). On MongoDB the
	// server's TTL monitor deletes them (every 60 s) and the store runs no
	// cleanup of its own. A negative value never starts the store's cleanup;
	// call DeleteExpired from your own scheduler instead.
	// Optional. Default is 1 minute (DefaultCleanupInterval).
	CleanupInterval time.Duration

	// Logger receives the one message saying that the store cleans up by
	// itself, and any failure of that cleanup.
	// Optional. Default is slog.Default().
	Logger *slog.Logger
}

// Store is a sessionstore.Store over one MongoDB collection. It also
// implements Toucher, Swapper, Iterator, Counter and io.Closer. It is safe
// for concurrent use.
type Store struct {
	coll     *mongo.Collection
	maxData  int
	interval time.Duration
	log      *slog.Logger

	// compat is set once the store found a compatible server rather than
	// MongoDB (see detect): writes to one id are then serialized through
	// locks. known is set once the server was asked, which the first write
	// does; detecting holds the one asking.
	compat    atomic.Bool
	known     atomic.Bool
	detecting chan struct{}
	seed      maphash.Seed
	locks     [lockStripes]chan struct{}

	mu      sync.Mutex
	closed  bool
	cancel  context.CancelFunc // stops the cleanup goroutine; nil until it starts
	cleaned chan struct{}      // closed when the cleanup goroutine has returned
}

// lockStripes is how many locks the writes of a compatible server are spread
// over: enough that unrelated sessions rarely wait for each other.
const lockStripes = 64

var (
	_ sessionstore.Store    = (*Store)(nil)
	_ sessionstore.Toucher  = (*Store)(nil)
	_ sessionstore.Swapper  = (*Store)(nil)
	_ sessionstore.Iterator = (*Store)(nil)
	_ sessionstore.Counter  = (*Store)(nil)
)

// New returns a Store over the collection opts.Collection (default
// "sessions") of db. It sends nothing to the server; call EnsureIndexes once
// at start-up so that expired documents get deleted.
func New(db *mongo.Database, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("mongo: new: nil database")
	}
	name := opts.Collection
	if name == "" {
		name = DefaultCollection
	}
	return newStore(db.Collection(name), opts)
}

// NewCollection returns a Store over coll, keeping the read and write
// concerns the caller configured on it. It sends nothing to the server; call
// EnsureIndexes once at start-up so that expired documents get deleted.
// Writes must be acknowledged (not w:0): Touch and CompareAndSwap read the
// server's counts.
func NewCollection(coll *mongo.Collection, opts Options) (*Store, error) {
	if coll == nil {
		return nil, errors.New("mongo: new: nil collection")
	}
	if opts.Collection != "" && opts.Collection != coll.Name() {
		return nil, fmt.Errorf("mongo: new: Options.Collection %q differs from the collection given, %q", opts.Collection, coll.Name())
	}
	return newStore(coll, opts)
}

func newStore(coll *mongo.Collection, opts Options) (*Store, error) {
	s := &Store{
		coll:      coll,
		maxData:   opts.MaxDataSize,
		interval:  opts.CleanupInterval,
		log:       opts.Logger,
		seed:      maphash.MakeSeed(),
		detecting: make(chan struct{}, 1),
	}
	for i := range s.locks {
		s.locks[i] = make(chan struct{}, 1)
	}
	switch {
	case s.maxData < 0 || s.maxData > MaxMaxDataSize:
		return nil, fmt.Errorf("mongo: new: MaxDataSize %d outside 0..%d", s.maxData, MaxMaxDataSize)
	case s.maxData == 0:
		s.maxData = DefaultMaxDataSize
	}
	if s.interval == 0 {
		s.interval = DefaultCleanupInterval
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// Load returns the record stored under id. It finds the document by _id
// alone and checks the expiry itself: the TTL monitor may not have deleted an
// expired document yet, and a filter of _id alone is the one a compatible
// server answers from its primary key instead of scanning the collection.
func (s *Store) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	if err := sessionstore.CheckID(id); err != nil {
		return sessionstore.Record{}, false, fmt.Errorf("mongo: load: %w", err)
	}
	doc, found, err := s.find(ctx, id, loadOpts)
	if err != nil {
		return sessionstore.Record{}, false, wrap(ctx, "load", err)
	}
	if !found || !doc.live(time.Now()) {
		return sessionstore.Record{}, false, nil
	}
	return doc.record(), true, nil
}

// Save inserts or replaces the document of id with one upsert, under a new
// version. An expiry at or before now deletes it instead.
func (s *Store) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := sessionstore.CheckData(id, data, s.maxData); err != nil {
		return fmt.Errorf("mongo: save: %w", err)
	}
	if !expiry.After(time.Now()) {
		if _, err := s.coll.DeleteOne(ctx, byID(id)); err != nil {
			return wrap(ctx, "save", err)
		}
		return nil
	}
	if err := s.detect(ctx); err != nil {
		return wrap(ctx, "save", err)
	}
	unlock, err := s.lock(ctx, id)
	if err != nil {
		return wrap(ctx, "save", err)
	}
	defer unlock()
	doc := newDocument(id, data, expiry)
	_, err = s.coll.ReplaceOne(ctx, byID(id), doc, upsertOpts)
	if mongo.IsDuplicateKeyError(err) {
		// Two upserts of a new id raced and this one's insert lost. MongoDB
		// retries that itself; a compatible server may not. Now the
		// document exists, so the retry replaces it.
		_, err = s.coll.ReplaceOne(ctx, byID(id), doc, upsertOpts)
	}
	if err != nil {
		return wrap(ctx, "save", err)
	}
	return nil
}

// Delete removes the document of id, if any.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := sessionstore.CheckID(id); err != nil {
		return fmt.Errorf("mongo: delete: %w", err)
	}
	if _, err := s.coll.DeleteOne(ctx, byID(id)); err != nil {
		return wrap(ctx, "delete", err)
	}
	return nil
}

// Touch sets the expiry of the live document of id; the version is left
// unchanged. An expiry at or before now hides the document at once, and the
// TTL index or the cleanup deletes it.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	if err := sessionstore.CheckID(id); err != nil {
		return false, fmt.Errorf("mongo: touch: %w", err)
	}
	if err := s.detect(ctx); err != nil {
		return false, wrap(ctx, "touch", err)
	}
	touch := s.touch
	if s.compat.Load() {
		touch = s.touchCompat
	}
	found, err := touch(ctx, id, expiry)
	if err != nil {
		return false, wrap(ctx, "touch", err)
	}
	return found, nil
}

// touch is one UpdateOne filtered on the expiry, atomic on MongoDB.
func (s *Store) touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	res, err := s.coll.UpdateOne(ctx, liveID(id, time.Now()), setExpiry(expiry))
	if err != nil {
		return false, err
	}
	return res.MatchedCount > 0, nil
}

// touchCompat is touch on a compatible server: a read and a write, each by
// _id alone so that neither scans, under the id's lock (see lock).
func (s *Store) touchCompat(ctx context.Context, id string, expiry time.Time) (bool, error) {
	unlock, err := s.lock(ctx, id)
	if err != nil {
		return false, err
	}
	defer unlock()
	doc, found, err := s.find(ctx, id, stateOpts)
	if err != nil || !found || !doc.live(time.Now()) {
		return false, err
	}
	res, err := s.coll.UpdateOne(ctx, byID(id), setExpiry(expiry))
	if err != nil {
		return false, err
	}
	return res.MatchedCount > 0, nil
}

// CompareAndSwap replaces the document of id only if the live one still has
// version. On MongoDB that is one ReplaceOne whose filter carries the
// version; version 0 upserts over a missing or expired document only, and
// when a live one exists, or a racing caller inserted first, the insert of
// the same _id fails with a duplicate-key error, which means the race was
// lost.
func (s *Store) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	if err := sessionstore.CheckData(id, data, s.maxData); err != nil {
		return false, fmt.Errorf("mongo: compare and swap: %w", err)
	}
	if err := s.detect(ctx); err != nil {
		return false, wrap(ctx, "compare and swap", err)
	}
	swap := s.swap
	if s.compat.Load() {
		swap = s.swapCompat
	}
	swapped, err := swap(ctx, id, version, newDocument(id, data, expiry))
	if err != nil {
		return false, wrap(ctx, "compare and swap", err)
	}
	return swapped, nil
}

// swap is one ReplaceOne, atomic on MongoDB.
func (s *Store) swap(ctx context.Context, id string, version uint64, doc bson.D) (bool, error) {
	now := dateOf(time.Now())
	filter := byID(id)
	opts := upsertOpts
	if version == 0 {
		filter = append(filter, bson.E{Key: fieldExpiry, Value: bson.D{{Key: "$lte", Value: now}}})
	} else {
		filter = append(filter,
			bson.E{Key: fieldVersion, Value: int64(version)},
			bson.E{Key: fieldExpiry, Value: bson.D{{Key: "$gt", Value: now}}})
		opts = nil
	}
	res, err := s.coll.ReplaceOne(ctx, filter, doc, opts)
	switch {
	case version == 0 && mongo.IsDuplicateKeyError(err):
		return false, nil
	case err != nil:
		return false, err
	}
	return res.MatchedCount+res.UpsertedCount > 0, nil
}

// swapCompat is swap on a compatible server: a read by _id, the version
// compared here, then a write by _id, under the id's lock (see lock). An
// insert still fails on a duplicate _id, which settles a race with another
// process for a new id.
func (s *Store) swapCompat(ctx context.Context, id string, version uint64, doc bson.D) (bool, error) {
	unlock, err := s.lock(ctx, id)
	if err != nil {
		return false, err
	}
	defer unlock()
	cur, found, err := s.find(ctx, id, stateOpts)
	if err != nil {
		return false, err
	}
	live := found && cur.live(time.Now())
	switch {
	case live != (version != 0), live && uint64(cur.Version) != version:
		return false, nil
	case !found:
		_, err := s.coll.InsertOne(ctx, doc)
		if mongo.IsDuplicateKeyError(err) {
			return false, nil
		}
		return err == nil, err
	}
	// Over an expired document (version 0), an upsert: a Delete takes no
	// lock, and one that removed the document since the read leaves no
	// live record either, which a version-0 swap must still win.
	var opts *options.ReplaceOptionsBuilder
	if version == 0 {
		opts = upsertOpts
	}
	res, err := s.coll.ReplaceOne(ctx, byID(id), doc, opts)
	if err != nil {
		return false, err
	}
	return res.MatchedCount+res.UpsertedCount > 0, nil
}

// Iterate streams the live documents through one cursor. A document that
// expires during the walk is skipped.
func (s *Store) Iterate(ctx context.Context, fn func(id string, rec sessionstore.Record) bool) error {
	cur, err := s.coll.Find(ctx, live(time.Now()))
	if err != nil {
		return wrap(ctx, "iterate", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		// Next serves a fetched batch without looking at ctx.
		if err := ctx.Err(); err != nil {
			return wrap(ctx, "iterate", err)
		}
		var doc document
		if err := cur.Decode(&doc); err != nil {
			return wrap(ctx, "iterate", err)
		}
		id, ok := idFrom(doc.ID)
		if !ok || !doc.live(time.Now()) {
			continue // not a session document, or expired during the walk
		}
		if !fn(id, doc.record()) {
			return nil
		}
	}
	if err := cur.Err(); err != nil {
		return wrap(ctx, "iterate", err)
	}
	return nil
}

// Count returns the number of live documents, counted by the server.
func (s *Store) Count(ctx context.Context) (int, error) {
	n, err := s.coll.CountDocuments(ctx, live(time.Now()))
	if err != nil {
		return 0, wrap(ctx, "count", err)
	}
	return int(n), nil
}

// EnsureIndexes creates the TTL index on the expiry field, with which MongoDB
// deletes expired documents by itself (its TTL monitor runs every 60 s). It
// is idempotent: call it once at start-up, from every instance if you like.
//
// A server that answers that TTL indexes are not implemented (FerretDB) is
// not an error: EnsureIndexes then creates a plain index on the expiry and
// starts the store's own cleanup (see Options.CleanupInterval), and logs that
// once. Any other failure is returned.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	ttl := mongo.IndexModel{
		Keys:    bson.D{{Key: fieldExpiry, Value: 1}},
		Options: options.Index().SetName(ttlIndexName).SetExpireAfterSeconds(0),
	}
	_, err := s.coll.Indexes().CreateOne(ctx, ttl)
	if err == nil || !ttlUnsupported(err) {
		return wrapNil(ctx, "ensure indexes", err)
	}
	plain := mongo.IndexModel{
		Keys:    bson.D{{Key: fieldExpiry, Value: 1}},
		Options: options.Index().SetName(plainIndexName),
	}
	if _, err := s.coll.Indexes().CreateOne(ctx, plain); err != nil {
		return wrap(ctx, "ensure indexes", err)
	}
	s.fallBack(err)
	return nil
}

// DeleteExpired deletes every expired document with one DeleteMany and
// returns how many it deleted. The store's own cleanup calls it; call it
// yourself when that cleanup is turned off.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	filter := bson.D{{Key: fieldExpiry, Value: bson.D{{Key: "$lte", Value: dateOf(time.Now())}}}}
	res, err := s.coll.DeleteMany(ctx, filter)
	if err != nil {
		return 0, wrap(ctx, "delete expired", err)
	}
	return res.DeletedCount, nil
}

// Close stops the store's cleanup, if it runs, and waits for it to return,
// letting a round under way finish (at most 30 s) so that no delete of the
// cleanup reaches the server after Close.
// The store keeps serving every other call. Close is safe to call more than
// once; it never fails.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	if s.cancel != nil {
		s.cancel()
	}
	cleaned := s.cleaned
	s.mu.Unlock()
	if cleaned != nil {
		<-cleaned
	}
	return nil
}

// detect asks the server, once per store and before its first write,
// whether it applies a filtered write atomically, and switches on the per-id
// write locks when it does not. FerretDB, which does not
// (https://github.com/FerretDB/FerretDB/issues/3040), names itself in its
// buildInfo answer (ferretdbVersion). Every later call pays one atomic load.
// A server that refuses buildInfo is taken for MongoDB; a failure to reach
// it fails the call, and the next write asks again.
func (s *Store) detect(ctx context.Context) error {
	if s.known.Load() {
		return nil
	}
	select {
	case s.detecting <- struct{}{}:
		defer func() { <-s.detecting }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.known.Load() {
		return nil
	}
	var info bson.M
	err := s.coll.Database().RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info)
	var refused mongo.CommandError
	switch {
	case errors.As(err, &refused):
		s.log.Debug("mongo: buildInfo refused; taking the server for MongoDB", "error", err)
	case err != nil:
		return fmt.Errorf("asking the server which it is (buildInfo): %w", err)
	default:
		if v, ferret := info["ferretdbVersion"]; ferret {
			s.useLocks(fmt.Sprintf("FerretDB %v", v))
		}
	}
	s.known.Store(true)
	return nil
}

// useLocks switches on the per-id write locks, logging it once.
func (s *Store) useLocks(server string) {
	if s.compat.Swap(true) {
		return
	}
	s.log.Info("mongo: the server applies a filtered write as a read and a separate write; the session store serializes its writes per id within this process",
		"collection", s.coll.Name(), "server", server)
}

// fallBack switches the store to what a server without TTL indexes needs:
// its own cleanup (unless turned off or the store is closed), and per-id
// write locks, as such a server is taken for a compatible one. Only the
// first call does anything, which keeps the log to one message.
func (s *Store) fallBack(cause error) {
	s.useLocks(cause.Error())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil || s.closed || s.interval < 0 {
		return
	}
	s.log.Info("mongo: the server cannot create TTL indexes; the session store deletes expired sessions itself",
		"collection", s.coll.Name(), "cleanup_interval", s.interval, "server", cause.Error())
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.cleaned = cancel, make(chan struct{})
	go s.cleanup(ctx, s.cleaned)
}

func (s *Store) cleanup(ctx context.Context, cleaned chan<- struct{}) {
	defer close(cleaned)
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Close stops the loop but lets a round under way finish: a
		// DeleteMany cut off on the client may still run on the server, and
		// would then delete what is saved after Close returned.
		round, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupRoundTimeout)
		_, err := s.DeleteExpired(round)
		cancel()
		if err != nil {
			s.log.Warn("mongo: session cleanup failed", "collection", s.coll.Name(), "error", err)
		}
	}
}

// lock serializes the writes to id within this process on a compatible
// server, which applies a filtered update as a read followed by a separate
// write (FerretDB v1, https://github.com/FerretDB/FerretDB/issues/3040), so
// that two racing compare-and-swaps could both win and a Touch could write
// back data a Save had just replaced. MongoDB applies each write to one
// document atomically and takes no lock. The wait is bounded by ctx.
func (s *Store) lock(ctx context.Context, id string) (unlock func(), err error) {
	if !s.compat.Load() {
		return noUnlock, nil
	}
	l := s.locks[maphash.String(s.seed, id)%lockStripes]
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func noUnlock() {}

// find returns the document of id, expired or not, by _id alone.
func (s *Store) find(ctx context.Context, id string, opts *options.FindOneOptionsBuilder) (document, bool, error) {
	var doc document
	err := s.coll.FindOne(ctx, byID(id), opts).Decode(&doc)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return document{}, false, nil
	case err != nil:
		return document{}, false, err
	}
	return doc, true, nil
}

// document is the stored shape of a session (see idOf for the _id).
type document struct {
	ID      bson.RawValue `bson:"_id"`
	Data    []byte        `bson:"data"`
	Expiry  time.Time     `bson:"expiry"`
	Version int64         `bson:"version"`
}

// live reports whether the document is still live at now. Its expiry was
// truncated to the millisecond, never rounded up.
func (d *document) live(now time.Time) bool { return d.Expiry.After(now) }

func (d *document) record() sessionstore.Record {
	return sessionstore.Record{Data: d.Data, Expiry: d.Expiry, Version: uint64(d.Version)}
}

// newDocument returns a whole document with a new random version. A BSON
// date has millisecond precision: the expiry is truncated, so a session is
// never found after the expiry its caller asked for.
func newDocument(id string, data []byte, expiry time.Time) bson.D {
	return bson.D{
		{Key: fieldID, Value: idOf(id)},
		{Key: fieldData, Value: bson.Binary{Data: data}},
		{Key: fieldExpiry, Value: dateOf(expiry)},
		{Key: fieldVersion, Value: newVersion()},
	}
}

// newVersion returns a random non-zero version: random rather than counted so
// that a document deleted and saved again never reuses a version a caller
// may still hold.
func newVersion() int64 {
	for {
		if v := rand.Int64(); v != 0 {
			return v
		}
	}
}

var (
	// loadOpts leaves out the _id, which the caller already has.
	loadOpts = options.FindOne().SetProjection(bson.D{{Key: fieldID, Value: 0}})
	// stateOpts reads only what Touch and CompareAndSwap compare.
	stateOpts = options.FindOne().SetProjection(bson.D{
		{Key: fieldID, Value: 0}, {Key: fieldExpiry, Value: 1}, {Key: fieldVersion, Value: 1},
	})
	upsertOpts = options.Replace().SetUpsert(true)
)

// idOf returns the _id of id: the string itself when it is valid UTF-8, as a
// BSON string must be, else its bytes as binary. Each id has exactly one
// form, so two ids never share a document. The string form is readable in
// the shell, and it is the one a compatible server (FerretDB v1) looks up by
// its primary key: a filter on a binary _id makes it scan the collection.
func idOf(id string) any {
	if utf8.ValidString(id) {
		return id
	}
	return bson.Binary{Data: []byte(id)}
}

// idFrom is the inverse of idOf.
func idFrom(v bson.RawValue) (string, bool) {
	if id, ok := v.StringValueOK(); ok {
		return id, true
	}
	if _, b, ok := v.BinaryOK(); ok {
		return string(b), true
	}
	return "", false
}

func setExpiry(expiry time.Time) bson.D {
	return bson.D{{Key: "$set", Value: bson.D{{Key: fieldExpiry, Value: dateOf(expiry)}}}}
}

func dateOf(t time.Time) bson.DateTime { return bson.NewDateTimeFromTime(t) }

func byID(id string) bson.D { return bson.D{{Key: fieldID, Value: idOf(id)}} }

func live(now time.Time) bson.D {
	return bson.D{{Key: fieldExpiry, Value: bson.D{{Key: "$gt", Value: dateOf(now)}}}}
}

func liveID(id string, now time.Time) bson.D {
	return bson.D{
		{Key: fieldID, Value: idOf(id)},
		{Key: fieldExpiry, Value: bson.D{{Key: "$gt", Value: dateOf(now)}}},
	}
}

// ttlUnsupported reports whether err is a server saying it cannot create TTL
// indexes (FerretDB: code 238, "expireAfterSeconds is not implemented yet").
func ttlUnsupported(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) &&
		(se.HasErrorCode(codeNotImplemented) || se.HasErrorMessage("not implemented"))
}

// wrap names the operation and makes sure the error wraps ctx.Err() when the
// context ended, which the driver does not promise for every path (a server
// selection that gave up, a connection closed under a cancelled call).
func wrap(ctx context.Context, op string, err error) error {
	if cerr := sessionstore.ContextErr(ctx); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("mongo: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("mongo: %s: %w", op, err)
}

func wrapNil(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	return wrap(ctx, op, err)
}
