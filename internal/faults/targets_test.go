package faults_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
	"github.com/sessionstore/sessionstore/internal/testservers/mongotest"
	"github.com/sessionstore/sessionstore/internal/testservers/mysqltest"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
	"github.com/sessionstore/sessionstore/memcache"
	"github.com/sessionstore/sessionstore/mongo"
	"github.com/sessionstore/sessionstore/mysql"
	"github.com/sessionstore/sessionstore/postgres"
	"github.com/sessionstore/sessionstore/redis"
)

// target is one backend whose driver the test builds itself, so that it can
// dial the server through a link.
type target struct {
	name string

	// server starts (or finds) the backend's server and returns its
	// address, and a function counting the server-side connections of the
	// clients named name (ok false when the server cannot tell).
	server func(t testing.TB) (addr string, conns func(ctx context.Context, name string) (n int, ok bool, err error))

	// open returns a store over a new driver client of addr, named name
	// where the server records client names, its keys, table or database
	// named after name too (two opens with one name share sessions), with
	// at most pool
	// connections; closing it closes the store and the client. When dial
	// is not nil, the client makes its connections with it.
	open func(t testing.TB, addr string, dial dialFunc, name string, pool int) (st sessionstore.Store, close func())
}

// dialFunc makes a driver's connections.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// DialContext makes a dialFunc a mongo options.ContextDialer.
func (d dialFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d(ctx, network, addr)
}

// unique returns a name no other test of this run uses.
func unique(base string) string { return base + "_" + strings.ToLower(rand.Text()[:10]) }

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// targets are the backends with a network link: every one but memory.
func targets() []target {
	return []target{redisTarget, postgresTarget, memcacheTarget, mongoTarget, mysqlTarget}
}

var redisTarget = target{
	name: "redis",
	server: func(t testing.TB) (string, func(context.Context, string) (int, bool, error)) {
		direct, srv := redistest.New(t)
		return srv.Addr, func(ctx context.Context, name string) (int, bool, error) {
			list, err := direct.ClientList(ctx).Result()
			return strings.Count(list, " name="+name+" "), true, err
		}
	},
	open: func(t testing.TB, addr string, dial dialFunc, name string, pool int) (sessionstore.Store, func()) {
		c := goredis.NewClient(&goredis.Options{
			Addr: addr, ClientName: name, PoolSize: pool,
			// As redistest does: without it go-redis ignores the
			// context's deadline on the socket.
			ContextTimeoutEnabled: true,
			Dialer:                dial,
		})
		st, err := redis.New(c, redis.Options{Prefix: name + ":"})
		must(t, "redis.New", err)
		return st, func() { st.Close(); c.Close() }
	},
}

var postgresTarget = target{
	name: "postgres",
	server: func(t testing.TB) (string, func(context.Context, string) (int, bool, error)) {
		direct, srv := pgtest.New(t)
		return srv.Addr, func(ctx context.Context, name string) (int, bool, error) {
			var n int
			err := direct.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, name).Scan(&n)
			return n, true, err
		}
	},
	open: func(t testing.TB, addr string, dial dialFunc, name string, pool int) (sessionstore.Store, func()) {
		cfg, err := pgxpool.ParseConfig("postgres://postgres:postgres@" + addr + "/postgres?sslmode=disable&application_name=" + name)
		must(t, "pgxpool.ParseConfig", err)
		cfg.MaxConns = int32(pool)
		if dial != nil {
			cfg.ConnConfig.DialFunc = pgconn.DialFunc(dial)
		}
		p, err := pgxpool.NewWithConfig(context.Background(), cfg)
		must(t, "pgxpool.NewWithConfig", err)
		table := name
		st, err := postgres.New(p, postgres.Options{Table: table, CleanupInterval: -1})
		must(t, "postgres.New", err)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		must(t, "CreateTable", st.CreateTable(ctx))
		return st, func() {
			st.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p.Exec(ctx, "DROP TABLE IF EXISTS "+table) // the link is healed by now
			p.Close()
		}
	},
}

