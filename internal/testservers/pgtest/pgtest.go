// Package pgtest provides a real PostgreSQL server for tests: a container shared by the test
// binary, or the server SESSIONSTORE_POSTGRES_URL points at.
//
// The image is SESSIONSTORE_POSTGRES_IMAGE, else the official postgres:17. Tests share the
// server and isolate themselves by table name. The package's tests must run through
// testservers.Main (see package testservers).
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionstore/sessionstore/internal/testservers"
)

// URLEnv names the variable holding the connection string of an existing server to test
// against instead of a container: postgres://user:password@host:5432/db?sslmode=disable.
const URLEnv = "SESSIONSTORE_POSTGRES_URL"

// spec runs PostgreSQL the same way from the official image and from the one
// scripts/build-images makes (which ignores the password and trusts every client).
var spec = &testservers.Spec{
	Name:         "postgres",
	ImageEnv:     "SESSIONSTORE_POSTGRES_IMAGE",
	DefaultImage: "postgres:17",
	URLEnv:       URLEnv,
	Port:         "5432/tcp",
	// Durability is not under test; fsync=off makes every write a few times faster.
	Cmd:        []string{"postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"},
	Env:        map[string]string{"POSTGRES_PASSWORD": "postgres"},
	WaitLog:    "database system is ready to accept connections",
	StopSignal: "SIGINT", // fast shutdown: SIGTERM would wait for every pooled client to leave
	Ping:       ping,
}

// connString is the URL of the container's server.
func connString(addr string) string {
	return "postgres://postgres:postgres@" + addr + "/postgres?sslmode=disable"
}

func ping(ctx context.Context, addr string) error {
	conn, err := pgx.Connect(ctx, connString(addr))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// New returns a pool connected to a ready PostgreSQL server, and that server. The pool is
// the test's own and closes when the test ends; the server is shared by the test binary
// unless testservers.Dedicated is given.
func New(t testing.TB, opts ...testservers.Option) (*pgxpool.Pool, *testservers.Server) {
	t.Helper()
	url, srv := os.Getenv(URLEnv), (*testservers.Server)(nil)
	if url == "" {
		srv = testservers.Start(t, spec, opts...)
		url = connString(srv.Addr)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", URLEnv, err)
	}
	if srv == nil {
		srv = testservers.External(net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: %v", fmt.Errorf("connect to %s: %w", srv.Addr, err))
	}
	t.Cleanup(pool.Close)
	return pool, srv
}
