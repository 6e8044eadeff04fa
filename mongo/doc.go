// Package mongo is a sessionstore.Store over a MongoDB collection, using the
// official driver (go.mongodb.org/mongo-driver/v2) with the database or
// collection the application already configured. It implements every optional
// capability: Touch, versioned Load with CompareAndSwap, Iterate, Count and
// Close.
//
// # Documents
//
// One document per session, in the collection "sessions" by default:
//
//	{
//	  _id:     "<id>",            // the id; BinData(0, <id bytes>) if not valid UTF-8
//	  data:    BinData(0, <data>),
//	  expiry:  ISODate(...),      // absolute expiry, millisecond precision
//	  version: NumberLong(...)    // random, non-zero, new on every write
//	}
//
// A session id may be any bytes, and a BSON string must be valid UTF-8: an
// id that is not is stored as binary. Each id has exactly one form, so two
// ids never share a document, and the keys the Manager stores (base64 text)
// are always strings, readable in the shell. An expiry is truncated to the
// millisecond, so a session is gone at the expiry its caller asked for, never
// later. Load checks the expiry with the application's clock, and Touch and
// CompareAndSwap filter on it: an expired document is never returned, even
// before the server deletes it.
//
// Load, Save, Delete, Touch and CompareAndSwap are one round trip each on
// MongoDB (FindOne, ReplaceOne with upsert, DeleteOne, UpdateOne,
// ReplaceOne). The version is what CompareAndSwap filters on: a version that
// changed makes the filter match nothing, and version 0 upserts over a
// missing or expired document only, a live one making the insert fail with a
// duplicate key.
//
// # Indexes
//
// Call [Store.EnsureIndexes] once at start-up. On MongoDB it creates the TTL
// index expiry_ttl ({expiry: 1}, expireAfterSeconds: 0), with which the server
// deletes expired documents by itself; its TTL monitor runs every 60 seconds,
// which is why reads filter on the expiry. The _id index is the only other
// index a session store needs, and every collection has it.
//
// # MongoDB and compatible servers
//
// Servers that speak MongoDB's protocol do not all behave like it. FerretDB
// v1 (with SQLite, which this package's tests run on where no MongoDB image
// can be had) lacks two things the store relies on. The store asks the
// server which it is (buildInfo, where FerretDB names itself) once, before
// its first write, whether or not EnsureIndexes was called; EnsureIndexes
// also recognises such a server by the first lack:
//
//   - TTL indexes ("not implemented", code 238). EnsureIndexes then creates a
//     plain index expiry_1 on the expiry, logs once that the store cleans up
//     by itself, and starts a goroutine that deletes expired documents with
//     one DeleteMany every Options.CleanupInterval (1 minute by default)
//     until Close. [Store.DeleteExpired] runs the same deletion on demand.
//   - Atomic filtered writes. FerretDB v1 applies an update as a read
//     followed by a separate write
//     (https://github.com/FerretDB/FerretDB/issues/3040), so two racing
//     compare-and-swaps could both win, and a Touch could write back data a
//     Save had just replaced. On such a server the store serializes its
//     writes to each id within the process, and Touch and CompareAndSwap
//     read the document and write it back by _id: two round trips. That
//     protects one process only. Two application servers against one
//     FerretDB lose concurrent writes of a session silently: each instance
//     wins its own swap, so about 40% of concurrent increments of one
//     counter vanished in a measurement while every request was answered
//     200. The cleanup of an id that is saved again at the moment it is
//     deleted can interleave too. Run a single application instance against
//     FerretDB v1, or use MongoDB.
//
// FerretDB v1 also answers from its primary key only a filter that is
// exactly {_id: <string>} and scans the collection for anything else, which
// is why Load, Save and Delete filter on the _id alone, and why ids are
// strings whenever they can be. Its writes still slow down as a collection
// grows: measured here, a ReplaceOne by _id took about 2 ms in an empty
// collection and 40 to 70 ms beside 10,000 documents, through the raw driver
// as through Save.
//
// A collection moved from a compatible server to MongoDB keeps the plain
// index expiry_1, which MongoDB refuses beside the TTL index on the same key:
// drop expiry_1 first.
//
// # When to choose MongoDB
//
// Choose this store when the application already runs MongoDB: sessions then
// need no other server, survive restarts and are shared by every instance,
// and a session costs one indexed lookup by _id. Expiry needs no job of
// yours: the TTL index does it. Where no database is shared yet, Redis is
// faster per request and expires keys exactly; where PostgreSQL is the
// application's database, its store keeps sessions next to the data they
// belong to.
//
// Writes must be acknowledged (the default write concern; not w:0): Touch and
// CompareAndSwap read the server's counts of matched documents.
package mongo
