package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	mongodriver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memcache"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/mongo"
	"github.com/sessionstore/sessionstore/postgres"
	"github.com/sessionstore/sessionstore/redis"
)

// acceptedStores lists the forms of -store, one a line, for the usage text
// and for the error a bad value gets.
const acceptedStores = `memory                                                    in this process (the default)
redis://[user:password@]host:port[/db]                    one Redis server; rediss:// for TLS
redis+cluster://[user:password@]host:port[,host:port...]  Redis Cluster, found from these nodes
postgres://[user:password@]host:port/database             PostgreSQL (or postgresql://); creates table "sessions"
mongodb://[user:password@]host:port[/database]            MongoDB (or mongodb+srv://); database "sessionstore" unless named
memcache://host:port[,host:port...]                       memcached, keys spread over the servers`

// defaultMongoDatabase is the database of a mongodb:// URL naming none.
const defaultMongoDatabase = "sessionstore"

// closer releases what openStore opened: the store, then its client.
type closer func(ctx context.Context) error

// openStore opens the store that arg names, checks that its server answers
// and prepares it (table, indexes), all within ctx. The closer it returns
// releases everything openStore opened; call it once the server has stopped
// using the store.
func openStore(ctx context.Context, arg string) (sessionstore.Store, closer, error) {
	if arg == "memory" {
		st := memory.New(memory.Options{})
		return st, func(context.Context) error { return st.Close() }, nil
	}
	u, err := parseStoreURL(arg)
	if err != nil {
		return nil, nil, err
	}
	switch u.Scheme {
	case "redis", "rediss":
		return openRedis(ctx, u)
	case "redis+cluster":
		return openRedisCluster(ctx, u)
	case "postgres", "postgresql":
		return openPostgres(ctx, u)
	case "mongodb", "mongodb+srv":
		return openMongo(ctx, u)
	default: // memcache, the one scheme parseStoreURL leaves
		return openMemcache(u)
	}
}

// parseStoreURL parses a -store URL and checks what every scheme needs: a
// known scheme, a host, and for the multi-server forms a port on each. The
// errors list the accepted forms; they show the URL with its password
// redacted, or not at all when it does not parse.
func parseStoreURL(arg string) (*url.URL, error) {
	u, err := url.Parse(arg)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the url.Error repeats the URL, password included
		}
		return nil, formError("", fmt.Sprintf("not a valid URL (%v)", err))
	}
	shown := u.Redacted()
	switch u.Scheme {
	case "redis", "rediss", "redis+cluster", "postgres", "postgresql", "mongodb", "mongodb+srv", "memcache":
	case "":
		return nil, formError(shown, "unknown store")
	default:
		return nil, formError(shown, fmt.Sprintf("unknown scheme %q", u.Scheme))
	}
	hosts := strings.Split(u.Host, ",")
	for _, h := range hosts {
		if hostname(h) == "" {
			return nil, formError(shown, "missing host")
		}
	}
	switch u.Scheme {
	case "redis", "rediss":
		if len(hosts) > 1 {
			return nil, formError(shown, "one host only; use redis+cluster:// for a Redis Cluster")
		}
	case "redis+cluster", "memcache":
		for _, h := range hosts {
			if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
				return nil, formError(shown, fmt.Sprintf("%q is not host:port", h))
			}
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, formError(shown, u.Scheme+":// takes no path or query")
		}
		if u.Scheme == "memcache" && u.User != nil {
			return nil, formError(shown, "memcache:// takes no user name or password")
		}
	}
	return u, nil
}

// shownStore is the -store value as it may be printed: without its password.
func shownStore(arg string) string {
	if u, err := url.Parse(arg); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return arg
}

// hostname returns the host of host[:port], without brackets.
func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// formError is the error of a -store value of the wrong form; shown is the
// value as it may be printed.
func formError(shown, reason string) error {
	what := "-store"
	if shown != "" {
		what += " " + shown
	}
	return fmt.Errorf("%s: %s; accepted forms:\n  %s", what, reason,
		strings.ReplaceAll(acceptedStores, "\n", "\n  "))
}

// connectError is the error of a store whose server could not be reached or
// prepared, naming the store and its address.
func connectError(u *url.URL, op string, err error) error {
	return fmt.Errorf("-store %s: %s: %w", u.Redacted(), op, oneLine{err})
}

