// Command sessionstore is the operators' tool for the session stores of
// package sessionstore: it counts, lists and revokes the sessions of a live
// store, copies them from one backend to another, benchmarks a server from
// this host and checks it against the conformance suite.
//
// Install it with
//
//	go install github.com/sessionstore/sessionstore/cmd/sessionstore@latest
//
// Usage:
//
//	sessionstore count [-sessions] [-timeout d] URL
//	sessionstore list [-owner owner] [-limit n] [-json] [-timeout d] URL
//	sessionstore revoke [-timeout d] URL KEY...
//	sessionstore revoke -all [-yes] [-timeout d] URL
//	sessionstore revoke -owner owner [-handle handle] [-timeout d] URL
//	sessionstore copy [-overwrite] [-workers n] [-timeout d] FROM TO
//	sessionstore bench [flags] URL
//	sessionstore check [-v] [-run regexp] [-skip regexp] [-timeout d] URL
//
// Each command prints its own flags with -h, and takes -connect-timeout d
// (default 10s): opening a store gives up after it, naming the host:port
// that accepted the connection but did not answer in the backend's
// protocol (another server's port, or a server that hangs). A URL takes one
// of these forms:
//
//	memory                                                    in this process (check and bench only)
//	redis://[user:password@]host:port[/db]                    one Redis server; rediss:// for TLS
//	redis+cluster://[user:password@]host:port[,host:port...]  Redis Cluster, found from these nodes
//	postgres://[user:password@]host:port/database             PostgreSQL (or postgresql://); creates table "sessions"
//	mysql://[user:password@]host[:port]/database              MySQL or MariaDB; creates table "sessions"; driver parameters as in its DSN
//	mongodb://[user:password@]host:port[/database]            MongoDB (or mongodb+srv://); database "sessionstore" unless named
//	memcache://host:port[,host:port...]                       memcached, keys spread over the servers
//	sqlite:PATH                                               an SQLite database file (created if missing); sqlite:///ABSOLUTE/PATH too
//
// and, when the application keeps its sessions away from the backend's
// default, one of these query parameters:
//
//	?prefix=P       redis, redis+cluster, memcache: the key prefix (default "session:")
//	?table=T        postgres: the table, optionally schema.table (default "sessions")
//	?table=T        mysql: the table, optionally database.table (default "sessions")
//	?table=T        sqlite: the table (default "sessions")
//	?collection=C   mongodb: the collection (default "sessions")
//
// Only copy creates anything (the destination's table or indexes); the other
// commands fail on a missing PostgreSQL or MySQL table. bench and check work in a
// prefix, table or collection of their own and remove it afterwards.
//
// Exit status:
//
//	0  success
//	1  the command ran and failed: a call on the store failed, a rule of check failed,
//	   check ran out of -timeout, a key, owner or handle to revoke names no session,
//	   revoke -all was not confirmed
//	2  usage: unknown command, bad flag or argument, malformed URL, the memory URL
//	   where it cannot work, revoke -all without a terminal to ask on and no -yes
//	3  a store could not be opened: server unreachable or of another protocol,
//	   wrong credentials, missing table
//
// Every error is one line naming what failed and, when it can tell, what to
// try. No command waits past its -timeout but to remove what it created (check
// and bench drop their namespaces, a few seconds).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/term"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/storeurl"
)

// Exit statuses, as the package doc lists them.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitConnect = 3
)

