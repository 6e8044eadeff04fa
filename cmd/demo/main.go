// Command demo is a small web app that shows sessionstore at work: a visit
// counter, login and logout with flash messages (the id is renewed at
// login, "remember me" makes the cookie permanent), a page showing what
// the server stores and what the browser holds, and "Your devices": every
// session logged in as the same user, each with a button that signs it
// out, and one that signs out everywhere else. Every page says what the
// request did to the session.
//
// Logging in records the browser's user agent with the session, to tell
// the devices apart: personal data, which the library records only when
// the application passes it, as this demo does. The devices list shows no
// "last seen": the library reads it from the expiry, which only an idle
// timeout moves, and the demo sets none.
//
// Pages are GETs, which never create a session and write one only to take
// its flash messages out; every other change is a POST from a button. Sessions
// last 12 hours from their creation, with no idle timeout, so that a
// remembered login's cookie and its session end at the same moment.
//
//	go run ./cmd/demo                 # memory store on http://localhost:8080 (the first run compiles for a few minutes)
//	go run ./cmd/demo -addr :9000
//	go run ./cmd/demo -store redis://localhost:6379/0
//	go run ./cmd/demo -store 'postgres://user:password@localhost:5432/app'
//	go run ./cmd/demo -store mongodb://localhost:27017/app
//	go run ./cmd/demo -store memcache://localhost:11211,localhost:11212
//	go run ./cmd/demo -store sqlite:sessions.db   # kept across restarts, no server
//	go run ./cmd/demo -metrics        # and OpenTelemetry metrics at /metrics
//
// -store takes one of these forms:
//
//	memory                                                    in this process (the default)
//	redis://[user:password@]host:port[/db]                    one Redis server; rediss:// for TLS
//	redis+cluster://[user:password@]host:port[,host:port...]  Redis Cluster, found from these nodes
//	postgres://[user:password@]host:port/database             PostgreSQL (or postgresql://); creates table "sessions"
//	mysql://[user:password@]host[:port]/database              MySQL or MariaDB; creates table "sessions"; driver parameters as in its DSN
//	mongodb://[user:password@]host:port[/database]            MongoDB (or mongodb+srv://); database "sessionstore" unless named
//	memcache://host:port[,host:port...]                       memcached, keys spread over the servers
//	sqlite:PATH                                               an SQLite database file (created if missing); sqlite:///ABSOLUTE/PATH too
//
// The demo pings the store's servers at start, so a wrong address fails at
// once, and creates what the store needs (the PostgreSQL or MySQL table, the
// MongoDB indexes) if it is missing. The query parameters of redis://,
// postgres://, mysql:// and mongodb:// URLs pass through to their drivers
// (go-redis, pgx, go-sql-driver/mysql, the MongoDB driver), which document
// them; redis+cluster:// and memcache:// take none.
//
// -metrics instruments the Manager and its store with package otelsession
// and serves their metrics at /metrics in the Prometheus text format,
// through the OpenTelemetry Prometheus exporter.
//
// Its forms need no CSRF token: the session cookie is SameSite=Lax, so
// browsers do not send it with another site's POST, and net/http's
// CrossOriginProtection refuses cross-origin POSTs before the session is
// opened. It stops gracefully on SIGINT or
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

	goredis "github.com/redis/go-redis/v9"
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
	// The store's errors carry the driver's; go-redis's own log lines (one per
	// failed dial) would only repeat them, before the one error line.
	goredis.SetLogger(quietLogger{})
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
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "demo: a small web app showing sessionstore's server-side HTTP sessions at work.\n\n"+
			"Usage: go run ./cmd/demo [-addr address] [-store store] [-metrics]\n\n")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "localhost:8080", "`address` to listen on")
	// The default is "" rather than "memory" so that the usage text does
	// not end the list below with (default "memory").
	storeArg := fs.String("store", "", "session `store`, one of:\n"+acceptedStores)
	metrics := fs.Bool("metrics", false, "serve OpenTelemetry metrics of the sessions and the store at /metrics")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -h asked for the usage text, which is printed
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: the demo takes only flags (see -h)", fs.Arg(0))
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

	m := newManager(store)
	handler := newApp(m)
	if *metrics {
		h, shutdown, err := withMetrics(m, handler)
		if err != nil {
			return err
		}
		defer shutdown(context.Background())
		handler = h
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "sessionstore demo (store: %s) on %s\n", shownStore(*storeArg), serverURL(*addr, ln.Addr()))

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

// quietLogger drops go-redis's log lines.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// serverURL returns the URL to print for a listener's address: the host
// as -addr named it (so "127.0.0.1:8081" prints http://127.0.0.1:8081 and
// "localhost:8080" http://localhost:8080) with the port it listens on (which
// ":0" leaves to the system), and localhost for an empty or unspecified host
// (":9000", "0.0.0.0:9000"), which serves every interface.
func serverURL(addr string, a net.Addr) string {
	_, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
