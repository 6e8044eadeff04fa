// Package sessionstore keeps HTTP sessions on the server, in the database an
// application already runs. Use it in three steps, New, then Handler, then
// FromContext: [New] makes a [Manager] over a [Store], [Manager.Handler] runs
// the session around the application's handler, and [FromContext] gives a
// handler its request's [Session]:
//
//	m := sessionstore.New(memory.New(memory.Options{})) // or redis, postgres, ...
//	mux := http.NewServeMux()
//	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
//		s := sessionstore.FromContext(r.Context())
//		s.Put("item", r.PostFormValue("item"))
//	})
//	http.ListenAndServe(":8080", m.Handler(mux))
//
// A visitor who never writes to the session gets no cookie and no stored
// record; the session is saved as the handler writes its response (or
// returns), and the response is never buffered.
//
// The library has two layers. A [Store] keeps opaque bytes under an id until an
// absolute expiry; the backend packages (memory, redis, postgres, mysql,
// sqlite, mongo, memcache) implement it, each over the driver client the user
// configured, and the storetest package proves any implementation against
// this contract. A [SessionInterface] turns a request into a session and a
// session back into a stored record and a cookie, in the manner of Flask's
// open_session and save_session; the Manager implements it over any Store.
// An application uses the first half of the names below; a store author
// the second.
//
// # For applications
//
//   - [New] returns a [Manager] over a Store. Its fields are the settings,
//     each with its default in its doc: [Manager.Cookie] ([CookieOptions],
//     [SecureMode]), [Manager.Lifetime], [Manager.IdleTimeout],
//     [Manager.Codec], [Manager.ErrorHandler], [Manager.Observer].
//   - [Manager.Handler] is the middleware; [FromContext] returns the request's
//     [Session] inside it. Without the middleware, [Manager.Open] and
//     [Manager.Save] ([SessionInterface]) run the same lifecycle in a
//     middleware of your own, and [Manager.HandleError] answers their errors
//     as the Handler does; [Manager.Get] finds the session of one Manager
//     when several (several cookies) wrap one handler.
//   - A [Session] holds values: [Session.Get], [Get] (typed),
//     [Session.GetString] and the other typed getters, [Session.Put],
//     [Session.Update], [Session.Pop], [Session.Delete], [Session.Clear];
//     flash messages: [Session.Flash], [Session.Flashes] ([FlashMessage]);
//     its life: [Session.RenewID] at login, [Session.Destroy] at logout,
//     [Session.SetPermanent].
//   - The sessions of a user: [Session.LogIn] binds a session to an owner;
//     [Manager.SessionsOf] lists the owner's live sessions ([OwnedSession]),
//     [Manager.RevokeSession] and [Manager.RevokeAll] end them.
//   - Administration over store keys: [Manager.Iterate] ([StoredSession]),
//     [Manager.Lookup], [Manager.Revoke], [Count].
//   - Errors to test with [errors.Is]: [ErrHeaderSent], [ErrConflict],
//     [ErrNoOwner], [ErrUnknownHandle], and a store's [ErrTooLarge] and
//     [ErrFull]. [Observer] ([Step], [Event]) sees each request's steps.
//
// # Writing a store
//
//   - [Store] is the contract: Load, Save and Delete of a [Record] under an
//     id, each sentence of its doc a test in package storetest.
//   - Optional capabilities, discovered by type assertion in the way
//     database/sql/driver offers Pinger or SessionResetter: [Toucher],
//     [Swapper], [Iterator], [Counter] and [io.Closer]. Callers degrade
//     gracefully when a capability is missing.
//   - Each method starts with [ContextErr] and [CheckID]; Save and
//     CompareAndSwap also with [CheckData]. Limits: [MaxIDLength],
//     [MaxExpiry]. Errors a store wraps: [ErrInvalidID], [ErrTooLarge],
//     [ErrFull], [ErrClosed].
//   - [Inspect] tells what a stored record is ([RecordInfo], [RecordKind]):
//     a session, a forward of a renewed id, an owner's index.
//
// A Store that is an io.Closer stops its background work in Close: when
// Close returns, no goroutine the store started is left. Close is safe to
// call twice. After it, each call either works as before (the store only
// stopped background work) or fails with an error wrapping [ErrClosed]; a
// call that returns nil did what it says.
//
// The storetest package's Example is a whole store, a map under a mutex with
// every capability, that passes every rule; the README's "Writing your own
// store" says what store authors trip over.
package sessionstore