// oneLine is an error whose message is on one line: pgx lists each address
// it tried on a line of its own.
type oneLine struct{ err error }

func (e oneLine) Error() string {
	return strings.NewReplacer(":\n\t", ": ", "\n\t", "; ", "\n", "; ").Replace(e.err.Error())
}

func (e oneLine) Unwrap() error { return e.err }

func openRedis(ctx context.Context, u *url.URL) (sessionstore.Store, closer, error) {
	o, err := goredis.ParseURL(u.String())
	if err != nil {
		return nil, nil, formError(u.Redacted(), err.Error())
	}
	// Without it go-redis bounds socket reads by ReadTimeout, not by the
	// request's context (see the redis package doc).
	o.ContextTimeoutEnabled = true
	client := goredis.NewClient(o)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, nil, connectError(u, "ping", err)
	}
	return newRedisStore(client)
}

func openRedisCluster(ctx context.Context, u *url.URL) (sessionstore.Store, closer, error) {
	o := &goredis.ClusterOptions{Addrs: strings.Split(u.Host, ","), ContextTimeoutEnabled: true}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	client := goredis.NewClusterClient(o)
	// Every master, not just a seed: the nodes announce their own addresses,
	// which must be reachable from here too.
	err := client.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
		return node.Ping(ctx).Err()
	})
	if err != nil {
		client.Close()
		return nil, nil, connectError(u, "ping", err)
	}
	return newRedisStore(client)
}

func newRedisStore(client goredis.UniversalClient) (sessionstore.Store, closer, error) {
	st, err := redis.New(client, redis.Options{})
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return st, func(context.Context) error { return errors.Join(st.Close(), client.Close()) }, nil
}

func openPostgres(ctx context.Context, u *url.URL) (sessionstore.Store, closer, error) {
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, nil, formError(u.Redacted(), err.Error())
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, connectError(u, "connect", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, nil, connectError(u, "ping", err)
	}
	st, err := postgres.New(pool, postgres.Options{})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	release := func(context.Context) error {
		err := st.Close()
		pool.Close()
		return err
	}
	if err := st.CreateTable(ctx); err != nil {
		release(ctx)
		return nil, nil, connectError(u, "create table", err)
	}
	return st, release, nil
}

func openMongo(ctx context.Context, u *url.URL) (sessionstore.Store, closer, error) {
	dbName := cmp.Or(strings.TrimPrefix(u.Path, "/"), defaultMongoDatabase)
	if strings.Contains(dbName, "/") {
		return nil, nil, formError(u.Redacted(), fmt.Sprintf("%q is not a database name", dbName))
	}
	client, err := mongodriver.Connect(options.Client().ApplyURI(u.String()))
	if err != nil {
		// Connect only parses the URI, except that mongodb+srv:// looks up
		// the hosts in DNS.
		if _, ok := errors.AsType[*net.DNSError](err); ok {
			return nil, nil, connectError(u, "connect", err)
		}
		return nil, nil, formError(u.Redacted(), err.Error())
	}
	if err := client.Ping(ctx, nil); err != nil {
		client.Disconnect(ctx)
		return nil, nil, connectError(u, "ping", err)
	}
	st, err := mongo.New(client.Database(dbName), mongo.Options{})
	if err != nil {
		client.Disconnect(ctx)
		return nil, nil, err
	}
	release := func(ctx context.Context) error {
		return errors.Join(st.Close(), client.Disconnect(ctx))
	}
	if err := st.EnsureIndexes(ctx); err != nil {
		release(ctx)
		return nil, nil, connectError(u, "ensure indexes", err)
	}
	return st, release, nil
}

// openMemcache checks every server with one round trip: gomemcache takes no
// context, so its Timeout (500 ms by default) bounds each.
func openMemcache(u *url.URL) (sessionstore.Store, closer, error) {
	var servers gomemcache.ServerList
	if err := servers.SetServers(strings.Split(u.Host, ",")...); err != nil {
		return nil, nil, connectError(u, "resolve", err)
	}
	client := gomemcache.NewFromSelector(&servers)
	if err := client.Ping(); err != nil {
		client.Close()
		return nil, nil, connectError(u, "ping", err)
	}
	st, err := memcache.New(client, memcache.Options{})
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return st, func(context.Context) error { return errors.Join(st.Close(), client.Close()) }, nil
}
