package sessionstore_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
)

func TestEmptiedSessionIsDeletedAndCookieExpired(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/del?k=a", "/clear", "/destroy"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			m, spy := newSpy(t, nil)
			c := serve(t, m, app)
			c.get("/put?k=a&v=1")
			res, _ := c.get(path)
			ck := sessionCookie(res)
			if ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
				t.Errorf("Set-Cookie %q: want the cookie expired (Max-Age=0)", res.Header.Get("Set-Cookie"))
			}
			if c.cookie() != "" {
				t.Error("the client still holds the cookie")
			}
			if n := count(t, spy); n != 0 {
				t.Errorf("%d sessions stored, want 0", n)
			}
		})
	}
}

func TestUnknownExpiredOrMalformedIDIsNeverAdopted(t *testing.T) {
	t.Parallel()
	clk := newClock()
	m, spy := newSpy(t, clk)
	m.Lifetime = time.Hour
	c := serve(t, m, app)

	c.get("/put?k=a&v=1")
	expired := c.cookie()
	clk.Add(time.Hour)

	for name, id := range map[string]string{
		"unknown":   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"expired":   expired,
		"malformed": "not-an-id",
		"too long":  strings.Repeat("A", 44),
	} {
		c.setCookie(id)
		if _, body := c.get("/read"); body != "" {
			t.Errorf("%s: the session read %q, want it empty", name, body)
		}
		res, _ := c.get("/put?k=b&v=2")
		ck := sessionCookie(res)
		if ck == nil || ck.Value == id || len(ck.Value) != 43 {
			t.Errorf("%s: Set-Cookie %q: want a fresh id", name, res.Header.Get("Set-Cookie"))
		}
		ctx := context.Background()
		if _, found, _ := spy.Store.Load(ctx, sessionstore.HashID(id)); found {
			t.Errorf("%s: a record was stored under the planted id", name)
		}
	}
}

func TestRenewIDKeepsDataDeletesOldID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) (sessionstore.Store, *spyStore)
	}{
		{"swapper", func(t *testing.T) (sessionstore.Store, *spyStore) {
			spy := &spyStore{Store: newMemory(t, nil)}
			return spy, spy
		}},
		{"plain", func(t *testing.T) (sessionstore.Store, *spyStore) {
			spy := &spyStore{Store: newMemory(t, nil)}
			return plainStore{spy.Store}, spy
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, spy := tc.store(t)
			c := serve(t, sessionstore.New(st), app)
			c.get("/put?k=a&v=1")
			old := c.cookie()
			res, _ := c.get("/renew")
			ck := sessionCookie(res)
			if ck == nil || ck.Value == old || len(ck.Value) != 43 {
				t.Fatalf("Set-Cookie %q: want a new id", res.Header.Get("Set-Cookie"))
			}
			if _, body := c.get("/read"); body != "a=1;" {
				t.Errorf("read %q after RenewID, want a=1;", body)
			}
			// Every store goes through one commit path: the old id holds a
			// forward for a short while, with or without a Swapper.
			if n := count(t, spy); n != 2 {
				t.Errorf("%d records stored, want the session and the old id's forward", n)
			}
			ctx := context.Background()
			if rec, found, _ := spy.Store.Load(ctx, sessionstore.HashID(old)); found && !sessionstore.IsForward(rec.Data) {
				t.Errorf("the old id still holds %q, not a forward", rec.Data)
			}
			c.setCookie(old)
			if _, body := c.get("/read"); body != "" {
				t.Errorf("the old id still reads %q", body)
			}
		})
	}
}

