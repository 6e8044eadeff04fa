// Package mysqltest provides a real MariaDB (or MySQL) server for tests: a container shared by
// the test binary, or the server SESSIONSTORE_MARIADB_DSN points at.
//
// The image is SESSIONSTORE_MARIADB_IMAGE, else the official mariadb:11; mysql:8 works as an
// override too, and so does the sessionstore/mariadb:10.11-debian image scripts/build-images
// makes from Debian's mariadb-server where no registry answers. Tests share the server and
// isolate themselves by table name, in the database "sessionstore". The package's tests must
// run through testservers.Main (see package testservers).
package mysqltest

import (
	"context"
	"database/sql"
	"os"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessionstore/sessionstore/internal/testservers"
)

// DSNEnv names the variable holding the DSN (in github.com/go-sql-driver/mysql's form) of an
// existing server to test against instead of a container: user:password@tcp(host:3306)/db.
// The user needs CREATE, DROP and PROCESS on the database.
const DSNEnv = "SESSIONSTORE_MARIADB_DSN"

// The root password and database the container is started with.
const (
	Password = "sessionstore"
	Database = "sessionstore"
)

// spec runs MariaDB the same way from the official mariadb and mysql images and from the
// one scripts/build-images makes: the command is options alone, which each image's
// entrypoint hands to its server (mariadbd or mysqld), and the environment names the root
// password and database the way both official images read it.
var spec = &testservers.Spec{
	Name:         "mariadb",
	ImageEnv:     "SESSIONSTORE_MARIADB_IMAGE",
	DefaultImage: "mariadb:11",
	URLEnv:       DSNEnv,
	Port:         "3306/tcp",
	// Durability is not under test: no flush at each commit, no binary log. Parallel tests
	// of one binary share the server, each with a pool of its own (see OpenDB): the default
	// of 151 connections is too few.
	Cmd: []string{"--innodb-flush-log-at-trx-commit=0", "--skip-log-bin", "--max-connections=1000"},
	Env: map[string]string{
		"MARIADB_ROOT_PASSWORD": Password, "MARIADB_DATABASE": Database,
		"MYSQL_ROOT_PASSWORD": Password, "MYSQL_DATABASE": Database,
	},
	// No WaitLog: the official images print "ready for connections" for a setup server
	// that listens on no port first. Ping through the published port is the true signal.
	Ping: ping,
}

// AddrConfig returns the driver configuration of a server of this package's container at
// addr: its root user and password, and the database Database. A test that dials the server
// through a proxy of its own, or from a process of its own, uses it with the proxy's
// address.
func AddrConfig(addr string) *gomysql.Config { return config(addr) }

// config is the driver configuration of the container's server at addr.
func config(addr string) *gomysql.Config {
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Passwd = "root", Password
	cfg.Net, cfg.Addr = "tcp", addr
	cfg.DBName = Database
	return cfg
}

func ping(ctx context.Context, addr string) error {
	connector, err := gomysql.NewConnector(config(addr))
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	return db.PingContext(ctx)
}

// Config returns the driver configuration of a ready server, and that server: the shared one
// unless testservers.Dedicated is given. Change it (a dial function, a setting of the DSN)
// and open it with OpenDB, or use New.
func Config(t testing.TB, opts ...testservers.Option) (*gomysql.Config, *testservers.Server) {
	t.Helper()
	if dsn := os.Getenv(DSNEnv); dsn != "" {
		cfg, err := gomysql.ParseDSN(dsn)
		if err != nil {
			t.Fatalf("mysqltest: %s: %v", DSNEnv, err)
		}
		return cfg, testservers.External(cfg.Addr)
	}
	srv := testservers.Start(t, spec, opts...)
	return config(srv.Addr), srv
}

// MaxConns is the most connections a *sql.DB of OpenDB opens, all of them kept idle once
// opened: database/sql's defaults (no limit, 2 idle) would let a burst of racing calls
// exhaust the server's connections and then close all but two, each new connection
// preparing the store's statements again. An application configures its own the same way.
const MaxConns = 32

// OpenDB returns a *sql.DB over cfg with at most MaxConns connections, closed when the test
// ends.
func OpenDB(t testing.TB, cfg *gomysql.Config) *sql.DB {
	t.Helper()
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		t.Fatalf("mysqltest: %v", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(MaxConns)
	db.SetMaxIdleConns(MaxConns)
	t.Cleanup(func() { db.Close() })
	return db
}

// New returns a *sql.DB connected to a ready server, and that server. The *sql.DB is the
// test's own and closes when the test ends; the server is shared by the test binary unless
// testservers.Dedicated is given.
func New(t testing.TB, opts ...testservers.Option) (*sql.DB, *testservers.Server) {
	t.Helper()
	cfg, srv := Config(t, opts...)
	return OpenDB(t, cfg), srv
}
