// Package faults tests how an application built on sessionstore behaves when
// its database link fails the way production links fail: slow, reset in the
// middle of a command, silent, throttled to a trickle, or short of pooled
// connections; and when the application itself is killed in the middle of a
// save. Each test runs a Manager serving real HTTP over a backend on its real
// server in a container (see internal/testservers), with an in-process
// Toxiproxy (github.com/Shopify/toxiproxy/v2) between the driver and the
// server where the link is what fails.
//
// It has no code of its own, only tests; the README's "Failure behaviour"
// table is made of their results:
//
//	./scripts/test ./internal/faults/ -v
package faults
