package mongo

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// benchIDs live sessions of benchData bytes, a typical encoded session.
const (
	benchIDs  = 64
	benchData = 1 << 10
)

// pair is one request's worth of session work: a Load and a Save of the
// same bytes under one id.
type pair func(ctx context.Context, id string, data []byte) error

// BenchmarkPair compares, side by side in one run, a Load+Save pair through
// the store with the raw driver calls it stands for: FindOne by _id and
// ReplaceOne with upsert by a string _id, on the same collection and bytes.
// The raw pair keeps no version and checks no expiry: that is the
// store's overhead being measured.
//
//	go test -run '^$' -bench Pair -benchmem ./mongo/
func BenchmarkPair(b *testing.B) {
	s, coll := openStore(b, Options{})
	pairs := []struct {
		name string
		pair pair
	}{{"Store", storePair(s)}, {"Raw", rawPair(coll)}}
	// Each mode runs the two pairs one right after the other, so that they
	// meet the same load on a shared machine.
	for _, mode := range []struct {
		name string
		run  func(*testing.B, pair)
	}{{"Serial", benchSerial}, {"Parallel", benchParallel}} {
		for _, p := range pairs {
			b.Run(mode.name+"/impl="+p.name, func(b *testing.B) { mode.run(b, p.pair) })
		}
	}
}

func storePair(s *Store) pair {
	return func(ctx context.Context, id string, data []byte) error {
		if _, _, err := s.Load(ctx, id); err != nil {
			return err
		}
		return s.Save(ctx, id, data, time.Now().Add(time.Hour))
	}
}

// rawPair is what an application would write without the store.
func rawPair(coll *mongo.Collection) pair {
	upsert := options.Replace().SetUpsert(true)
	return func(ctx context.Context, id string, data []byte) error {
		key := id // a string _id, as the store keeps a UTF-8 id
		var doc struct {
			Data []byte `bson:"data"`
		}
		err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&doc)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return err
		}
		_, err = coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: key}}, bson.D{
			{Key: "_id", Value: key},
			{Key: "data", Value: bson.Binary{Data: data}},
			{Key: "expiry", Value: bson.NewDateTimeFromTime(time.Now().Add(time.Hour))},
		}, upsert)
		return err
	}
}

func benchIDName(i int) string { return fmt.Sprintf("bench-session-%03d", i%benchIDs) }

func benchSerial(b *testing.B, p pair) {
	ctx := context.Background()
	data := make([]byte, benchData)
	warm(b, p, data)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := p(ctx, benchIDName(i), data); err != nil {
			b.Fatal(err)
		}
	}
}

func benchParallel(b *testing.B, p pair) {
	ctx := context.Background()
	warm(b, p, make([]byte, benchData))
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		data := make([]byte, benchData)
		for pb.Next() {
			if err := p(ctx, benchIDName(int(next.Add(1))), data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// warm saves every id once, so that every Load of the run finds its session.
func warm(b *testing.B, p pair, data []byte) {
	b.Helper()
	for i := range benchIDs {
		if err := p(context.Background(), benchIDName(i), data); err != nil {
			b.Fatal(err)
		}
	}
}
