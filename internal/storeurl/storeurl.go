// Package storeurl opens a sessionstore.Store from a URL, for the programs of
// this module: the demo's -store flag and the sessionstore command. It parses
// and checks the URL before anything is dialled, pings the servers so that a
// wrong address fails at once, and reports each failure as one line that
// names the store (its password redacted), the step that failed and, through
// [Hint], what to try.
package storeurl

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	mongodriver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memcache"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/mongo"
	"github.com/sessionstore/sessionstore/mysql"
	"github.com/sessionstore/sessionstore/postgres"
	"github.com/sessionstore/sessionstore/redis"
	"github.com/sessionstore/sessionstore/sqlite"
)

// Forms lists the accepted URLs, one a line, for usage texts and for the
// error a bad URL gets.
const Forms = `memory                                                    in this process (the default)
redis://[user:password@]host:port[/db]                    one Redis server; rediss:// for TLS
redis+cluster://[user:password@]host:port[,host:port...]  Redis Cluster, found from these nodes
postgres://[user:password@]host:port/database             PostgreSQL (or postgresql://); creates table "sessions"
mysql://[user:password@]host[:port]/database              MySQL or MariaDB; creates table "sessions"; driver parameters as in its DSN
mongodb://[user:password@]host:port[/database]            MongoDB (or mongodb+srv://); database "sessionstore" unless named
memcache://host:port[,host:port...]                       memcached, keys spread over the servers
sqlite:PATH                                               an SQLite database file (created if missing); sqlite:///ABSOLUTE/PATH too`

// Params lists the query parameters that name where in the server the
// sessions are, for a store an application configured away from the
// backend's default. They are taken off the URL before the driver sees it.
const Params = `?prefix=P       redis, redis+cluster, memcache: the key prefix (default "session:")
?table=T        postgres: the table, optionally schema.table (default "sessions")
?table=T        mysql: the table, optionally database.table (default "sessions")
?table=T        sqlite: the table (default "sessions")
?collection=C   mongodb: the collection (default "sessions")`

// DefaultMongoDatabase is the database of a mongodb:// URL naming none.
const DefaultMongoDatabase = "sessionstore"

// Backend names, as Store.Backend reports them.
const (
	Memory       = "memory"
	Redis        = "redis"
	RedisCluster = "redis-cluster"
	Postgres     = "postgres"
	MySQL        = "mysql"
	Mongo        = "mongo"
	Memcache     = "memcache"
	SQLite       = "sqlite"
)

// Options change how Open opens a store.
type Options struct {
	// Label names the store in errors ("-store" in the demo).
	// Optional. Default is "store".
	Label string

	// Namespace, when set, overrides the URL's prefix, table or collection
	// parameter: the key prefix of redis and memcache, the table of
	// postgres, the collection of mongodb.
	// Optional. Default is the URL's parameter, else the backend's default.
	Namespace string

	// Prepare creates what the store needs when it is missing: the
	// PostgreSQL or MySQL table, the MongoDB indexes. Without it a missing
	// PostgreSQL or MySQL table fails Open.
	// Optional. Default false.
	Prepare bool

	// NoPing skips the check that the servers answer, for a store that is
	// meant to point at nothing (the conformance suite's unreachable store).
	// It also skips Prepare.
	// Optional. Default false.
	NoPing bool

	// Logger receives the background notices of the postgres and mongo
	// stores. Optional. Default is the backends' default, slog.Default().
	Logger *slog.Logger
}

// Store is an opened store with what its URL said about it.
type Store struct {
	sessionstore.Store

	// Backend is one of Memory, Redis, RedisCluster, Postgres, Mongo,
	// Memcache and SQLite.
	Backend string
	// Shown is the URL as it may be printed: its password redacted.
	Shown string
	// Namespace is the key prefix, table or collection in use; "" for memory.
	Namespace string
	// MaxDataSize is the store's maximum data size with the options Open
	// gave it.
	MaxDataSize int

	close func(ctx context.Context) error
	drop  func(ctx context.Context) error
}

