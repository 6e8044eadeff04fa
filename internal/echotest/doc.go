// Package echotest proves that echo-contrib/session, the session middleware
// of the echo web framework, works with any sessionstore.Store through
// gorillastore as it is: echo needs no adapter of its own. Its tests run echo
// over HTTP on every backend, and its example is the README's echo snippet.
//
// It is a module of its own so that echo never enters the module graph of
// the root module's users.
package echotest
