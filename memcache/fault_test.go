package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
	"github.com/sessionstore/sessionstore/memcache"
)

const (
	// faultDeadline is the context deadline of each call in the fault test.
	faultDeadline = time.Second
	// faultSlack is how long past its deadline a call may take to return.
	faultSlack = 500 * time.Millisecond
)

// TestFaultOneServerStopped stops one of three servers: the sessions on the
// other two are still served, every call that reaches the stopped one fails
// within its deadline with a wrapped error and claims nothing, and nothing
// panics. Once the server is back, the store writes to it again, and the
// sessions it held are gone: memcached keeps nothing across a restart.
func TestFaultOneServerStopped(t *testing.T) {
	t.Parallel()
	client, servers := memcachetest.NewCluster(t, testservers.Dedicated())
	s := newStore(t, client, memcache.Options{})
	owner := serverOf(t, servers)

	const sessions = 60
	ids := make([]string, sessions)
	perServer := map[string]int{}
	for i := range ids {
		ids[i] = fmt.Sprint("session-", i)
		if err := s.Save(t.Context(), ids[i], []byte(ids[i]), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		perServer[owner(s.Key(ids[i]))]++
	}
	stopped := servers[1].Addr
	if perServer[stopped] == 0 || perServer[stopped] == sessions {
		t.Fatalf("sessions per server %v: need some on the stopped server and some elsewhere", perServer)
	}
	servers[1].Stop(t)

	var (
		wg      sync.WaitGroup
		logOnce sync.Once
	)
	for _, id := range ids {
		onStopped := owner(s.Key(id)) == stopped
		for _, op := range faultOps(s) {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), faultDeadline)
				defer cancel()
				start := time.Now()
				claimed, err := op.call(ctx, id)
				if elapsed := time.Since(start); elapsed > faultDeadline+faultSlack {
					t.Errorf("%s(%s) took %v, past its %v deadline", op.name, id, elapsed, faultDeadline)
				}
				if onStopped {
					checkFailed(t, op.name, id, claimed, err)
					logOnce.Do(func() { t.Logf("a call to the stopped server, after %v: %v", time.Since(start), err) })
				} else if err != nil || (op.claims && !claimed) {
					t.Errorf("%s(%s) on a live server = %v, %v; want success", op.name, id, claimed, err)
				}
			})
		}
	}
	wg.Wait()

	servers[1].Start(t)
	for _, id := range ids {
		_, found, err := s.Load(t.Context(), id)
		switch {
		case err != nil:
			t.Errorf("Load(%s) after the restart: %v", id, err)
		case found != (owner(s.Key(id)) != stopped):
			t.Errorf("Load(%s) after the restart found %v; want the sessions of the restarted server lost, the others kept", id, found)
		}
		if err := s.Save(t.Context(), id, []byte("again"), time.Now().Add(time.Hour)); err != nil {
			t.Errorf("Save(%s) after the restart: %v", id, err)
		}
	}
}

// faultOp is one call of the fault test, reporting whether it claimed to
// find or write something.
type faultOp struct {
	name   string
	claims bool // a successful call on a live session claims
	call   func(ctx context.Context, id string) (bool, error)
}

// faultOps are read-only or rewrite each session's own data, so they can
// run in any order.
func faultOps(s *memcache.Store) []faultOp {
	later := time.Now().Add(2 * time.Hour)
	return []faultOp{
		{"Load", true, func(ctx context.Context, id string) (bool, error) {
			rec, found, err := s.Load(ctx, id)
			return found && string(rec.Data) == id, err
		}},
		{"Save", false, func(ctx context.Context, id string) (bool, error) {
			return false, s.Save(ctx, id, []byte(id), later)
		}},
		{"Touch", true, func(ctx context.Context, id string) (bool, error) {
			return s.Touch(ctx, id, later)
		}},
		{"CompareAndSwap", false, func(ctx context.Context, id string) (bool, error) {
			// Version 0 over a live session: never swaps, but must ask.
			swapped, err := s.CompareAndSwap(ctx, id, 0, []byte("lost"), later)
			if swapped {
				return true, errors.New("version 0 swapped over a live session")
			}
			return false, err
		}},
	}
}

// checkFailed checks the result of a call to a stopped server.
func checkFailed(t *testing.T, op, id string, claimed bool, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s(%s) on the stopped server succeeded (claimed %v)", op, id, claimed)
	case claimed:
		t.Errorf("%s(%s) on the stopped server failed yet claimed: %v", op, id, err)
	case !strings.HasPrefix(err.Error(), "memcache: "):
		t.Errorf("%s(%s): error %q does not name the store and operation", op, id, err)
	case errors.Unwrap(err) == nil && !isMultiWrap(err):
		t.Errorf("%s(%s): error %q wraps no cause", op, id, err)
	}
}

func isMultiWrap(err error) bool {
	u, ok := err.(interface{ Unwrap() []error })
	return ok && len(u.Unwrap()) > 0
}

// serverOf returns a function that names the server gomemcache sends a key
// to, by the client's own selection over the same server list.
func serverOf(t *testing.T, servers []*testservers.Server) func(key string) string {
	t.Helper()
	var list gomemcache.ServerList
	addrs := make([]string, len(servers))
	for i, s := range servers {
		addrs[i] = s.Addr
	}
	if err := list.SetServers(addrs...); err != nil {
		t.Fatal(err)
	}
	byAddr := map[string]string{}
	for _, a := range addrs {
		resolved, err := net.ResolveTCPAddr("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		byAddr[resolved.String()] = a
	}
	return func(key string) string {
		addr, err := list.PickServer(key)
		if err != nil {
			t.Fatal(err)
		}
		return byAddr[addr.String()]
	}
}
