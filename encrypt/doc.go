// Package encrypt keeps session data encrypted at rest in any
// sessionstore.Store, with keys that can be rotated.
//
// Sessions hold personal data, and the databases behind them end up in
// dumps, backups and snapshots, or (memcached) in memory that anyone on its
// network can read. [New] wraps a store so that everything it writes is
// sealed with AES-256-GCM from the standard library:
//
//	keys, err := encrypt.ParseKeys(os.Getenv("SESSION_KEYS")) // "1:<44 base64 characters>"
//	store, err := encrypt.New(redisStore, keys, encrypt.Options{})
//	m := sessionstore.New(store)
//
// A bad key is an error there, at start, never at the first request. The
// wrapped store keeps its optional capabilities (Touch, CompareAndSwap,
// Iterate, Count, Close: exactly those, no more), so the Manager merges
// concurrent requests and refreshes idle sessions as before, and each call
// is still one call of the wrapped store: no round trip is added.
//
// Encryption does not replace the Manager's hashing of session ids
// (Manager.PlainIDs false, the default): keep both. Hashing makes the stored keys useless as
// cookies; sealing makes the stored data unreadable.
//
// # What is protected
//
// Each record is sealed under its store key as GCM's additional data, with
// a fresh random 96-bit nonce per write. Someone who can read the database
// learns the size and expiry of each session, never its contents. Someone
// who can write it cannot make a record that opens: a record altered,
// truncated, copied under another id or sealed with a key that is not in the
// ring reads as absent (Load reports not found, Iterate skips it), a warning
// with the record's key id and the reason goes to Options.Logger, and the
// request gets a fresh session rather than an error. They can still delete
// sessions, move their expiry, or put back an older sealed version of a
// session under its own id: the expiry and the version are the store's and
// not authenticated, and nothing short of a server-side counter stops a
// rollback.
//
// # Record format and size
//
// A sealed record is the original data plus 30 bytes and the length of the
// primary key's id ([Keys.Overhead]: 31 bytes with the key id "1"):
//
//	byte      0xE1, the format
//	byte      length of the key id
//	bytes     the key id, in clear
//	12 bytes  nonce
//	...       ciphertext, as long as the data
//	16 bytes  GCM tag
//
// So the largest session the wrapped store accepts shrinks by that much: a
// Redis store with the default 1 MiB maximum takes data of up to
// 1 MiB - 31 bytes under key "1". Larger data fails before anything is sent,
// with the wrapped store's error wrapping sessionstore.ErrTooLarge, to which
// the wrapper adds both sizes.
//
// # Keys
//
// A key ring ([Keys]) holds one or more 32-byte keys, each with a short id
// stored in every record it seals. The primary key (the first) seals every
// write; every key of the ring opens what it sealed. The text form, for an
// environment variable or a secret file, is comma-separated ID:BASE64
// entries (see [ParseKeys]); make a key with
//
//	echo "1:$(openssl rand -base64 32)"
//
// or [GenerateKey]. Key ids appear in logs and in clear in every record: use
// a counter or a date ("1", "2026-11"), never anything secret.
//
// How much one key may seal: with random 96-bit nonces, NIST SP 800-38D
// allows at most 2^32 (about 4.3 billion) sealings per key, which keeps the
// chance that two writes ever share a nonce under 2^-32; a shared nonce
// would expose the XOR of two sessions and let their authenticity be forged.
// Every Save and CompareAndSwap seals once, across all processes sharing
// the key (Load, Touch and Delete seal nothing). That allows:
//
//	session writes per second   one key lasts
//	10                          13.6 years
//	100                         16 months
//	1,000                       7 weeks
//	10,000                      5 days
//
// Count the writes your application makes (the Manager writes when a
// session changes, and refreshes idle ones with Touch, which seals nothing)
// and rotate well before the limit: yearly at most, and at once when a key
// may have leaked.
//
// # Rotation
//
// To replace key "1" by key "2" without logging anyone out:
//
//  1. Add the new key behind the old one, SESSION_KEYS="1:...,2:...", and
//     deploy it everywhere. Every process can now open records sealed with
//     "2", while still sealing with "1". (With a single process, steps 1 and
//     2 can be one.)
//  2. Make it primary, SESSION_KEYS="2:...,1:...", and deploy it
//     everywhere. New writes are sealed with "2"; records sealed with "1"
//     still open.
//  3. Run [Reencrypt] once, from one process or a one-off command, over a
//     Store made with that ring. It reseals every record still under "1"
//     with CompareAndSwap, so no request writing meanwhile loses its write,
//     and reports its progress. Run it again: Rewritten == 0 shows nothing
//     is left under "1".
//  4. Retire the old key: SESSION_KEYS="2:...", and deploy.
//
// Skipping step 1 across several processes means that, during the deploy,
// processes still on the old ring read the records the others seal with
// "2" as absent. On a store that cannot iterate (memcached), replace step 3
// by waiting for the longest session lifetime: the records sealed with "1"
// have all expired by then.
//
// # Cost
//
// Sealing costs what AES-256-GCM itself costs, and no allocation: Save and
// CompareAndSwap seal into pooled buffers, Load opens in place. A load+save
// pair, medians side by side in one run (a 2-core 2.5 GHz Xeon VM shared
// with other work, Go 1.26; "cipher" is the standard library's seal and
// open of the same data with no store):
//
//	                 bare       encrypted   added      cipher alone
//	memory, 200 B    344 ns     972 ns      +0.63 µs   0.62 µs
//	memory, 4 KiB    1.18 µs    4.00 µs     +2.8 µs    2.9 µs
//	redis, 200 B     148 µs     153 µs      +3%, within the noise
//	redis, 4 KiB     135 µs     142 µs      +5%, within the noise
//
// Allocations per pair on the memory store: 1 bare, 1 encrypted (the
// store's copy on Load). Measured with
//
//	./scripts/test -run '^$' -bench 'PairInterleaved|Pair$|Cipher' -benchmem ./encrypt/
package encrypt
