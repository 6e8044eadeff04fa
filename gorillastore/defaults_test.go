package gorillastore_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/sessions"
	"github.com/sessionstore/sessionstore/gorillastore"
	"github.com/sessionstore/sessionstore/memory"
)

// TestDefaultsDifferFromCookieStore checks what the package doc says of the
// cookie defaults against gorilla/sessions itself: gorillastore's cookie is
// HttpOnly and SameSite=Lax without Secure, gorilla's CookieStore's is
// SameSite=None and Secure without HttpOnly; setting the two fields the doc
// names gives the CookieStore's attributes back, over a real Save.
func TestDefaultsDifferFromCookieStore(t *testing.T) {
	cs := sessions.NewCookieStore([]byte("0123456789abcdef0123456789abcdef")).Options
	if cs.HttpOnly || cs.SameSite != http.SameSiteNoneMode || !cs.Secure || cs.Path != "/" || cs.MaxAge != 30*86400 {
		t.Fatalf("gorilla's CookieStore defaults are %+v; the package doc says SameSite=None, Secure, not HttpOnly, Path /, 30 days", *cs)
	}
	gs := gorillastore.New(memory.New(memory.Options{}))
	if o := gs.Options; !o.HttpOnly || o.SameSite != http.SameSiteLaxMode || o.Secure || o.Path != "/" || o.MaxAge != cs.MaxAge {
		t.Fatalf("gorillastore's defaults are %+v; the package doc says HttpOnly, SameSite=Lax, no Secure, Path /, 30 days", *o)
	}

	save := func(gs *gorillastore.Store) *http.Cookie {
		t.Helper()
		r := httptest.NewRequest("GET", "/", nil)
		s, err := gs.Get(r, "embed")
		if err != nil {
			t.Fatal(err)
		}
		s.Values["user"] = "ann"
		w := httptest.NewRecorder()
		if err := s.Save(r, w); err != nil {
			t.Fatal(err)
		}
		return setCookie(w.Result(), "embed")
	}
	if c := save(gs); c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
		t.Fatalf("default cookie %v, want HttpOnly, SameSite=Lax, no Secure", c)
	}
	// The old behaviour, for a session carried by cross-site embeds.
	gs.Options.SameSite = http.SameSiteNoneMode
	gs.Options.Secure = true
	if c := save(gs); c == nil || !c.HttpOnly || c.SameSite != http.SameSiteNoneMode || !c.Secure {
		t.Fatalf("cookie %v, want SameSite=None; Secure (and still HttpOnly)", c)
	}
}