// Close closes the store, then the clients Open made for it.
func (s *Store) Close(ctx context.Context) error { return s.close(ctx) }

// Drop removes the namespace and everything in it: the table, the
// collection, every key under the prefix (on every master of a cluster). It
// fails with an error wrapping errors.ErrUnsupported on memcached, which
// cannot list its keys: delete what you wrote instead.
func (s *Store) Drop(ctx context.Context) error {
	if s.drop == nil {
		return fmt.Errorf("%s: drop %s: %w", s.Shown, s.Namespace, errors.ErrUnsupported)
	}
	return s.drop(ctx)
}

// FormError is the error of a URL of the wrong form, found before anything
// is dialled.
type FormError struct {
	Label  string
	Shown  string // the URL, its password redacted; "" when it does not parse
	Reason string
}

func (e *FormError) Error() string {
	what := e.Label
	if e.Shown != "" {
		what += " " + e.Shown
	}
	return what + ": " + e.Reason
}

// ConnectError is the error of a store whose server could not be reached,
// logged into or prepared.
type ConnectError struct {
	Label string
	Shown string
	Op    string // ping, connect, create table, ...
	Err   error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.Label, e.Shown, e.Op, OneLine(e.Err))
}

func (e *ConnectError) Unwrap() error { return e.Err }

// OneLine returns err's message on one line: pgx lists each address it tried
// on a line of its own.
func OneLine(err error) string {
	return strings.NewReplacer(":\n\t", ": ", "\n\t", "; ", "\n", "; ").Replace(err.Error())
}

// Open opens the store that arg names, checks that its servers answer and,
// with Prepare, creates what it needs, all within ctx. Close the store when
// done with it.
func Open(ctx context.Context, arg string, o Options) (*Store, error) {
	o.Label = cmp.Or(o.Label, "store")
	if arg == "memory" {
		st := memory.New(memory.Options{})
		return &Store{Store: st, Backend: Memory, Shown: Shown(arg),
			close: func(context.Context) error { return st.Close() },
			drop:  func(context.Context) error { return nil }}, nil
	}
	if rest, ok := strings.CutPrefix(arg, "sqlite:"); ok {
		return openSQLite(ctx, arg, rest, o)
	}
	u, ns, err := parse(arg, o.Label)
	if err != nil {
		return nil, err
	}
	o.Namespace = cmp.Or(o.Namespace, ns)
	op := opener{u: u, o: o, start: time.Now()}
	if dl, ok := ctx.Deadline(); ok {
		op.budget = time.Until(dl)
	}
	switch u.Scheme {
	case "redis", "rediss":
		return op.redis(ctx)
	case "redis+cluster":
		return op.redisCluster(ctx)
	case "postgres", "postgresql":
		return op.postgres(ctx)
	case "mysql":
		return op.mysql(ctx)
	case "mongodb", "mongodb+srv":
		return op.mongo(ctx)
	default: // memcache, the one scheme parse leaves
		return op.memcache(ctx)
	}
}

// Shown returns arg as it may be printed: without its password.
func Shown(arg string) string {
	if u, err := url.Parse(arg); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return arg
}

// namespaceParam is the query parameter naming the namespace of each scheme.
var namespaceParam = map[string]string{
	"redis": "prefix", "rediss": "prefix", "redis+cluster": "prefix", "memcache": "prefix",
	"postgres": "table", "postgresql": "table",
	"mysql":   "table",
	"mongodb": "collection", "mongodb+srv": "collection",
}

