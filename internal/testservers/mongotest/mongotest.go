// Package mongotest provides a real MongoDB-compatible server for tests: a container shared
// by the test binary, or the server SESSIONSTORE_MONGO_URL points at.
//
// The image is SESSIONSTORE_MONGO_IMAGE, else the official mongo:8. Where no registry
// answers, scripts/build-images makes sessionstore/ferretdb:1.24 instead: FerretDB on
// SQLite, which speaks the MongoDB protocol but has no TTL monitor, transactions or change
// streams. Every New returns a database of its own. The package's tests must run through
// testservers.Main (see package testservers).
package mongotest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/sessionstore/sessionstore/internal/testservers"
)

// URLEnv names the variable holding the URI of an existing server to test against instead
// of a container: mongodb://host:27017.
const URLEnv = "SESSIONSTORE_MONGO_URL"

// spec needs no command: the official image and the FerretDB one each start their server
// on 27017 without authentication.
var spec = &testservers.Spec{
	Name:         "mongo",
	ImageEnv:     "SESSIONSTORE_MONGO_IMAGE",
	DefaultImage: "mongo:8",
	URLEnv:       URLEnv,
	Port:         "27017/tcp",
	WaitLog:      "Waiting for connections|Listening on TCP", // mongod | FerretDB
	Ping:         ping,
}

// uri is the URI of the container's server; it is a single server, not a replica set.
func uri(addr string) string {
	return "mongodb://" + addr + "/?directConnection=true"
}

func ping(ctx context.Context, addr string) error {
	c, err := mongo.Connect(options.Client().ApplyURI(uri(addr)))
	if err != nil {
		return err
	}
	defer c.Disconnect(context.Background())
	return c.Ping(ctx, nil)
}

// New returns a database of a ready server, and that server. The database has a fresh
// random name, so tests sharing the server never meet; it is dropped and its client
// disconnected when the test ends. The server is shared by the test binary unless
// testservers.Dedicated is given.
func New(t testing.TB, opts ...testservers.Option) (*mongo.Database, *testservers.Server) {
	t.Helper()
	u, srv := os.Getenv(URLEnv), (*testservers.Server)(nil)
	if u == "" {
		srv = testservers.Start(t, spec, opts...)
		u = uri(srv.Addr)
	} else {
		cs, err := connstring.ParseAndValidate(u)
		if err != nil || len(cs.Hosts) == 0 {
			t.Fatalf("mongotest: %s: no host in %q: %v", URLEnv, u, err)
		}
		srv = testservers.External(cs.Hosts[0])
	}
	client, err := mongo.Connect(options.Client().ApplyURI(u))
	if err != nil {
		t.Fatalf("mongotest: connect to %s: %v", srv.Addr, err)
	}
	// MongoDB refuses two names differing only in case; keep them lower case.
	db := client.Database("test_" + strings.ToLower(rand.Text()[:16]))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// A container's data is scratch (and a stopped dedicated server drops nothing);
		// only a server of the user's must be left clean.
		if err := db.Drop(ctx); err != nil && srv.Container() == nil {
			t.Errorf("mongotest: drop database %s: %v", db.Name(), err)
		}
		if err := client.Disconnect(ctx); err != nil {
			t.Errorf("mongotest: disconnect: %v", fmt.Errorf("%s: %w", srv.Addr, err))
		}
	})
	return db, srv
}
