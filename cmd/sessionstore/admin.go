package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/storeurl"
)

// defaultTimeout bounds count, list and revoke.
const defaultTimeout = 30 * time.Second

// manager returns a Manager over st for the commands that read sessions.
func manager(st sessionstore.Store) *sessionstore.Manager {
	m := sessionstore.New(st)
	m.Logger = slog.New(slog.DiscardHandler)
	return m
}

// timedOut adds to err that the command's own deadline ended it.
func timedOut(ctx context.Context, err error) error {
	if _, ok := errors.AsType[*storeurl.NoAnswerError](err); ok {
		return err // it says how long the server was given
	}
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && !strings.Contains(err.Error(), "-connect-timeout") {
		return fmt.Errorf("%w (%v)", err, context.Cause(ctx))
	}
	return err
}

// iterator returns st as an Iterator, or an error saying it cannot iterate.
func iterator(st *storeurl.Store, what string) (sessionstore.Iterator, error) {
	it, ok := st.Store.(sessionstore.Iterator)
	if !ok {
		return nil, fmt.Errorf("%s: %s cannot list its keys, so it cannot %s: %w",
			st.Shown, st.Backend, what, errors.ErrUnsupported)
	}
	return it, nil
}

func runCount(e *env, args []string) error {
	fs := e.flags()
	sessions := fs.Bool("sessions", false, "count only the records that are sessions (not the forwards of renewed ids or owners' indexes); reads every record")
	timeout := e.timeoutFlags(fs, defaultTimeout, "give up after this `duration`, connecting included")
	pos, err := e.parse(fs, args, `Counts through the store's Counter when it has one, else by iterating.
memcached can do neither.`)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one URL, got %s", pl(len(pos), "argument"))
	}
	if err := refuseMemory("count", pos[0]); err != nil {
		return err
	}
	ctx, cancel := e.withTimeout(*timeout)
	defer cancel()
	st, err := e.open(ctx, "store", pos[0], storeurl.Options{})
	if err != nil {
		return timedOut(ctx, err)
	}
	defer closeStore(st)
	var n int
	if *sessions {
		it, ierr := iterator(st, "count sessions")
		if ierr != nil {
			return ierr
		}
		err = walk(ctx, it, func(r row) bool {
			if r.Session {
				n++
			}
			return true
		})
	} else {
		if _, ok := st.Store.(sessionstore.Counter); !ok {
			if _, err := iterator(st, "count"); err != nil {
				return err
			}
		}
		n, err = sessionstore.Count(ctx, st.Store)
	}
	if err != nil {
		return timedOut(ctx, fmt.Errorf("%s: count: %w", st.Shown, err))
	}
	fmt.Fprintln(e.stdout, n)
	return nil
}

// row is one record as list prints it.
type row struct {
	Key     string    `json:"key"`
	Expiry  time.Time `json:"expiry"`
	Size    int       `json:"size"`
	Session bool      `json:"session"`
	Owner   string    `json:"owner,omitempty"`
	Created time.Time `json:"created,omitzero"`
}

// walk calls fn for each live record of it with what sessionstore.Inspect
// tells of it: whatever codec the application uses, a session's owner and
// creation time are in its header.
func walk(ctx context.Context, it sessionstore.Iterator, fn func(row) bool) error {
	return it.Iterate(ctx, func(key string, rec sessionstore.Record) bool {
		info := sessionstore.Inspect(rec)
		return fn(row{
			Key: key, Expiry: rec.Expiry, Size: len(rec.Data),
			Session: info.Kind == sessionstore.KindSession, Owner: info.Owner, Created: info.Created,
		})
	})
}