func main() {
	// The store errors carry the driver's; go-redis's own log lines (one per
	// failed dial) would only repeat them before the one error line.
	goredis.SetLogger(quietLogger{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// command is one subcommand.
type command struct {
	name    string
	args    string // the usage line after the name
	summary string
	run     func(e *env, args []string) error
}

func commands() []command {
	return []command{
		{"count", "[-sessions] [-timeout d] URL", "print the number of live records (or sessions) in a store", runCount},
		{"list", "[-owner owner] [-limit n] [-json] [-timeout d] URL", "list the live records of a store: key, expiry, size, owner", runList},
		{"revoke", "[-timeout d] URL KEY... | -all [-yes] URL | -owner owner [-handle h] URL", "end sessions: by store key, all of them, or those of one owner", runRevoke},
		{"copy", "[-overwrite] [-workers n] [-timeout d] FROM TO", "copy every live session, with its expiry, from one store to another", runCopy},
		{"bench", "[flags] URL", "measure Load, Save, Touch and CompareAndSwap against a server", runBench},
		{"check", "[-v] [-run regexp] [-skip regexp] [-timeout d] URL", "run the conformance suite against a server", runCheck},
	}
}

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, args, streams{stdin: os.Stdin, stdinTerminal: isTerminal(os.Stdin), stdout: stdout, stderr: stderr}, nil)
}

// streams are what a command reads and writes.
type streams struct {
	stdin io.Reader
	// stdinTerminal reports whether stdin is a terminal, where a person can
	// answer a question (revoke -all asks one).
	stdinTerminal  bool
	stdout, stderr io.Writer
}

// runWith is run with the streams given, and with every store the command
// opens passed through wrap when it is not nil: the tests give check a
// store that breaks a rule.
func runWith(ctx context.Context, args []string, io streams, wrap func(sessionstore.Store) sessionstore.Store) int {
	if len(args) == 0 {
		usage(io.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && name == "help" {
			return runWith(ctx, []string{args[1], "-h"}, io, wrap)
		}
		usage(io.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			e := &env{ctx: ctx, cmd: c, streams: io, terminal: isTerminal(io.stderr), wrap: wrap}
			return e.exit(c.run(e, args[1:]))
		}
	}
	fmt.Fprintf(io.stderr, "sessionstore: unknown command %q; run sessionstore -h for the list\n", name)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, "sessionstore: count, list, revoke, copy, benchmark and check session stores.\n\nUsage:\n\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "\tsessionstore %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun sessionstore COMMAND -h for the flags of a command. A URL is one of:\n\n  ",
		// The demo's default store is no default here: it reaches no
		// application's sessions.
		strings.ReplaceAll(strings.Replace(storeurl.Forms, "in this process (the default)", "in this command: check and bench only", 1), "\n", "\n  "),
		"\n\nwith, for sessions away from the backend's default:\n\n  ",
		strings.ReplaceAll(storeurl.Params, "\n", "\n  "),
		"\n\nEvery command takes -timeout (the whole command) and -connect-timeout (opening a store, default 10s).",
		"\nExit status: 0 success; 1 the command failed; 2 usage; 3 a store could not be opened.\n")
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// env is what a running command shares.
type env struct {
	ctx context.Context
	cmd command
	streams
	// terminal reports whether stderr is a terminal: progress is then drawn
	// in place, else printed as plain lines.
	terminal bool
	// wrap, when not nil, wraps every store opened (see runWith).
	wrap func(sessionstore.Store) sessionstore.Store
	// connectTimeout bounds opening each store (-connect-timeout).
	connectTimeout time.Duration
}

// usageError is an error of the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// failedError reports a failure already printed (check's failing rules).
type failedError struct{ msg string }

func (e failedError) Error() string { return e.msg }

// flags returns the command's flag set, its usage text going to stdout on
// -h and its errors left for exit to print.
func (e *env) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("sessionstore "+e.cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// printUsage prints the command's usage and flags to w.
func (e *env) printUsage(w io.Writer, fs *flag.FlagSet, more string) {
	fmt.Fprintf(w, "usage: sessionstore %s %s\n\n%s.\n", e.cmd.name, e.cmd.args, capitalize(e.cmd.summary))
	if more != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(more))
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintln(w, "\nURL forms: run sessionstore -h.")
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// parse parses args with fs, allowing flags after the positional arguments
// (sessionstore revoke URL -all) up to a "--", after which every argument
// is positional (a store key may start with a dash). It prints the usage
// and returns errHelp on -h.
func (e *env) parse(fs *flag.FlagSet, args []string, more string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			e.printUsage(e.stdout, fs, more)
			return nil, errHelp
		}
		if err != nil {
			return nil, usagef("%v", err)
		}
		rest := fs.Args()
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

var errHelp = errors.New("help printed")

// exit prints err as one line and returns the exit status it calls for.
func (e *env) exit(err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	name := "sessionstore " + e.cmd.name
	if f, ok := errors.AsType[failedError](err); ok {
		if f.msg != "" {
			fmt.Fprintf(e.stderr, "%s: %s\n", name, f.msg)
		}
		return exitFailed
	}
	if u, ok := errors.AsType[usageError](err); ok {
		fmt.Fprintf(e.stderr, "%s: %s; run %s -h for usage\n", name, u.msg, name)
		return exitUsage
	}
	msg := unstutter(storeurl.OneLine(err))
	if e.ctx.Err() != nil && !strings.Contains(msg, "timeout") {
		msg += " (interrupted)"
	}
	if h := storeurl.Hint(err); h != "" {
		msg += "; " + h
	}
	fmt.Fprintf(e.stderr, "%s: %s\n", name, msg)
	switch {
	case isForm(err):
		return exitUsage
	case isConnect(err):
		return exitConnect
	}
	return exitFailed
}

func isForm(err error) bool {
	_, ok := errors.AsType[*storeurl.FormError](err)
	return ok
}

func isConnect(err error) bool {
	_, ok := errors.AsType[*storeurl.ConnectError](err)
	return ok
}

// timeoutFlags adds -timeout, with the command's default and meaning, and
// -connect-timeout.
func (e *env) timeoutFlags(fs *flag.FlagSet, def time.Duration, usage string) *time.Duration {
	fs.DurationVar(&e.connectTimeout, "connect-timeout", defaultConnectTimeout,
		"give up opening a store after this `duration`: a server that does not answer, or another server's port")
	return fs.Duration("timeout", def, usage)
}

// defaultConnectTimeout bounds opening a store: a server a few thousand
// kilometres away answers in a second; one that has not answered in ten
// will not (another server's port, a server that hangs).
const defaultConnectTimeout = 10 * time.Second

// withTimeout bounds the command by d; a deadline hit reads as a timeout.
func (e *env) withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(e.ctx)
	}
	return context.WithTimeoutCause(e.ctx, d, fmt.Errorf("-timeout %v reached", d))
}

// open opens the store at arg, labelled in errors as label, within
// -connect-timeout.
func (e *env) open(ctx context.Context, label, arg string, o storeurl.Options) (*storeurl.Store, error) {
	o.Label = label
	if e.connectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, e.connectTimeout, fmt.Errorf("-connect-timeout %v reached", e.connectTimeout))
		defer cancel()
	}
	st, err := storeurl.Open(ctx, arg, o)
	if err != nil {
		if _, ok := errors.AsType[*storeurl.NoAnswerError](err); !ok && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
		}
		return nil, err
	}
	if e.wrap != nil {
		st.Store = e.wrap(st.Store)
	}
	return st, nil
}

// refuseMemory refuses the memory URL for a command that reads or writes an
// application's sessions: it names a store inside this process, empty when
// the command starts, never the memory store of an application.
func refuseMemory(what string, args ...string) error {
	for _, a := range args {
		if storeurl.BackendOf(a) == storeurl.Memory {
			return usagef("memory is a store inside this command, empty when it starts: it cannot reach the sessions of another process, so %s has nothing to work on; give the URL of the server your application keeps its sessions in", what)
		}
	}
	return nil
}

// unstutter removes the package prefixes inside an error's message: the
// command's own "sessionstore COMMAND:" already says where it comes from,
// and each layer below names its step ("store URL: revoke: ...").
func unstutter(msg string) string {
	return strings.ReplaceAll(msg, "sessionstore: ", "")
}

// plural returns n and noun, with an s unless n is 1: "1 session",
// "2 sessions".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// pl is plural for an int.
func pl(n int, noun string) string { return plural(int64(n), noun) }

// closeStore closes st within a few seconds, whatever ctx says: a command
// that ran out of time still releases its connections.
func closeStore(st *storeurl.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st.Close(ctx)
}
