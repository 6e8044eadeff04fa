package storeurl

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// Hint returns what to try about err, an error of Open or of a call on the
// store it opened, as a short sentence; "" when it knows nothing useful.
func Hint(err error) string {
	if err == nil {
		return ""
	}
	var fe *FormError
	if errors.As(err, &fe) {
		return "see the accepted forms with -h"
	}
	if na, ok := errors.AsType[*NoAnswerError](err); ok {
		return na.hint()
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pe.Code {
		case "28P01", "28000":
			return "check the user name and password in the URL"
		case "3D000":
			return "check the database name in the URL"
		case "42P01":
			return "check the table name (?table=...) or create the table first (copy creates it)"
		case "3F000":
			return "check the schema of the table (?table=schema.table)"
		case "42501":
			return "the user lacks a privilege on the table; grant it or use another user"
		}
	}
	if me, ok := errors.AsType[*gomysql.MySQLError](err); ok {
		switch me.Number {
		case 1045: // ER_ACCESS_DENIED_ERROR
			return "check the user name and password in the URL"
		case 1049: // ER_BAD_DB_ERROR
			return "check the database name in the URL"
		case 1146: // ER_NO_SUCH_TABLE
			return "check the table name (?table=...) or create the table first (copy creates it)"
		case 1142, 1044: // ER_TABLEACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR
			return "the user lacks a privilege on the table; grant it or use another user"
		}
	}
	msg := err.Error()
	for _, c := range []struct{ substr, hint string }{
		{"WRONGPASS", "check the user name and password in the URL"},
		{"NOAUTH", "the server needs a password: put it in the URL (redis://:password@host:port)"},
		{"AuthenticationFailed", "check the user name and password in the URL"},
		{"auth error", "check the user name and password in the URL"},
		{"SASL auth", "check the user name and password in the URL"},
		{"password authentication failed", "check the user name and password in the URL"},
		{"tls:", "check whether the server speaks TLS (rediss://, ?sslmode=, ?tls=)"},
		{"x509:", "the server's certificate is not trusted here"},
		{"cluster support disabled", "the server is not a cluster node: use redis://"},
		{"MOVED", "the server is a cluster node: use redis+cluster://"},
		{"unable to open database file", "check the SQLite path: its directory must exist and be writable"},
		{"no such table", "check the table name (?table=...) or create the table first (copy creates it)"},
	} {
		if strings.Contains(msg, c.substr) {
			return c.hint
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		return "check the path; the file must exist (the demo and copy create it)"
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return "check the host name in the URL"
	}
	switch {
	case strings.Contains(msg, "connection refused"), strings.Contains(msg, "no reachable servers"),
		strings.Contains(msg, "server selection"):
		return "is the server running, and is host:port right?"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "timeout"):
		return "the server did not answer in time: check host:port and firewalls, or raise -timeout"
	case errors.Is(err, errors.ErrUnsupported):
		return ""
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "is the server running, and is host:port right?"
	}
	return ""
}
