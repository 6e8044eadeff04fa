// Command demo is a small web app that shows sessionstore at work: a visit
// counter, login and logout with flash messages (the id is renewed at
// login), and a page showing the current session's values, store key,
// expiry and flags.
//
//	go run ./cmd/demo                 # memory store on http://localhost:8080
//	go run ./cmd/demo -addr :9000
//
// Its forms are protected against cross-site request forgery by
// net/http's CrossOriginProtection. It stops gracefully on SIGINT or
// SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
)

// shutdownTimeout bounds how long a stop waits for requests in flight.
const shutdownTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run parses args, serves the demo until ctx ends, then shuts down,
// letting requests in flight finish.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "localhost:8080", "`address` to listen on")
	storeArg := fs.String("store", "memory", "session store: "+acceptedStores)
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, closeStore, err := openStore(*storeArg)
	if err != nil {
		return err
	}
	defer closeStore()

	m := sessionstore.New(store)
	m.IdleTimeout = 30 * time.Minute
	m.Lifetime = 12 * time.Hour

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newApp(m), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "sessionstore demo (store: %s) on %s\n", *storeArg, serverURL(ln.Addr()))

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

// acceptedStores lists the forms of -store.
const acceptedStores = `"memory" (postgres://…, redis://…, mongodb://…, memcache://host:port: not available yet)`

// openStore returns the store that arg names and a function releasing it.
func openStore(arg string) (sessionstore.Store, func(), error) {
	if arg == "memory" {
		st := memory.New(memory.Options{})
		return st, func() { st.Close() }, nil
	}
	for _, scheme := range []string{"postgres", "postgresql", "redis", "rediss", "mongodb", "mongodb+srv", "memcache"} {
		if strings.HasPrefix(arg, scheme+"://") {
			return nil, nil, fmt.Errorf("-store %q: the %s backend is not available in the demo yet; accepted: %s", arg, scheme, acceptedStores)
		}
	}
	return nil, nil, fmt.Errorf("-store %q: unknown store; accepted: %s", arg, acceptedStores)
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