func TestDestroyThenWriteStartsAFreshSession(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	c := serve(t, m, app)
	c.get("/put?k=a&v=1")
	old := c.cookie()
	res, _ := c.get("/destroy-flash")
	ck := sessionCookie(res)
	if ck == nil || ck.Value == old || ck.Value == "" {
		t.Fatalf("Set-Cookie %q: want a fresh id", res.Header.Get("Set-Cookie"))
	}
	if n := count(t, spy); n != 1 {
		t.Errorf("%d sessions stored, want only the new one", n)
	}
	if _, body := c.get("/flashes"); body != "info:bye;" {
		t.Errorf("flashes %q, want info:bye;", body)
	}
	if _, body := c.get("/read"); body != "" {
		t.Errorf("the destroyed session's values survived: %q", body)
	}
}

func TestPermanentCookieAndBrowserSessionCookie(t *testing.T) {
	t.Parallel()
	clk := newClock()
	m, _ := newSpy(t, clk)
	m.Lifetime = 10 * time.Hour
	c := serve(t, m, app)
	c.get("/put?k=a&v=1")

	clk.Add(time.Hour)
	res, _ := c.get("/permanent?on=1")
	ck := sessionCookie(res)
	if ck == nil || ck.MaxAge != int((9*time.Hour).Seconds()) {
		t.Fatalf("Set-Cookie %q: want Max-Age = the 9 h left of the absolute lifetime", res.Header.Get("Set-Cookie"))
	}
	id := ck.Value
	if res, _ := c.get("/permanent?on=1"); res.Header.Get("Set-Cookie") != "" {
		t.Error("the cookie was sent again though nothing changed")
	}
	res, _ = c.get("/permanent?on=0")
	ck = sessionCookie(res)
	if ck == nil || ck.MaxAge != 0 || ck.Value != id {
		t.Errorf("Set-Cookie %q: want the same id as a browser-session cookie", res.Header.Get("Set-Cookie"))
	}

	t.Run("cookie lifetime setting", func(t *testing.T) {
		m, _ := newSpy(t, clk)
		m.Permanent = true
		m.Cookie.Lifetime = 30 * time.Minute
		res, _ := serve(t, m, app).get("/put?k=a&v=1")
		if ck := sessionCookie(res); ck == nil || ck.MaxAge != 1800 {
			t.Errorf("Set-Cookie %q: want Max-Age=1800", res.Header.Get("Set-Cookie"))
		}
	})
}

func TestExpiryIsMinOfLifetimeAndIdleTimeout(t *testing.T) {
	t.Parallel()
	clk := newClock()
	m, _ := newSpy(t, clk)
	m.Lifetime = 10 * time.Hour
	m.IdleTimeout = time.Hour
	c := serve(t, m, app)
	c.get("/put?k=a&v=1")

	// Active every 50 minutes, the session outlives the idle timeout ...
	for range 11 {
		clk.Add(50 * time.Minute)
		if _, body := c.get("/read"); body != "a=1;" {
			t.Fatalf("after %v: read %q, want the session alive", 50*time.Minute, body)
		}
	}
	// ... but not the absolute lifetime: 9 h 10 min + 50 min = 10 h.
	clk.Add(50 * time.Minute)
	if _, body := c.get("/read"); body != "" {
		t.Fatalf("read %q at created + Lifetime, want the session gone", body)
	}

	// Idle for longer than the timeout, it is gone.
	c.get("/put?k=b&v=2")
	clk.Add(61 * time.Minute)
	if _, body := c.get("/read"); body != "" {
		t.Fatalf("read %q after 61 idle minutes, want the session gone", body)
	}
}

func TestIdleRefreshUsesTouchOnlyWhenNeeded(t *testing.T) {
	t.Parallel()
	clk := newClock()
	m, spy := newSpy(t, clk)
	m.IdleTimeout = 100 * time.Minute
	c := serve(t, m, app)
	c.get("/put?k=a&v=1")
	saves, swaps := spy.saves.Load(), spy.swaps.Load()

	clk.Add(5 * time.Minute) // less than IdleTimeout/10
	c.get("/read")
	if n := spy.touches.Load(); n != 0 {
		t.Errorf("%d touches after 5 min of a 100 min idle timeout, want 0", n)
	}
	clk.Add(6 * time.Minute) // 11 min > 10 min
	c.get("/read")
	if n := spy.touches.Load(); n != 1 {
		t.Errorf("%d touches after 11 min, want 1", n)
	}
	if spy.saves.Load() != saves || spy.swaps.Load() != swaps {
		t.Error("a read-only request rewrote the data instead of touching")
	}
	// The touch moved the expiry: 95 more minutes (106 after the last
	// write) the session is alive.
	clk.Add(95 * time.Minute)
	if _, body := c.get("/read"); body != "a=1;" {
		t.Errorf("read %q: the touch did not move the expiry", body)
	}
}

