// Package storetest is the conformance suite of the sessionstore contract: it
// proves that a [sessionstore.Store] keeps every rule written in the docs of
// package sessionstore, and benchmarks it.
//
// # Running the suite
//
// A store's own test calls [Run] with a [Harness]:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, storetest.Harness{
//			NewStore: func(t testing.TB) sessionstore.Store {
//				s := mystore.New(client, mystore.WithPrefix(uniquePrefix()))
//				t.Cleanup(func() { s.Close() })
//				return s
//			},
//			MaxDataSize: mystore.MaxDataSize,
//		})
//	}
//
// Run runs one subtest per rule, grouped by method or rule: Load, Save,
// Delete, Context, IDs, Isolation, Concurrency, Unreachable and Expiry, then
// one group per optional capability: Touch (Toucher), CompareAndSwap
// (Swapper), Iterate (Iterator), Count (Counter, or Iterator through
// sessionstore.Count), Close (io.Closer) and Shared (Sharer and SwapSharer,
// the copy-free methods). A capability the store does not
// implement is skipped, saying so. Each subtest is named after the sentence
// it checks, so go test -v reads like the contract, and any of them can be
// selected with -run, spaces written as in the name or as underscores:
//
//	go test -run 'TestStore/CompareAndSwap/exactly one' -v
//
// Run the suite with -race: the Concurrency subtests and the compare-and-swap
// race mean most under the race detector.
//
// # The harness
//
// NewStore returns a new, empty store; the suite calls it at the start of
// nearly every subtest (never from two goroutines at once), so that each
// subtest starts from nothing. Every store it returns must be isolated from
// the others on the same server: its own key prefix, table or collection. The
// Isolation subtests (and the isolation checks of each capability) take two
// stores and check that neither sees, overwrites, deletes, touches, swaps,
// visits or counts the other's records. Register cleanup with t.Cleanup: it
// runs when the subtest ends.
//
// MaxDataSize is the store's documented maximum data size: the suite saves
// exactly that many bytes, and one more, which must fail with an error
// wrapping sessionstore.ErrTooLarge and leave the previous record intact.
//
// NewUnreachableStore, when set, returns a store configured against a
// database that does not answer, such as a closed port. Every method must then
// fail within a 2-second context deadline, never panic and never report a
// record found. Without it the Unreachable group is skipped.
//
// # Expiry and its precision
//
// The expiry subtests wait for the real clock, so they run in parallel with
// each other (t.Parallel) within their group, and use short lifetimes: a
// record saved to live 300 ms is checked at 100 ms (found) and after 400 ms
// (gone). A store that checks expiry itself, or a database that does so
// exactly (Redis, a SQL WHERE clause), has an ExpiryPrecision of 0. A store
// whose database counts in coarser steps declares how late a record may still
// be returned: memcached counts whole seconds, so 1 s. The suite then checks
// "gone" that much later, and never earlier than the rule allows: a record
// saved to expire in 2 s is found at 1 s and gone at 3 s on every store. A
// record is never allowed to disappear before its expiry, whatever the
// precision. When the machine is so loaded that a step cannot happen before
// a record's expiry, the check is retried with a longer lifetime rather than
// failing a correct store.
//
// On an in-memory store the whole suite takes about 6 seconds, most of it
// waiting for the clock.
//
// # Benchmarks
//
// [RunBenchmarks] measures Load, Save, a Load and Save pair, and the pair
// from parallel goroutines, over 10,000 live sessions. A backend calls it from
// its own benchmark, next to the raw driver calls it compares with.
package storetest