// parse parses a store URL and checks what every scheme needs: a known
// scheme, a host, and for the multi-server forms a port on each. It takes
// the namespace parameter off the URL and returns it.
func parse(arg, label string) (*url.URL, string, error) {
	u, err := url.Parse(arg)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the url.Error repeats the URL, password included
		}
		return nil, "", &FormError{Label: label, Reason: fmt.Sprintf("not a valid URL (%v)", err)}
	}
	shown := u.Redacted()
	fail := func(reason string) (*url.URL, string, error) {
		return nil, "", &FormError{Label: label, Shown: shown, Reason: reason}
	}
	param, known := namespaceParam[u.Scheme]
	switch {
	case u.Scheme == "":
		return fail("unknown store")
	case !known:
		return fail(fmt.Sprintf("unknown scheme %q", u.Scheme))
	}
	q := u.Query()
	ns := q.Get(param)
	if q.Has(param) {
		if ns == "" {
			return fail(fmt.Sprintf("empty %s parameter", param))
		}
		q.Del(param)
		u.RawQuery = q.Encode()
	}
	hosts := strings.Split(u.Host, ",")
	for _, h := range hosts {
		if hostname(h) == "" {
			return fail("missing host")
		}
	}
	switch u.Scheme {
	case "redis", "rediss":
		if len(hosts) > 1 {
			return fail("one host only; use redis+cluster:// for a Redis Cluster")
		}
	case "redis+cluster", "memcache":
		for _, h := range hosts {
			if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
				return fail(fmt.Sprintf("%q is not host:port", h))
			}
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fail(u.Scheme + ":// takes no path or query")
		}
		if u.Scheme == "memcache" && u.User != nil {
			return fail("memcache:// takes no user name or password")
		}
	}
	return u, ns, nil
}

// hostname returns the host of host[:port], without brackets.
func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// opener opens one parsed URL.
type opener struct {
	u      *url.URL
	o      Options
	start  time.Time     // when Open began, for how long a silent server was given
	budget time.Duration // what ctx left Open when it began; 0: no deadline
}

func (op opener) formError(reason string) error {
	return &FormError{Label: op.o.Label, Shown: op.u.Redacted(), Reason: reason}
}

func (op opener) connectError(what string, err error) error {
	if na := op.noAnswer(err); na != nil {
		err = na
	}
	return &ConnectError{Label: op.o.Label, Shown: op.u.Redacted(), Op: what, Err: err}
}

func (op opener) store(st sessionstore.Store, backend, ns string, maxData int) *Store {
	return &Store{Store: st, Backend: backend, Shown: op.u.Redacted(), Namespace: ns, MaxDataSize: maxData}
}

func (op opener) redis(ctx context.Context) (*Store, error) {
	o, err := goredis.ParseURL(op.u.String())
	if err != nil {
		return nil, op.formError(err.Error())
	}
	// Without it go-redis bounds socket reads by ReadTimeout, not by the
	// request's context (see the redis package doc).
	o.ContextTimeoutEnabled = true
	client := goredis.NewClient(o)
	if !op.o.NoPing {
		if err := client.Ping(ctx).Err(); err != nil {
			client.Close()
			return nil, op.connectError("ping", err)
		}
	}
	return op.redisStore(client, Redis, func(ctx context.Context, prefix string) error {
		return deletePrefix(ctx, client, prefix)
	})
}

func (op opener) redisCluster(ctx context.Context) (*Store, error) {
	o := &goredis.ClusterOptions{Addrs: strings.Split(op.u.Host, ","), ContextTimeoutEnabled: true}
	if op.u.User != nil {
		o.Username = op.u.User.Username()
		o.Password, _ = op.u.User.Password()
	}
	client := goredis.NewClusterClient(o)
	if !op.o.NoPing {
		// Every master, not just a seed: the nodes announce their own
		// addresses, which must be reachable from here too.
		err := client.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
			return node.Ping(ctx).Err()
		})
		if err != nil {
			client.Close()
			return nil, op.connectError("ping", err)
		}
	}
	return op.redisStore(client, RedisCluster, func(ctx context.Context, prefix string) error {
		return client.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
			return deletePrefix(ctx, node, prefix)
		})
	})
}

