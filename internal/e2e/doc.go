// Package e2e tests the session lifecycle's promises where users meet them: a
// Manager serving real HTTP (net/http/httptest) over every backend, each on its
// real server in a container (see internal/backendtest). What passes on the
// memory store can fail on a network round trip; these tests run the same
// requests on all of them.
//
// It has no code of its own, only tests and benchmarks:
//
//	./scripts/test ./internal/e2e/
//	./scripts/test -run '^$' -bench ConcurrentWriters ./internal/e2e/
package e2e
