package mysql_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/mysqltest"
	"github.com/sessionstore/sessionstore/mysql"
)

// The server stops while requests run: every call ends within its deadline
// with a wrapped error, a Load never claims a wrong "found", and once the
// server is back the same Store serves again with every session it
// acknowledged before the stop.
func TestServerStopsAndComesBack(t *testing.T) {
	if testing.Short() {
		t.Skip("stops and starts a container")
	}
	db, srv := mysqltest.New(t, testservers.Dedicated())
	s := newStore(t, db, mysql.Options{})

	const (
		writers     = 4
		callTimeout = 2 * time.Second
		slack       = time.Second // scheduling, and the race detector
	)
	var (
		mu    sync.Mutex
		acked = map[string][]byte{} // saves that returned nil
		fails atomic.Int64          // saves that failed after the stop
		// enough is closed after the first 100 acknowledged saves.
		enough = make(chan struct{})
		once   sync.Once
		// Once the server is stopped, writers report each failed Save on
		// failed; once it is back, each successful one on recovered.
		stopped, back     atomic.Bool
		failed, recovered = make(chan struct{}, 1), make(chan struct{}, 1)
		stop              = make(chan struct{})
		wg                sync.WaitGroup
	)
	signal := func(ch chan struct{}) {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	ack := func(id string, data []byte) {
		mu.Lock()
		acked[id] = data
		n := len(acked)
		mu.Unlock()
		if n >= 100 {
			once.Do(func() { close(enough) })
		}
	}
	for w := range writers {
		wg.Go(func() {
			var last string // this writer's last acknowledged id
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("writer%d-%d", w, i)
				data := []byte(strings.Repeat(id, 10))
				ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				start := time.Now()
				err := s.Save(ctx, id, data, time.Now().Add(time.Hour))
				if took := time.Since(start); took > callTimeout+slack {
					t.Errorf("Save took %v with a %v deadline", took, callTimeout)
				}
				switch {
				case err == nil:
					ack(id, data)
					if back.Load() {
						signal(recovered)
					}
				case !strings.HasPrefix(err.Error(), "mysql: save: "):
					t.Errorf("Save error not wrapped: %v", err)
				case stopped.Load():
					fails.Add(1)
					signal(failed)
				}
				if last != "" {
					start = time.Now()
					rec, found, err := s.Load(ctx, last)
					if took := time.Since(start); took > callTimeout+slack {
						t.Errorf("Load took %v with a %v deadline", took, callTimeout)
					}
					mu.Lock()
					want := acked[last]
					mu.Unlock()
					switch {
					case err != nil && !strings.HasPrefix(err.Error(), "mysql: load: "):
						t.Errorf("Load error not wrapped: %v", err)
					case err == nil && (!found || !bytes.Equal(rec.Data, want)):
						t.Errorf("Load(%q) = %q, found %v, nil error; want the acknowledged data or an error", last, rec.Data, found)
					}
				}
				cancel()
				if err == nil {
					last = id
				}
			}
		})
	}
	stopWriters := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopWriters()

	waitFor(t, enough, 30*time.Second, "100 acknowledged saves before the stop")
	srv.Stop(t)
	stopped.Store(true)
	// docker stop may give the server seconds to shut down before it kills it.
	waitFor(t, failed, 30*time.Second, "failed Save after the stop")

	srv.Start(t)
	back.Store(true)
	waitFor(t, recovered, 30*time.Second, "successful Save after the restart")
	stopWriters()

	mu.Lock()
	defer mu.Unlock()
	ctx := context.Background()
	for id, data := range acked {
		rec, found, err := s.Load(ctx, id)
		if err != nil || !found || !bytes.Equal(rec.Data, data) {
			t.Errorf("after the restart: Load(%q) = found %v, err %v; an acknowledged save was lost", id, found, err)
		}
	}
	t.Logf("%d saves acknowledged, all found after the restart; %d failed while the server was down", len(acked), fails.Load())
}

// waitFor fails t unless ch closes or yields a value within d.
func waitFor(t *testing.T, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("no %s within %v", what, d)
	}
}

// The largest data follows the server's max_allowed_packet: a store reads it
// on its first write and refuses more than it less PacketOverhead before
// sending, and the most it accepts, under the longest id, round-trips. A
// store that read a larger packet before the server's was lowered gets the
// server's refusal as ErrTooLarge, the stored record intact.
func TestMaxAllowedPacket(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server of its own")
	}
	cfg, _ := mysqltest.Config(t, testservers.Dedicated())
	ctx := context.Background()
	const packet = 1 << 20

	before := mysqltest.OpenDB(t, cfg)
	early := newStore(t, before, mysql.Options{MaxDataSize: 8 << 20})
	if n, err := early.MaxDataSize(ctx); n != 8<<20 || err != nil {
		t.Fatalf("MaxDataSize with the default packet = %d, %v; want the 8 MiB asked for", n, err)
	}
	id := strings.Repeat("i", sessionstore.MaxIDLength)
	if err := early.Save(ctx, id, []byte("small"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := before.ExecContext(ctx, fmt.Sprintf("SET GLOBAL max_allowed_packet = %d", packet)); err != nil {
		t.Fatal(err)
	}
	// New connections see the new packet; idle old ones are dropped.
	before.SetMaxIdleConns(0)

	s := newStore(t, mysqltest.OpenDB(t, cfg), mysql.Options{MaxDataSize: 8 << 20})
	limit, err := s.MaxDataSize(ctx)
	if want := packet - mysql.PacketOverhead; limit != want || err != nil {
		t.Fatalf("MaxDataSize = %d, %v; want max_allowed_packet less PacketOverhead, %d", limit, err, want)
	}
	data := bytes.Repeat([]byte{0, 0xff, '\'', '\\'}, limit/4+1)[:limit]
	if err := s.Save(ctx, id, data, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Save of %d bytes: %v", limit, err)
	}
	if rec, found, err := s.Load(ctx, id); !found || err != nil || !bytes.Equal(rec.Data, data) {
		t.Fatalf("Load of %d bytes = %d bytes, %v, %v", limit, len(rec.Data), found, err)
	}
	err = s.Save(ctx, id, append(data, 1), time.Now().Add(time.Hour))
	if !errors.Is(err, sessionstore.ErrTooLarge) {
		t.Errorf("Save of %d bytes: %v; want ErrTooLarge", limit+1, err)
	}
	if rec, _, err := s.Load(ctx, id); err != nil || !bytes.Equal(rec.Data, data) {
		t.Errorf("after the refused Save, Load = %d bytes, %v; want the record intact", len(rec.Data), err)
	}

	err = early.Save(ctx, id, make([]byte, 2*packet), time.Now().Add(time.Hour))
	if !errors.Is(err, sessionstore.ErrTooLarge) || !strings.HasPrefix(err.Error(), "mysql: save: ") {
		t.Errorf("Save of %d bytes past the server's new packet: %v; want mysql: save: ... ErrTooLarge", 2*packet, err)
	} else {
		t.Logf("the server refused: %v", err)
	}
	if rec, _, err := early.Load(ctx, id); err != nil || string(rec.Data) != "small" {
		t.Errorf("after the server refused a Save, Load = %d bytes, %v; want the record intact", len(rec.Data), err)
	}
}
