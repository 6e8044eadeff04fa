package sessionstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
)

// TestZeroValueManager serves a Manager written as a literal, with only its
// Store set, over HTTP: it must behave as New's, with the cookie and the
// store key each field's doc promises by default.
func TestZeroValueManager(t *testing.T) {
	t.Parallel()
	store := memory.New(memory.Options{})
	m := &sessionstore.Manager{Store: store}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		if v := r.URL.Query().Get("put"); v != "" {
			s.Put("k", v)
		}
		v, _ := sessionstore.Get[string](s, "k")
		io.WriteString(w, v)
	})))
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/?put=one")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first write: %s, want 200", resp.Status)
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			ck = c
		}
	}
	if ck == nil {
		t.Fatalf("Set-Cookie %q: want a cookie named \"session\"", resp.Header.Values("Set-Cookie"))
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure || ck.MaxAge != 0 {
		t.Errorf("cookie %q: want HttpOnly, SameSite=Lax, Path=/, no Secure over plain HTTP, no Max-Age", resp.Header.Get("Set-Cookie"))
	}

	ctx := context.Background()
	if _, found, _ := store.Load(ctx, ck.Value); found {
		t.Error("a record is stored under the id itself: want it under the id's hash (PlainIDs defaults to false)")
	}
	sum := sha256.Sum256([]byte(ck.Value))
	if _, found, _ := store.Load(ctx, base64.RawURLEncoding.EncodeToString(sum[:])); !found {
		t.Error("no record under the id's SHA-256 hash")
	}

	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.AddCookie(ck)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "one" {
		t.Errorf("read back %q, want \"one\"", body)
	}
}