func runList(e *env, args []string) error {
	fs := e.flags()
	owner := fs.String("owner", "", "list the sessions of this `owner` (the user id the application gave Session.LogIn), by handle; works on every backend")
	limit := fs.Int("limit", 0, "print at most `n` records (0: all)")
	asJSON := fs.Bool("json", false, "print one JSON object a line instead of a table")
	timeout := e.timeoutFlags(fs, defaultTimeout, "give up after this `duration`, connecting included")
	pos, err := e.parse(fs, args, `Without -owner it walks every live record: a session (with its owner when
it has one), the forward a renewed id leaves for a few seconds, or an
owner's index. memcached cannot list its keys: use -owner there.`)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one URL, got %s", pl(len(pos), "argument"))
	}
	if err := refuseMemory("list", pos[0]); err != nil {
		return err
	}
	ctx, cancel := e.withTimeout(*timeout)
	defer cancel()
	st, err := e.open(ctx, "store", pos[0], storeurl.Options{})
	if err != nil {
		return timedOut(ctx, err)
	}
	defer closeStore(st)
	if *owner != "" {
		return timedOut(ctx, listOwner(ctx, e, st, *owner, *asJSON))
	}
	it, err := iterator(st, "list (list -owner works)")
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	enc := json.NewEncoder(e.stdout)
	if !*asJSON {
		fmt.Fprintln(tw, "KEY\tEXPIRES (UTC)\tSIZE\tKIND\tOWNER")
	}
	var n, sessions int
	err = walk(ctx, it, func(r row) bool {
		n++
		kind := "other"
		if r.Session {
			sessions++
			kind = "session"
		}
		if *asJSON {
			enc.Encode(r)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.Key, r.Expiry.UTC().Format(time.DateTime), r.Size, kind, dash(r.Owner))
		}
		return *limit <= 0 || n < *limit
	})
	tw.Flush()
	if err != nil {
		return timedOut(ctx, fmt.Errorf("%s: list: %w", st.Shown, err))
	}
	if !*asJSON {
		fmt.Fprintf(e.stdout, "%s: %s, %d other%s\n", pl(n, "record"), pl(sessions, "session"), n-sessions, limited(*limit, n))
	}
	return nil
}

