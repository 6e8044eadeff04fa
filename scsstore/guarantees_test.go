package scsstore_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/scsstore"
)

// TestSCSGuarantees backs the README's column for scs over scsstore, over a
// real scs.SessionManager (defaults untouched): a handler that only reads
// sets no cookie and stores no record; the first write sets an HttpOnly,
// SameSite=Lax cookie; a foreign cookie is a new session under a fresh
// token, never adopted.
func TestSCSGuarantees(t *testing.T) {
	store := memory.New(memory.Options{})
	a := newApp(t, store, nil)
	for range 3 {
		resp, err := http.Get(a.server.URL + "/get")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || len(resp.Cookies()) != 0 {
			t.Fatalf("anonymous read: %d, cookies %v; want 200 and no cookie", resp.StatusCode, resp.Cookies())
		}
	}
	if n := count(t, store); n != 0 {
		t.Fatalf("3 anonymous reads stored %d records, want 0", n)
	}

	req, err := http.NewRequest("GET", a.server.URL+"/put?v=x", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", a.sm.Cookie.Name+"=zzz")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == a.sm.Cookie.Name {
			ck = c
		}
	}
	if resp.StatusCode != 200 || ck == nil || ck.Value == "zzz" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Fatalf("write with a foreign cookie: %d, cookie %v; want 200 and a fresh, HttpOnly, SameSite=Lax token", resp.StatusCode, ck)
	}
	if n := count(t, store); n != 1 {
		t.Fatalf("one write stored %d records, want 1", n)
	}
}

// TestCommitEmptyToken: scs's own stores (memstore here) accept an empty
// token; this adapter refuses it with an error wrapping
// sessionstore.ErrInvalidID, as the package doc says, while Find of it
// reports not found and Delete of it does nothing. scs never issues an
// empty token, so only a bug in the caller meets the difference.
func TestCommitEmptyToken(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	ms := memstore.NewWithCleanupInterval(0) // no cleanup goroutine: StopCleanup races it under -race
	if err := ms.Commit("", []byte("x"), exp); err != nil {
		t.Fatalf("scs's memstore refused an empty token (%v): the package doc says it accepts it", err)
	}
	s := scsstore.New(memory.New(memory.Options{}))
	ctx := context.Background()
	if err := s.CommitCtx(ctx, "", []byte("x"), exp); !errors.Is(err, sessionstore.ErrInvalidID) {
		t.Fatalf("Commit of an empty token: %v, want an error wrapping ErrInvalidID", err)
	}
	if _, found, err := s.FindCtx(ctx, ""); found || err != nil {
		t.Fatalf("Find of an empty token: found %v, %v; want not found, no error", found, err)
	}
	if err := s.DeleteCtx(ctx, ""); err != nil {
		t.Fatalf("Delete of an empty token: %v, want nil", err)
	}
}

func count(t *testing.T, s sessionstore.Store) int {
	t.Helper()
	n := 0
	if err := s.(sessionstore.Iterator).Iterate(context.Background(), func(string, sessionstore.Record) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}
