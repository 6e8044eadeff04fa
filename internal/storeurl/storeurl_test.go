package storeurl

import (
	"fmt"

	"context"
	"errors"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"strings"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore/internal/testservers"
)

// TestOpenRejectsBadValues needs no server: each value fails before
// anything is dialled, with a FormError giving the reason and a hint, and
// never shows a password.
func TestOpenRejectsBadValues(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"", "unknown store"},
		{"sqlite", "unknown store"},
		{"Memory", "unknown store"},
		{"sqlite://x", "sqlite:// takes no host"},
		{"sqlite:", "missing path"},
		{"sqlite:x.db?table=", "empty table parameter"},
		{"sqlite:x.db?mode=ro", "sqlite: takes only ?table="},
		{"sqlite:x.db?table=Sessions", "upper-case letters"},
		{"http://localhost:6379", `unknown scheme "http"`},
		{"redis://h:port", `-store: not a valid URL (invalid port ":port" after host)`},
		{"redis://u:secret@h:port", "not a valid URL"},
		{"redis://", "missing host"},
		{"rediss://:6379/0", "missing host"},
		{"redis://u:secret@/0", "-store redis://u:xxxxx@/0: missing host"},
		{"redis://h:6379/x", `invalid database number: "x"`},
		{"redis://h:6379/0?bogus=1", "unexpected option: bogus"},
		{"redis://a:6379,b:6379", "one host only; use redis+cluster://"},
		{"redis+cluster://", "missing host"},
		{"redis+cluster://a,b:7000", `"a" is not host:port`},
		{"redis+cluster://a:7000,b", `not a valid URL (invalid port ":7000,b" after host)`},
		{"redis+cluster://a:7000/1", "redis+cluster:// takes no path or query"},
		{"postgres:///db", "missing host"},
		{"postgresql://u:secret@h:99999999/db", "invalid port"},
		{"postgres://h/db?sslmode=bogus", "sslmode is invalid"},
		{"mongodb://", "missing host"},
		{"mongodb+srv://h:27017", "srv must not include a port"},
		{"mongodb://h/a/b", `"a/b" is not a database name`},
		{"mongodb://h/?authMechanism=BOGUS", "invalid auth mechanism"},
		{"memcache://", "missing host"},
		{"memcache://h", `"h" is not host:port`},
		{"memcache://,h:11211", "missing host"},
		{"memcache://h:11211/x", "memcache:// takes no path or query"},
		{"memcache://u:secret@h:11211", "memcache:// takes no user name or password"},
		{"redis://h:6379/0?prefix=", "empty prefix parameter"},
		{"postgres://h/db?table=", "empty table parameter"},
		{"memcache://h:11211?prefix=a&b=c", "memcache:// takes no path or query"},
		{"postgres://h/db?table=a.b.c&sslmode=disable", "more than one dot"},
		{"mysql:///db", "missing host"},
		{"mysql://u:secret@h:3306", "want mysql://user:password@host:port/database"},
		{"mysql://h/a/b", "want mysql://user:password@host:port/database"},
		{"mysql://h/db?table=", "empty table parameter"},
		{"mysql://h/db?table=a.b.c", "more than one dot"},
		{"mysql://u:secret@h/db?timeout=soon", "invalid duration"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			st, err := Open(ctx, tc.arg, Options{Label: "-store"})
			if err == nil {
				st.Close(ctx)
				t.Fatalf("opened %T, want an error", st.Store)
			}
			if _, ok := errors.AsType[*FormError](err); !ok {
				t.Errorf("error %q is a %T, want a *FormError", err, err)
			}
			if Hint(err) == "" {
				t.Errorf("error %q has no hint", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("error %q shows the password", msg)
			}
		})
	}
}

// TestOpenFailsAtOnceWithoutServer points each backend at a port nobody
// listens on: Open must fail within its context, naming the store and
// saying what to try, rather than return a store that fails at the first
// request.
func TestOpenFailsAtOnceWithoutServer(t *testing.T) {
	addr := testservers.ClosedAddr(t)
	for _, arg := range []string{
		"redis://" + addr + "/0",
		"redis+cluster://" + addr,
		"postgres://u:secret@" + addr + "/db",
		"mysql://u:secret@" + addr + "/db",
		"mongodb://" + addr + "/db",
		"memcache://" + addr,
	} {
		t.Run(arg, func(t *testing.T) {
			t.Parallel()
			const limit = 2 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), limit)
			defer cancel()
			start := time.Now()
			_, err := Open(ctx, arg, Options{Label: "-store"})
			if took := time.Since(start); took > limit+time.Second {
				t.Errorf("openStore took %v with a %v context", took, limit)
			}
			if err == nil {
				t.Fatal("opened a store with no server behind it")
			}
			if want := "-store " + Shown(arg) + ": ping: "; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
			if h := Hint(err); h == "" {
				t.Errorf("error %q has no hint", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// TestHint checks the hints of errors the servers here cannot produce.
func TestHint(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&pgconn.PgError{Code: "28P01"}, "check the user name and password"},
		{errors.New("WRONGPASS invalid username-password pair"), "check the user name and password"},
		{errors.New("NOAUTH Authentication required."), "put it in the URL"},
		{errors.New("connection() error occurred during connection handshake: auth error: sasl conversation error"), "check the user name and password"},
		{&pgconn.PgError{Code: "42P01"}, "check the table name"},
		{&gomysql.MySQLError{Number: 1045}, "check the user name and password"},
		{&gomysql.MySQLError{Number: 1049}, "check the database name"},
		{&gomysql.MySQLError{Number: 1146}, "check the table name"},
		{context.DeadlineExceeded, "raise -timeout"},
	} {
		if got := Hint(fmt.Errorf("wrapped: %w", tc.err)); !strings.Contains(got, tc.want) {
			t.Errorf("Hint(%v) = %q; want %q", tc.err, got, tc.want)
		}
	}
}