func (op opener) redisStore(client goredis.UniversalClient, backend string, drop func(context.Context, string) error) (*Store, error) {
	prefix := cmp.Or(op.o.Namespace, redis.DefaultPrefix)
	st, err := redis.New(client, redis.Options{Prefix: prefix})
	if err != nil {
		client.Close()
		return nil, op.formError(err.Error())
	}
	s := op.store(st, backend, prefix, redis.DefaultMaxDataSize)
	s.close = func(context.Context) error { return errors.Join(st.Close(), client.Close()) }
	s.drop = func(ctx context.Context) error { return drop(ctx, prefix) }
	return s, nil
}

// deletePrefix deletes every key of one Redis server under prefix, a batch
// of SCAN at a time. The prefix's glob characters are escaped.
func deletePrefix(ctx context.Context, c goredis.Cmdable, prefix string) error {
	pattern := globEscaper.Replace(prefix) + "*"
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		// One key a call: on a cluster, keys of one batch may live in
		// different slots.
		for _, k := range batch {
			if err := c.Del(ctx, k).Err(); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	return flush()
}

var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)

func (op opener) postgres(ctx context.Context) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(op.u.String())
	if err != nil {
		return nil, op.formError(err.Error())
	}
	table := cmp.Or(op.o.Namespace, postgres.DefaultTable)
	pool, err := pgxpool.NewWithConfig(ctx, cfg) // dials nothing yet
	if err != nil {
		return nil, op.connectError("connect", err)
	}
	st, err := postgres.New(pool, postgres.Options{Table: table, Logger: op.o.Logger})
	if err != nil {
		pool.Close()
		return nil, op.formError(err.Error())
	}
	if !op.o.NoPing {
		if err := pool.Ping(ctx); err != nil {
			st.Close()
			pool.Close()
			return nil, op.connectError("ping", err)
		}
	}
	s := op.store(st, Postgres, table, postgres.DefaultMaxDataSize)
	s.close = func(context.Context) error {
		err := st.Close()
		pool.Close()
		return err
	}
	s.drop = func(ctx context.Context) error {
		_, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier(strings.Split(table, ".")).Sanitize())
		return err
	}
	if op.o.NoPing {
		return s, nil
	}
	if op.o.Prepare {
		if err := st.CreateTable(ctx); err != nil {
			s.close(ctx)
			return nil, op.connectError("create table", err)
		}
		return s, nil
	}
	// A missing table fails here, named, rather than at the first call.
	if _, _, err := st.Load(ctx, "sessionstore-probe"); err != nil {
		s.close(ctx)
		return nil, op.connectError("read table "+table, err)
	}
	return s, nil
}

// mysql opens a mysql:// URL: host[:port] (3306 by default), the database
// as its path, and any query parameter of the driver's DSN (tls, timeout,
// ...) as it is.
func (op opener) mysql(ctx context.Context) (*Store, error) {
	u := op.u
	dbName := strings.TrimPrefix(u.Path, "/")
	if dbName == "" || strings.Contains(dbName, "/") {
		return nil, op.formError("want mysql://user:password@host:port/database")
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(hostname(u.Host), "3306")
	}
	cfg, err := gomysql.ParseDSN("tcp(" + addr + ")/?" + u.RawQuery)
	if err != nil {
		return nil, op.formError(err.Error())
	}
	cfg.DBName = dbName
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, op.formError(err.Error())
	}
	db := sql.OpenDB(connector) // dials nothing yet
	table := cmp.Or(op.o.Namespace, mysql.DefaultTable)
	st, err := mysql.New(db, mysql.Options{Table: table, Logger: op.o.Logger})
	if err != nil {
		db.Close()
		return nil, op.formError(err.Error())
	}
	s := op.store(st, MySQL, table, mysql.DefaultMaxDataSize)
	s.close = func(context.Context) error { return errors.Join(st.Close(), db.Close()) }
	s.drop = func(ctx context.Context) error {
		parts := strings.Split(table, ".")
		for i, p := range parts {
			parts[i] = "`" + strings.ReplaceAll(p, "`", "``") + "`"
		}
		_, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+strings.Join(parts, "."))
		return err
	}
	if op.o.NoPing {
		return s, nil
	}
	if err := db.PingContext(ctx); err != nil {
		s.close(ctx)
		return nil, op.connectError("ping", err)
	}
	if op.o.Prepare {
		if err := st.CreateTable(ctx); err != nil {
			s.close(ctx)
			return nil, op.connectError("create table", err)
		}
	} else if _, _, err := st.Load(ctx, "sessionstore-probe"); err != nil {
		// A missing table fails here, named, rather than at the first call.
		s.close(ctx)
		return nil, op.connectError("read table "+table, err)
	}
	// The server's max_allowed_packet may allow less than the default.
	if s.MaxDataSize, err = st.MaxDataSize(ctx); err != nil {
		s.close(ctx)
		return nil, op.connectError("read max_allowed_packet", err)
	}
	return s, nil
}