func TestIdleRefreshWithoutToucherRewritesData(t *testing.T) {
	t.Parallel()
	clk := newClock()
	mem := newMemory(t, clk)
	m := sessionstore.New(plainStore{mem})
	sessionstore.SetClock(m, clk.Now)
	m.IdleTimeout = time.Hour
	c := serve(t, m, app)
	c.get("/put?k=a&v=1")
	for range 3 {
		clk.Add(40 * time.Minute)
		if _, body := c.get("/read"); body != "a=1;" {
			t.Fatalf("read %q: the session expired though refreshed", body)
		}
	}
}

func TestPlainIDsStoresTheID(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	m.PlainIDs = true
	c := serve(t, m, app)
	c.get("/put?k=a&v=1")
	if _, found, _ := spy.Store.Load(context.Background(), c.cookie()); !found {
		t.Error("with PlainIDs, no record under the id")
	}
}

func TestIterateAndRevokeUseStoreKeys(t *testing.T) {
	t.Parallel()
	for _, hash := range []bool{true, false} {
		m, spy := newSpy(t, nil)
		m.PlainIDs = !hash
		srv := newServer(t, m.Handler(http.HandlerFunc(app)))
		alice, bob := newClient(t, srv), newClient(t, srv)
		alice.get("/put?k=user&v=alice")
		bob.get("/put?k=user&v=bob")

		ctx := context.Background()
		var keys []string
		err := m.Iterate(ctx, func(s sessionstore.StoredSession) bool {
			if s.Values["user"] == "alice" {
				keys = append(keys, s.Key)
			}
			if s.Created.IsZero() || s.Expiry.IsZero() {
				t.Errorf("StoredSession %+v: missing times", s)
			}
			return true
		})
		if err != nil || len(keys) != 1 {
			t.Fatalf("hash=%v: Iterate: %v, alice's keys %q", hash, err, keys)
		}
		if hash && keys[0] == alice.cookie() {
			t.Error("Iterate reported the id itself")
		}
		if err := m.Revoke(ctx, keys[0]); err != nil {
			t.Fatal(err)
		}
		if _, body := alice.get("/read"); body != "" {
			t.Errorf("hash=%v: alice's revoked session still reads %q", hash, body)
		}
		if _, body := bob.get("/read"); body != "user=bob;" {
			t.Errorf("hash=%v: bob's session reads %q", hash, body)
		}
		if n := count(t, spy); n != 1 {
			t.Errorf("hash=%v: %d sessions stored after Revoke, want 1", hash, n)
		}
	}
}

func TestFlashMessagesByCategory(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	c := serve(t, m, app)
	c.get("/flash?c=info&m=one")
	c.get("/flash?c=error&m=two")
	c.get("/flash?c=info&m=three")
	if _, body := c.get("/flashes?c=info"); body != "info:one;info:three;" {
		t.Errorf("info flashes %q", body)
	}
	if _, body := c.get("/flashes?c=info"); body != "" {
		t.Errorf("info flashes taken twice: %q", body)
	}
	res, body := c.get("/flashes")
	if body != "error:two;" {
		t.Errorf("remaining flashes %q", body)
	}
	if ck := sessionCookie(res); ck == nil || ck.MaxAge >= 0 {
		t.Error("a session emptied by taking its last flash was not deleted")
	}
}
