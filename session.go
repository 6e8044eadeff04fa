package sessionstore

// Session is one visitor's session data during a request.
//
// Its fields and methods are built by the session-lifecycle work (issue 3).
type Session struct{}