func (op opener) mongo(ctx context.Context) (*Store, error) {
	u := op.u
	dbName := cmp.Or(strings.TrimPrefix(u.Path, "/"), DefaultMongoDatabase)
	if strings.Contains(dbName, "/") {
		return nil, op.formError(fmt.Sprintf("%q is not a database name", dbName))
	}
	client, err := mongodriver.Connect(options.Client().ApplyURI(u.String()))
	if err != nil {
		// Connect only parses the URI, except that mongodb+srv:// looks up
		// the hosts in DNS.
		if _, ok := errors.AsType[*net.DNSError](err); ok {
			return nil, op.connectError("connect", err)
		}
		return nil, op.formError(err.Error())
	}
	if !op.o.NoPing {
		if err := client.Ping(ctx, nil); err != nil {
			client.Disconnect(ctx)
			return nil, op.connectError("ping", err)
		}
	}
	coll := cmp.Or(op.o.Namespace, mongo.DefaultCollection)
	db := client.Database(dbName)
	st, err := mongo.New(db, mongo.Options{Collection: coll, Logger: op.o.Logger})
	if err != nil {
		client.Disconnect(ctx)
		return nil, op.formError(err.Error())
	}
	s := op.store(st, Mongo, coll, mongo.DefaultMaxDataSize)
	s.close = func(ctx context.Context) error {
		return errors.Join(st.Close(), client.Disconnect(ctx))
	}
	s.drop = func(ctx context.Context) error { return db.Collection(coll).Drop(ctx) }
	if op.o.Prepare && !op.o.NoPing {
		if err := st.EnsureIndexes(ctx); err != nil {
			s.close(ctx)
			return nil, op.connectError("ensure indexes", err)
		}
	}
	return s, nil
}

// memcacheTimeout bounds each network operation of a memcached client,
// gomemcache taking no context: twice its default, since check and copy
// open dozens of connections at once (check's CompareAndSwap racers), and
// a busy host was seen taking over 500 ms to accept one of them.
const memcacheTimeout = time.Second

// memcacheIdleConns keeps the connections of a burst for the next one:
// gomemcache keeps 2, so each round of check's 32 racers dialled 30 anew.
const memcacheIdleConns = 64

// openMemcache checks every server with one round trip: gomemcache takes no
// context, so its Timeout (memcacheTimeout) bounds each.
func (op opener) memcache(context.Context) (*Store, error) {
	var servers gomemcache.ServerList
	if err := servers.SetServers(strings.Split(op.u.Host, ",")...); err != nil {
		return nil, op.connectError("resolve", err)
	}
	client := gomemcache.NewFromSelector(&servers)
	client.Timeout = memcacheTimeout
	client.MaxIdleConns = memcacheIdleConns
	if !op.o.NoPing {
		if err := client.Ping(); err != nil {
			client.Close()
			return nil, op.connectError("ping", err)
		}
	}
	prefix := cmp.Or(op.o.Namespace, memcache.DefaultPrefix)
	st, err := memcache.New(client, memcache.Options{Prefix: prefix})
	if err != nil {
		client.Close()
		return nil, op.formError(err.Error())
	}
	s := op.store(st, Memcache, prefix, memcache.DefaultMaxDataSize)
	s.close = func(context.Context) error { return errors.Join(st.Close(), client.Close()) }
	return s, nil
}

