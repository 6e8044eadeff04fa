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
// sessionstore.Count) and Close (io.Closer). A capability the store does
// not implement is skipped, saying so. Each subtest is named after the sentence
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
// fail within a 1-second context deadline (half a second of grace), never
// panic and never report a record found. The calls run in parallel, so the
// group costs about a second even for a store that waits out every deadline.
// Without it the Unreachable group is skipped.
//
// NewNamedStore, when set, returns a store under a name the suite chooses
// (the store's prefix, table or collection is made from it): the Isolation
// group then tries names that careless stores mix up — differing only in
// case, in a separator, past the 63rd byte — and, when NestedNames is set,
// names of which one is a prefix of the other, with ids that make prefix+id
// the same string.
//
// # Expiry and its precision
//
// The expiry subtests wait for the real clock, so they run in parallel with
// each other (t.Parallel) within their group, and use short lifetimes: a
// record saved to live 300 ms must be found 30 ms before its expiry and gone
// 10 ms after it (plus the store's precision). A store that checks expiry
// itself, or a database that does so exactly (Redis, a SQL WHERE clause), has
// an ExpiryPrecision of 0, and so fails when it returns a record more than
// 10 ms stale. A store whose database counts in coarser steps declares how late a
// record may still be returned: memcached counts whole seconds, so 1 s. The
// suite then checks "gone" that much later, and never earlier than the rule
// allows: a record saved to expire in 2 s is found at 1 s and gone at 3 s on
// every store. A record is never allowed to disappear before its expiry,
// whatever the precision: a Load that returned more than 10 ms before the
// expiry must have found it. When the machine is so loaded that a Load
// returns too close to the expiry to tell, the check is retried with a
// longer lifetime rather than failing a correct store.
//
// # Races
//
// The race checks release their racers at once from one barrier. A
// compare-and-swap that checks the version and writes in two steps is caught
// in every run: 32 ids are raced at once, 8 racers each, for at least 4
// rounds and as many more (up to 64) as fit in a second, so a store whose
// check and write are only two holds of one lock apart meets thousands of
// races. Measured on 2 cores over 100 runs each (TestCatchRate), with and
// without -race: 100 of 100.
//
// On an in-memory store the whole suite takes about 7 seconds, most of it
// waiting for the clock.
//
// # Outside go test, and the sessions of a user
//
// [RunSuite] runs the same suite without go test, reporting each rule as a
// [Result] (passed, failed with the suite's messages, or skipped): the
// operators' command cmd/sessionstore uses it to check a live server;
// [RunRules] runs only the rules a function keeps.
// [RunOwners] proves, beside Run, that the sessions of a user
// (sessionstore.Session.LogIn, Manager.SessionsOf, RevokeSession,
// RevokeAll) work end to end over the store.
//
// # Benchmarks
//
// [RunBenchmarks] measures Load, Save, a Load and Save pair, and the pair
// from parallel goroutines, over 10,000 live sessions. A backend calls it from
// its own benchmark, next to the raw driver calls it compares with.
package storetest
