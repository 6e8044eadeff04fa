// Command demo is a small web app that shows sessionstore at work: a visit
// counter, login and logout with flash messages (the id is renewed at
// login), and a page showing the current session's values, store key,
// expiry and flags.
//
//	go run ./cmd/demo                 # memory store on http://localhost:8080
//	go run ./cmd/demo -addr :9000
//	go run ./cmd/demo -store redis://localhost:6379/0
//	go run ./cmd/demo -store 'postgres://user:password@localhost:5432/app'
//	go run ./cmd/demo -store mongodb://localhost:27017/app
//	go run ./cmd/demo -store memcache://localhost:11211,localhost:11212
//
// -store takes one of these forms:
//
//	memory                                                    in this process (the default)
//	redis://[user:password@]host:port[/db]                    one Redis server; rediss:// for TLS
//	redis+cluster://[user:password@]host:port[,host:port...]  Redis Cluster, found from these nodes
//	postgres://[user:password@]host:port/database             PostgreSQL (or postgresql://); creates table "sessions"
//	mongodb://[user:password@]host:port[/database]            MongoDB (or mongodb+srv://); database "sessionstore" unless named
//	memcache://host:port[,host:port...]                       memcached, keys spread over the servers
//
// The demo pings the store's servers at start, so a wrong address fails at
// once, and creates what the store needs (the PostgreSQL table, the MongoDB
// indexes) if it is missing. The query parameters of redis://, postgres://
// and mongodb:// URLs pass through to their drivers (go-redis, pgx, the
// MongoDB driver), which document them; redis+cluster:// and memcache://
// take none.
//
// Its forms are protected against cross-site request forgery by
// net/http's CrossOriginProtection. It stops gracefully on SIGINT or
// SIGTERM, then closes the store and its clients.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sessionstore/sessionstore"
)

// Timeouts of the demo's start and stop.
const (
	// openTimeout bounds connecting to the store's servers and preparing
	// them: a wrong address fails at once rather than at the first request.
	openTimeout = 5 * time.Second
	// shutdownTimeout bounds how long a stop waits for requests in flight,
	// and then for the store and its clients to close.
	shutdownTimeout = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run parses args, serves the demo until ctx ends, then shuts down,
// letting requests in flight finish, and closes the store.
func run(ctx context.Context, args []string, stdout io.Writer) (err error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "localhost:8080", "`address` to listen on")
	// The default is "" rather than "memory" so that the usage text does
	// not end the list below with (default "memory").
	storeArg := fs.String("store", "", "session `store`, one of:\n"+acceptedStores)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -h asked for the usage text, which is printed
		}
		return err
	}
	*storeArg = cmp.Or(*storeArg, "memory")
	octx, cancel := context.WithTimeout(ctx, openTimeout)
	store, closeStore, err := openStore(octx, *storeArg)
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if cerr := closeStore(cctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close store: %w", cerr))
		}
	}()

	m := sessionstore.New(store)
	m.IdleTimeout = 30 * time.Minute
	m.Lifetime = 12 * time.Hour

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newApp(m), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "sessionstore demo (store: %s) on %s\n", shownStore(*storeArg), serverURL(ln.Addr()))

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	fmt.Fprintln(stdout, "stopped")
	return err
}

// serverURL returns the URL to print for a listener's address, naming
// localhost when it listens on every interface.
func serverURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
