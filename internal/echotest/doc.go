// Package echotest proves that echo-contrib/session, the session middleware
// of the echo web framework, works with any sessionstore.Store through
// gorillastore as it is: echo needs no adapter of its own. Its tests run echo
// over HTTP on every backend, and its example is the README's echo snippet.
//
// It also runs echo and the chi router inside sessionstore's
// Manager.Handler, the path that keeps every guarantee of the Manager
// (TestEchoInsideHandler, TestChiInsideHandler, and the README's examples):
// chi is a dependency of this module's tests only.
//
// It is a module of its own so that echo never enters the module graph of
// the root module's users.
package echotest
