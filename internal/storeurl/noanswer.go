package storeurl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// NoAnswerError is the error of a server that accepted the connection but
// did not answer in the backend's protocol: most often the port of another
// server (a postgres:// URL naming Redis's port), else a server that hangs.
// Without it the drivers that wait for a greeting (PostgreSQL's, MySQL's,
// MongoDB's) wait until the context ends and say only "context deadline
// exceeded".
type NoAnswerError struct {
	// Addr is the host:port that accepted the connection.
	Addr string
	// Want names the server expected: "PostgreSQL", "Redis", ...
	Want string
	// Within is how long the server was given, when it ran out of time; 0
	// when it answered something the driver could not read.
	Within time.Duration
	// Err is the driver's error.
	Err error
}

func (e *NoAnswerError) Error() string {
	if e.Within > 0 {
		return fmt.Sprintf("%s accepted the connection but did not answer as %s within %v", e.Addr, e.Want, e.Within)
	}
	return fmt.Sprintf("%s accepted the connection but did not answer as %s (%s)", e.Addr, e.Want, clip(OneLine(e.Err), 80))
}

func (e *NoAnswerError) Unwrap() error { return e.Err }

// hint is what to try about e.
func (e *NoAnswerError) hint() string {
	return fmt.Sprintf("is host:port right? %s listens on %s by default; another server's port, or a server that hangs, answers like this",
		e.Want, defaultPorts[e.Want])
}

// The names and default ports of the servers each scheme expects.
var (
	serverNames = map[string]string{
		"redis": "Redis", "rediss": "Redis", "redis+cluster": "Redis Cluster",
		"postgres": "PostgreSQL", "postgresql": "PostgreSQL", "mysql": "MySQL",
		"mongodb": "MongoDB", "mongodb+srv": "MongoDB", "memcache": "memcached",
	}
	defaultPorts = map[string]string{
		"Redis": "6379", "Redis Cluster": "6379", "PostgreSQL": "5432", "MySQL": "3306",
		"MongoDB": "27017", "memcached": "11211",
	}
)

// noAnswer returns err as a *NoAnswerError when it is a timeout or a reply
// the driver could not read, and a plain TCP connection to one of the URL's
// hosts succeeds: the server is there but does not speak the protocol.
// It returns nil for every other error (refused, unknown host, a password
// the server refused, a missing table).
func (op opener) noAnswer(err error) *NoAnswerError {
	if err == nil || op.u.Scheme == "mongodb+srv" {
		return nil
	}
	if _, ok := errors.AsType[*NoAnswerError](err); ok {
		return nil
	}
	timeout := isTimeout(err)
	if !timeout && !unreadable(err) {
		return nil
	}
	want := serverNames[op.u.Scheme]
	for h := range strings.SplitSeq(op.u.Host, ",") {
		if _, port, _ := net.SplitHostPort(h); port == "" {
			h = net.JoinHostPort(hostname(h), defaultPorts[want])
		}
		c, derr := net.DialTimeout("tcp", h, time.Second)
		if derr != nil {
			continue
		}
		c.Close()
		na := &NoAnswerError{Addr: h, Want: want, Err: err}
		if timeout {
			// The context's whole budget when it ran out (not the few
			// milliseconds more it took to say so), else what the
			// driver's own timeout allowed.
			took := time.Since(op.start)
			if op.budget > 0 && took >= op.budget {
				took = op.budget
			}
			na.Within = max(took.Round(100*time.Millisecond), 100*time.Millisecond)
		}
		return na
	}
	return nil
}

// isTimeout reports whether err is the end of a wait: the context's
// deadline or a socket's.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return true
	}
	return strings.Contains(err.Error(), "i/o timeout")
}

// unreadable reports whether err says the driver could not read what the
// server sent (a reply of another protocol), and not that the server
// refused something in its own protocol (a password, a database).
func unreadable(err error) bool {
	if _, ok := errors.AsType[*pgconn.PgError](err); ok {
		return false
	}
	if _, ok := errors.AsType[*gomysql.MySQLError](err); ok {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"can't parse", "invalid reply", "unexpected response", "received unexpected message",
		"incomplete read", "cannot decode", "malformed", "unexpected EOF", "connection reset by peer"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// clip cuts s to n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
