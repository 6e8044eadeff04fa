// Package redis keeps sessions in Redis, through the go-redis client
// (github.com/redis/go-redis/v9) the application already configured: one
// server, Sentinel failover or Redis Cluster, all behind
// goredis.UniversalClient. A [Store] implements sessionstore.Store and the
// optional Toucher, Swapper, Iterator, Counter and io.Closer.
//
// # Key layout
//
// Each session is one Redis string under the key Prefix+id (default prefix
// "session:"); ids are used as given, any bytes, since Redis keys are binary
// safe. The value is a 16-byte header followed by the data:
//
//	bytes 0–7   expiry, Unix milliseconds, big-endian
//	bytes 8–15  version, big-endian uint64, random and never zero
//	bytes 16–   data
//
// so Load, with one GET, returns data, expiry and version together. Nothing
// else is stored: no index, no counter, no second key per session.
//
// # Expiry
//
// Save sends the expiry as an absolute time to the millisecond (SET … PXAT),
// never as a duration computed before the call, and Touch moves it with
// PEXPIREAT; the header holds the same instant, so Load reports it without
// asking for the TTL. An expiry at or before now deletes the key instead, so
// no key of this package ever exists without a TTL. Load also compares the
// header with the application's clock and never returns a record past its
// expiry, even in the moment before Redis removes the key; Touch and
// CompareAndSwap treat such a record as absent too. Expiries are truncated to
// the millisecond (a record may end up to 1 ms early, never late). Keep the
// clocks of the application and Redis in sync (NTP): Redis deletes keys by
// its own clock.
//
// # Round trips and atomicity
//
// Load is one GET, Save one SET (or DEL), Delete one DEL. Touch and
// CompareAndSwap are one EVALSHA each (one more EVAL the first time a server
// has not cached the script). Touch rewrites the header's expiry with
// SETRANGE and the key's with PEXPIREAT in one Lua script; CompareAndSwap
// reads the header's version and SETs the new record in another. Every Save
// and successful CompareAndSwap draws a new random 64-bit version, so a
// version read before a delete never matches the session created after it.
//
// # Redis Cluster
//
// Nothing to configure: every key of a session is that session's one key, so
// each command and script touches a single slot. Iterate and Count SCAN the
// prefix on every master (ClusterClient.ForEachMaster) and read values with
// one pipeline per batch of keys (a Ring: every live shard). Do not put a hash tag ({…}) in the Prefix:
// it would send every session to one slot, hence one node. Requires Redis 6.2
// or later (PXAT), on a single server as in a Cluster. Leave the client's
// ReadOnly, RouteByLatency and RouteRandomly off: they send GETs to replicas,
// which may not have a session saved a moment ago yet.
//
// # Client settings
//
// The Store bounds nothing itself: create the client with
// ContextTimeoutEnabled: true so that a context's deadline bounds socket
// reads and writes (go-redis otherwise waits its ReadTimeout, 3 s by default),
// and keep the client's retries (MaxRetries) in mind when choosing deadlines.
// The Store does not close the client and runs no background work, so Close
// does nothing and the Store keeps working after it.
//
// # Memory
//
// Measured on Redis 7.0 (jemalloc), 100,000 sessions of 200 bytes under
// 51-byte keys ("session:" and a 43-character id): about 390 bytes of
// used_memory per session, of which MEMORY USAGE reports 328 for key and
// value; the rest is the key's entries in the main and expires dictionaries.
// Overhead beyond the data is so about 190 bytes, and 1 GB holds about
// 2.5 million such sessions. Sessions are never stored without a TTL, so
// under memory pressure a volatile-* maxmemory-policy may evict live
// sessions (logging users out) and noeviction makes Save fail.
//
// # When to choose Redis
//
// When Redis already runs next to the application: sessions cost one
// loopback or LAN round trip each, expire without cleanup jobs, and are
// shared by every instance of the application. Redis holds everything in
// memory, so size it for the live sessions, and enable persistence (RDB or
// AOF) or replication if a restart must not log everyone out. When sessions
// must survive anything or be queried with the rest of the application's
// data, a SQL or document store is the better home.
package redis