// BackendOf returns the backend a URL names (Memory, Redis, ...), or "" when
// its scheme is unknown; it checks nothing else.
func BackendOf(arg string) string {
	if arg == "memory" {
		return Memory
	}
	u, err := url.Parse(arg)
	if err != nil {
		return ""
	}
	switch u.Scheme {
	case "redis", "rediss":
		return Redis
	case "redis+cluster":
		return RedisCluster
	case "postgres", "postgresql":
		return Postgres
	case "mysql":
		return MySQL
	case "mongodb", "mongodb+srv":
		return Mongo
	case "memcache":
		return Memcache
	case "sqlite":
		return SQLite
	}
	return ""
}

// KeyPrefix turns a name into the namespace of the backend arg names: the
// name itself for a table or collection, with a ":" after it for a key
// prefix.
func KeyPrefix(arg, name string) string {
	switch BackendOf(arg) {
	case Redis, RedisCluster, Memcache:
		return name + ":"
	}
	return name
}

// openSQLite opens sqlite:PATH[?table=T] (also sqlite:///ABSOLUTE/PATH). The
// path is taken as written, up to a '?'; with Prepare the file and table are
// created when missing, without it the file must exist (a mistyped path
// fails rather than start an empty database). With NoPing nothing is opened
// until the first call.
func openSQLite(ctx context.Context, arg, rest string, o Options) (*Store, error) {
	fail := func(reason string) (*Store, error) {
		return nil, &FormError{Label: o.Label, Shown: Shown(arg), Reason: reason}
	}
	path, query, _ := strings.Cut(rest, "?")
	if p, ok := strings.CutPrefix(path, "//"); ok {
		if !strings.HasPrefix(p, "/") {
			return fail("sqlite:// takes no host: use sqlite:PATH or sqlite:///ABSOLUTE/PATH")
		}
		path = p
	}
	if path == "" {
		return fail("missing path (sqlite:PATH)")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return fail(fmt.Sprintf("bad query (%v)", err))
	}
	ns := q.Get("table")
	if q.Has("table") && ns == "" {
		return fail("empty table parameter")
	}
	q.Del("table")
	if len(q) > 0 {
		return fail("sqlite: takes only ?table=")
	}
	table := cmp.Or(o.Namespace, ns, sqlite.DefaultTable)
	opts := sqlite.Options{Table: table, Logger: o.Logger}
	// sql.Open touches no file: the store over it checks the options, and
	// with NoPing is the store.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return fail(err.Error())
	}
	lazy, err := sqlite.New(db, opts)
	if err != nil {
		db.Close()
		return fail(err.Error())
	}
	if o.NoPing {
		s := &Store{Store: lazy, Backend: SQLite, Shown: Shown(arg), Namespace: table, MaxDataSize: sqlite.DefaultMaxDataSize}
		s.close = func(context.Context) error { return errors.Join(lazy.Close(), db.Close()) }
		s.drop = func(ctx context.Context) error { return lazy.DropTable(ctx) }
		return s, nil
	}
	lazy.Close()
	db.Close()
	if !o.Prepare {
		if _, err := os.Stat(path); err != nil {
			return nil, &ConnectError{Label: o.Label, Shown: Shown(arg), Op: "open", Err: err}
		}
	}
	st, err := sqlite.Open(ctx, path, opts)
	if err != nil {
		return nil, &ConnectError{Label: o.Label, Shown: Shown(arg), Op: "open", Err: err}
	}
	s := &Store{Store: st, Backend: SQLite, Shown: Shown(arg), Namespace: table, MaxDataSize: sqlite.DefaultMaxDataSize}
	s.close = func(context.Context) error { return st.Close() }
	s.drop = func(ctx context.Context) error { return st.DropTable(ctx) }
	return s, nil
}
