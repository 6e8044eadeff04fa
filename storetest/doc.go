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
// Delete, Context, IDs, Isolation, Concurrency, Unreachable, Expiry and
// Model, then one group per optional capability: Touch (Toucher),
// CompareAndSwap (Swapper), Iterate (Iterator), Count (Counter, or Iterator
// through sessionstore.Count) and Close (io.Closer), and SecondHandle when
// the harness can open a second handle on a store's data. A capability the
// store does not implement is skipped, saying so. Each subtest is named
// after the sentence it checks, so go test -v reads like the contract, and
// any of them can be selected with -run, spaces written as in the name or as
// underscores:
//
//	go test -run 'TestStore/CompareAndSwap/exactly one' -v
//
// # Writing a store
//
// The package's Example is a whole store a user could write, a map under a
// mutex with every optional capability, that passes every rule (TestMapStore
// runs Run on it); its comments say why each line is there. What store
// authors trip over, each caught by a subtest named for it:
//
//   - Every method starts with [sessionstore.ContextErr](ctx), returning its
//     error wrapped: an ended context fails every call, on a missing id and
//     an empty store too. ContextErr, not ctx.Err(), since it also reports a
//     deadline that has passed before the context's timer says so; a store
//     over a network also wraps it into a driver error when it is not nil,
//     and Iterate checks it again after each call of fn.
//   - Then [sessionstore.CheckID](id), and in Save and CompareAndSwap
//     [sessionstore.CheckData] before anything is sent. Past them an id is any
//     1 to 256 bytes, kept as bytes: never escaped, cut or case-folded.
//   - Load of a missing, deleted or expired id returns found == false and a
//     nil error; Delete of a missing id returns nil.
//   - A record is live while time.Now().Before(expiry), on every read: the
//     zero time is long past, an expiry at or after [sessionstore.MaxExpiry]
//     (past the year 9999 included) is live.
//   - A versioned store never gives an id a version it had before, also
//     after a delete and across processes; version 0 in CompareAndSwap means
//     "no live record", and the check and the write are one atomic step.
//   - Iterate holds no lock while it calls fn: fn may call the store.
//   - After Close a call works or fails wrapping [sessionstore.ErrClosed].
//
// The README's "Writing your own store" says each in a line.
//
// # The model
//
// The Model group checks the store against a model of the contract rather
// than against examples. Its first subtest draws random sequences of calls
// (with pgregory.net/rapid): ids across byte classes and ids careless stores
// confuse with them, data sizes at every boundary up to MaxDataSize+1,
// expiries from the zero time to past the year 9999, every kind of
// CompareAndSwap version, Touch, Iterate and Count, over one or two handles
// on the same data. When an answer is not one the contract allows, rapid
// shrinks the sequence to a short one that still fails and prints it, one
// call a line, with the sentence of the contract it breaks and a
// -rapid.seed to replay it. Expiry is real time: the model asserts "live"
// or "gone" only for records whose expiry is comfortably away from the call,
// so a loaded machine does not fail a correct store. The run length is rapid's
// -rapid.checks (RAPID_CHECKS, default 100 sequences) and STORETEST_STEPS
// (the longest sequence, default 40 calls). Its second subtest records
// concurrent calls on a few ids and checks with
// github.com/anishathalye/porcupine that some order of them, each taking
// effect between its start and its return, keeps the contract.
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
// OpenAgain, when set, returns another store over the data of one NewStore
// returned: what another process configured alike opens, or the program
// after a restart. The suite then checks versions, CompareAndSwap, Iterate
// and Count across the two handles, the records and versions across a
// Close and reopen, and that a call on a closed store that returned nil did
// its work. A store whose data lives in the Store value (a memory store)
// returns that value while it is open, and nil once it is closed.
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
// On an in-memory store with every capability and every Harness field the
// suite runs 216 subtests in about 5 to 6 seconds with -race, most of it
// waiting for the clock, beside which the Model group runs.
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