func limited(limit, n int) string {
	if limit > 0 && n >= limit {
		return fmt.Sprintf(" (stopped at -limit %d)", limit)
	}
	return ""
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func listOwner(ctx context.Context, e *env, st *storeurl.Store, owner string, asJSON bool) error {
	list, err := manager(st.Store).SessionsOf(ctx, owner)
	if err != nil {
		return fmt.Errorf("%s: sessions of %q: %w", st.Shown, owner, err)
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		for _, s := range list {
			enc.Encode(struct {
				Handle  string            `json:"handle"`
				Created time.Time         `json:"created"`
				Expiry  time.Time         `json:"expiry"`
				Meta    map[string]string `json:"meta,omitempty"`
			}{s.Handle, s.Created, s.Expiry, s.Meta})
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HANDLE\tCREATED (UTC)\tEXPIRES (UTC)\tMETA")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Handle, s.Created.UTC().Format(time.DateTime),
			s.Expiry.UTC().Format(time.DateTime), meta(s.Meta))
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "%s of %s\n", pl(len(list), "session"), owner)
	return nil
}

func meta(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func runRevoke(e *env, args []string) error {
	fs := e.flags()
	all := fs.Bool("all", false, "delete every live record of the store: every session, of every user; asks first")
	yes := fs.Bool("yes", false, "with -all: do not ask (for scripts; without it, -all needs a terminal to ask on)")
	owner := fs.String("owner", "", "end the sessions of this `owner` (the user id given to Session.LogIn); works on every backend")
	handle := fs.String("handle", "", "with -owner: end only the session with this `handle` (see list -owner)")
	timeout := e.timeoutFlags(fs, defaultTimeout, "give up after this `duration`, connecting included (not counting the time -all waits for an answer)")
	pos, err := e.parse(fs, args, `Keys are store keys as list prints them (never hashed again). Ending a
session deletes its record: its next request starts a fresh, empty session.
Put -- before keys that start with a dash. Exits 1 when a key, an owner or
a handle names no live session (the others are still revoked).

-all counts the records it would delete and asks before deleting them (y/N)
when stdin is a terminal; elsewhere it refuses unless given -yes.`)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usagef("want a URL")
	case *all && (*owner != "" || len(pos) > 1):
		return usagef("-all takes a URL only, no keys and no -owner")
	case *owner != "" && len(pos) > 1:
		return usagef("-owner takes a URL only; use -handle for one session")
	case *handle != "" && *owner == "":
		return usagef("-handle needs -owner")
	case !*all && *owner == "" && len(pos) < 2:
		return usagef("want the keys to revoke after the URL, or -all, or -owner")
	case *yes && !*all:
		return usagef("-yes goes with -all only")
	case *all && !*yes && !e.stdinTerminal:
		return usagef("-all ends every session of the store and asks first, but stdin is not a terminal to ask on; add -yes to revoke them all without asking")
	}
	if err := refuseMemory("revoke", pos[0]); err != nil {
		return err
	}
	ctx, cancel := e.withTimeout(*timeout)
	defer cancel()
	st, err := e.open(ctx, "store", pos[0], storeurl.Options{})
	if err != nil {
		return timedOut(ctx, err)
	}
	defer closeStore(st)
	m := manager(st.Store)
	switch {
	case *all:
		err = e.revokeAll(ctx, st, !*yes, *timeout)
	case *handle != "":
		err = m.RevokeSession(ctx, *owner, *handle)
		if errors.Is(err, sessionstore.ErrUnknownHandle) {
			return failedError{fmt.Sprintf("%s has no live session with handle %s (list -owner %s shows the handles)", *owner, *handle, *owner)}
		}
		if err == nil {
			fmt.Fprintf(e.stdout, "revoked session %s of %s\n", *handle, *owner)
		}
	case *owner != "":
		var n int
		if n, err = m.RevokeAll(ctx, *owner, false); err == nil {
			if n == 0 {
				return failedError{fmt.Sprintf("no live session of owner %s", *owner)}
			}
			fmt.Fprintf(e.stdout, "revoked %s of %s\n", pl(n, "session"), *owner)
		}
	default:
		err = revokeKeys(ctx, e.stdout, st.Store, m, pos[1:])
	}
	if f, ok := errors.AsType[failedError](err); ok {
		return f
	}
	if err != nil {
		return timedOut(ctx, fmt.Errorf("%s: revoke: %w", st.Shown, err))
	}
	return nil
}

// revokeKeys ends the session under each key, and fails naming the keys
// under which it found none, after ending the others.
func revokeKeys(ctx context.Context, w io.Writer, st sessionstore.Store, m *sessionstore.Manager, keys []string) error {
	var missing []string
	for _, k := range keys {
		// Revoke reports nothing of a missing key; the operator wants to know.
		_, found, err := st.Load(ctx, k)
		if err != nil {
			return err
		}
		if !found {
			missing = append(missing, k)
			continue
		}
		if err := m.Revoke(ctx, k); err != nil {
			return err
		}
	}
	if n := len(keys) - len(missing); n > 0 || len(missing) == 0 {
		fmt.Fprintf(w, "revoked %s\n", pl(n, "session"))
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return failedError{fmt.Sprintf("no session with key %s (list shows the keys)", missing[0])}
	}
	return failedError{fmt.Sprintf("no session with keys %s (list shows the keys)", strings.Join(missing, ", "))}
}

// revokeAll deletes every record the walk finds, after asking when ask is
// set. The keys are gathered first: whether a store may be written during
// its walk is up to it, and the question says how many there are.
func (e *env) revokeAll(ctx context.Context, st *storeurl.Store, ask bool, timeout time.Duration) error {
	it, err := iterator(st, "revoke -all (revoke -owner works)")
	if err != nil {
		return err
	}
	var keys []string
	sessions := 0
	err = walk(ctx, it, func(r row) bool {
		keys = append(keys, r.Key)
		if r.Session {
			sessions++
		}
		return true
	})
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		fmt.Fprintln(e.stdout, "no records to revoke")
		return nil
	}
	if ask {
		fmt.Fprintf(e.stderr, "This ends %s (%s, of every user) in %s. Revoke them all? [y/N] ",
			pl(sessions, "session"), pl(len(keys), "record"), st.Shown)
		answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return failedError{"nothing revoked"}
		}
		// The time the operator took to answer is not the server's: the
		// deletions get -timeout of their own.
		var cancel context.CancelFunc
		ctx, cancel = e.withTimeout(timeout)
		defer cancel()
	}
	for _, k := range keys {
		if err := st.Delete(ctx, k); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "revoked all %s (%s)\n", pl(len(keys), "record"), pl(sessions, "session"))
	return nil
}
