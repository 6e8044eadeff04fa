// Package memcache keeps sessions in memcached, through the
// github.com/bradfitz/gomemcache client the application already configured,
// over one server or several. A [Store] implements sessionstore.Store and the
// optional Toucher, Swapper and io.Closer. It is no Iterator (and so no
// Counter): memcached cannot list or count the keys under a prefix, so
// sessions cannot be walked, counted or revoked in bulk.
//
// # Key layout
//
// Each session is one memcached item. An id of printable ASCII without
// spaces (bytes 0x21 to 0x7e) that does not start with "~" and fits in
// memcached's 250-byte keys with the prefix is stored under Prefix+id
// (default prefix "session:"), so the ids the Manager makes are stored as
// they are. Every other id (spaces, control bytes, UTF-8, too long, or
// starting with "~") is stored under
//
//	Prefix + "~" + base64url(SHA-256(id))     (44 bytes after the prefix)
//
// Plain keys never start with "~" after the prefix and hashed ones always
// do, so no plain id meets a hashed one, and two hashed ids meet only if
// SHA-256 collides. The prefix is limited to MaxPrefixLength (206) bytes of
// printable ASCII so that every key fits. Two stores are kept apart by their
// prefixes as long as neither prefix is a prefix of the other.
//
// The item's value is a 16-byte header, the expiry in Unix milliseconds
// and the record's version (both big-endian), followed by the data; its
// flags mark the record format (0x53530002). Load is one gets and returns
// data, expiry and version together. The version is random and written by
// the Store with every Save and CompareAndSwap rather than taken from the
// item's CAS id: memcached counts CAS ids per server, so over several
// servers two sessions could share one, and a version read from one
// session must never match another. CompareAndSwap still writes with cas,
// over the CAS id it read, so that it is atomic: do not run memcached with
// -C.
//
// # Expiry
//
// Load ends a record at the exact expiry in its header, by the
// application's clock, to the millisecond. memcached's own expiration only
// frees the memory: memcached counts whole seconds on a clock it advances
// once a second at a phase of its own, so an item given n seconds lives
// between n-1 and n seconds (measured: 1 s items lived 0.27 to 1.0 s). The
// Store therefore sends the lifetime rounded up to a second, plus one
// second: memcached never drops a session before its expiry and keeps it at
// most two seconds after, when Load already reports it gone.
//
// Lifetimes over 30 days are sent as an absolute Unix time (rounded up, plus
// one second), since memcached reads any relative value above 30 days as a
// date in 1970 and drops the item at once; such items depend on the clocks
// of the application and the servers agreeing (NTP). Expiries past what a
// 32-bit Unix time holds (2038) are sent as "no expiration": memcached keeps
// the item until it evicts it, and Load still ends it at its expiry. An
// expiry at or before now deletes the item.
//
// # Touch and CompareAndSwap
//
// memcached's touch moves an item's expiration but cannot rewrite the
// expiry in its header, which Load trusts; and a Load that ignored the header
// would return sessions up to two seconds late, or lose them up to a second
// early. So Touch reads the record (gets) and writes it back with the new
// expiry over the CAS id it read (cas): two round trips instead of one, and
// the data travels both ways. In return Load reports a touched expiry
// exactly, and a Touch never overwrites data: when a write lands between the
// two steps, that write stands and Touch still reports true (the touch
// counts as made just before it). A touch keeps the record's version.
//
// CompareAndSwap with a version reads the record (gets) and writes it
// (cas) only if it is live by its header and still has that version: two
// round trips. memcached may hold an item up to two seconds past the expiry
// in its header, and a lone cas over such an item with its version would
// succeed, saving a session that had expired, which the contract forbids.
// With version 0 it is one add, which memcached refuses while it still holds
// an expired item under the key; the Store then reads that item and swaps it
// out by its CAS id.
//
// # Size limit
//
// memcached refuses items over its item size limit (-I, 1 MiB by default),
// which counts the value, the key and about 50 bytes of item header:
// memcached 1.6 stores at most 1 MiB - 309 bytes of value under a 250-byte
// key. The default Options.MaxDataSize, 1 MiB - 1 KiB, leaves room for the
// key, the record header and that overhead. Larger data fails with
// sessionstore.ErrTooLarge before anything is sent, and the stored record
// stays as it was. Servers started with a larger -I allow a larger
// MaxDataSize; keep it 1 KiB under the limit.
//
// # Contexts, timeouts and Close
//
// gomemcache takes no context; the client's Timeout (500 ms by default)
// bounds the dial and the reading and writing of each operation. Under a
// context that can end, the Store runs each client call in a goroutine and
// returns as soon as the context ends, with an error wrapping ctx.Err(); the
// abandoned call finishes within the client's Timeout. Under a context that
// cannot end (context.Background) the call runs in the caller's goroutine.
// Close waits for abandoned calls to finish, so no goroutine of the Store
// outlives it; every call after Close fails with sessionstore.ErrClosed. The
// Store never closes the client. Set the client's MaxIdleConns above the
// peak of concurrent requests, or connections are dialled and closed again
// under load.
//
// # Eviction
//
// memcached is a cache. When its memory is full it evicts the least
// recently used items, live sessions included, and a restarted server has
// lost everything it held: users of evicted sessions are logged out. Give
// the servers memory for every live session (each item takes its data, its
// key and about 50 bytes of item header, rounded up to memcached's slab
// chunk sizes, which grow by a factor of 1.25), watch the evictions
// statistic, and keep sessions small.
//
// # Several servers
//
// A gomemcache client given several servers shards keys over them by a
// hash of the key (CRC-32 modulo the number of servers): each session lives
// on exactly one server, and nothing is replicated. Losing a server loses
// its share of the sessions; calls for them fail until the server answers
// again (or the client's server list changes, which moves about a share of
// every server's keys elsewhere, and so logs their users out too). The
// other servers keep serving their sessions throughout.
//
// # When to choose memcached
//
// When memcached already runs next to the application and losing a session
// now and then is acceptable (a logged-out user signs in again): sessions
// cost one round trip to load and one to save, expire without cleanup jobs,
// and spread over many servers without coordination. When sessions must
// survive restarts and memory pressure, or be listed and revoked, choose
// Redis with persistence, PostgreSQL or MongoDB.
package memcache
