package mongotest_test

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/mongotest"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// TestSmoke writes and reads a document through the mongo driver, so that a broken image
// fails here first.
func TestSmoke(t *testing.T) {
	t.Parallel()
	db, srv := mongotest.New(t)
	ctx := t.Context()
	coll := db.Collection("smoke")
	want := []byte("hello\x00world")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "data", Value: want}}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Data []byte `bson:"data"`
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != string(want) {
		t.Fatalf("read %q from %s, want %q", got.Data, srv.Addr, want)
	}
}

// TestFreshDatabase checks that every New returns a database of its own on the shared
// server.
func TestFreshDatabase(t *testing.T) {
	t.Parallel()
	a, sa := mongotest.New(t)
	b, sb := mongotest.New(t)
	if a.Name() == b.Name() {
		t.Fatalf("two calls returned database %s", a.Name())
	}
	if sa.Addr != sb.Addr {
		t.Fatalf("shared server at %s and %s", sa.Addr, sb.Addr)
	}
	if _, err := a.Collection("c").InsertOne(t.Context(), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	n, err := b.Collection("c").CountDocuments(t.Context(), bson.D{})
	if err != nil || n != 0 {
		t.Fatalf("the other database holds %d documents (%v), want 0", n, err)
	}
}