var memcacheTarget = target{
	name: "memcache",
	server: func(t testing.TB) (string, func(context.Context, string) (int, bool, error)) {
		_, srv := memcachetest.New(t)
		// memcached names no clients: count all of its connections, less
		// the one asking. Only this test uses this package's server.
		return srv.Addr, func(ctx context.Context, _ string) (int, bool, error) {
			n, err := memcachedConns(ctx, srv.Addr)
			return n - 1, true, err
		}
	},
	open: func(t testing.TB, addr string, dial dialFunc, name string, pool int) (sessionstore.Store, func()) {
		c := gomemcache.New(addr)
		c.MaxIdleConns = pool
		c.DialContext = dial
		st, err := memcache.New(c, memcache.Options{Prefix: name + ":"})
		must(t, "memcache.New", err)
		return st, func() { st.Close(); c.Close() }
	},
}

// memcachedConns returns memcached's curr_connections.
func memcachedConns(ctx context.Context, addr string) (int, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte("stats\r\n")); err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(conn)
	n := -1
	for sc.Scan() {
		line := sc.Text()
		if line == "END" {
			break
		}
		if v, ok := strings.CutPrefix(line, "STAT curr_connections "); ok {
			n, _ = strconv.Atoi(v)
		}
	}
	return n, sc.Err()
}

var mongoTarget = target{
	name: "mongo",
	server: func(t testing.TB) (string, func(context.Context, string) (int, bool, error)) {
		db, srv := mongotest.New(t)
		// The driver connects lazily: connect now, so that its goroutines
		// exist before the test counts them.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		must(t, "mongo ping", db.Client().Ping(ctx, nil))
		return srv.Addr, func(context.Context, string) (int, bool, error) { return 0, false, nil }
	},
	open: func(t testing.TB, addr string, dial dialFunc, name string, pool int) (sessionstore.Store, func()) {
		o := options.Client().
			ApplyURI("mongodb://" + addr + "/?directConnection=true").
			SetAppName(name).SetMaxPoolSize(uint64(pool))
		if dial != nil {
			o.SetDialer(dial)
		}
		c, err := mongodrv.Connect(o)
		must(t, "mongo.Connect", err)
		db := c.Database(name)
		st, err := mongo.New(db, mongo.Options{
			Collection: "sessions",
			Logger:     slog.New(slog.DiscardHandler), // FerretDB has no TTL index: the store says so
		})
		must(t, "mongo.New", err)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		must(t, "EnsureIndexes", st.EnsureIndexes(ctx))
		return st, func() {
			st.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			db.Drop(ctx)
			c.Disconnect(ctx)
		}
	},
}

var mysqlTarget = target{
	name: "mysql",
	server: func(t testing.TB) (string, func(context.Context, string) (int, bool, error)) {
		direct, srv := mysqltest.New(t)
		// Connect now, so that the connection's goroutine (the driver's
		// watcher) exists before the test counts them; later counts reuse it.
		direct.SetMaxOpenConns(1)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		must(t, "mysql ping", direct.PingContext(ctx))
		// Each open's connections use a database named after it.
		return srv.Addr, func(ctx context.Context, name string) (int, bool, error) {
			var n int
			err := direct.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ?`, name).Scan(&n)
			return n, true, err
		}
	},
	open: func(t testing.TB, addr string, dial dialFunc, name string, pool int) (sessionstore.Store, func()) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cfg := mysqltest.AddrConfig(addr)
		if dial != nil {
			cfg.DialFunc = dial
		}
		// The database must exist before a connection can name it.
		setup := openMySQL(t, cfg, 1)
		_, err := setup.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"`")
		setup.Close()
		must(t, "CREATE DATABASE", err)
		cfg.DBName = name
		db := openMySQL(t, cfg, pool)
		st, err := mysql.New(db, mysql.Options{CleanupInterval: -1})
		must(t, "mysql.New", err)
		must(t, "CreateTable", st.CreateTable(ctx))
		return st, func() {
			st.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`") // the link is healed by now
			db.Close()
		}
	},
}

// openMySQL returns a *sql.DB of cfg keeping up to pool connections, as an
// application configures its pool.
func openMySQL(t testing.TB, cfg *gomysql.Config, pool int) *sql.DB {
	connector, err := gomysql.NewConnector(cfg)
	must(t, "mysql.NewConnector", err)
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(pool)
	db.SetMaxIdleConns(pool)
	return db
}
