package sessionstore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"
	"time"
)

// Session ids are idBytes random bytes from crypto/rand, base64url-encoded
// without padding: idLen characters.
const (
	idBytes = 32 // 256 bits
	idLen   = 43 // base64.RawURLEncoding.EncodedLen(idBytes)
)

// SecureMode says when the session cookie gets the Secure attribute.
type SecureMode int

const (
	// SecureAuto sets Secure when the request came over TLS (r.TLS != nil),
	// or through a proxy listed in CookieOptions.TrustedProxies that says
	// "X-Forwarded-Proto: https". Behind a proxy that terminates TLS the
	// request itself does not look like TLS, so without TrustedProxies the
	// cookie there gets no Secure: list the proxy, or use SecureAlways when
	// the site is served only over HTTPS.
	SecureAuto SecureMode = iota
	// SecureAlways always sets Secure.
	SecureAlways
	// SecureNever never sets Secure, for plain-HTTP development setups.
	SecureNever
)

// CookieOptions are the attributes of the session cookie. Every field's zero
// value means its default, so a zero CookieOptions (as in a Manager
// literal) gives the same cookie as [New].
type CookieOptions struct {
	// Name is the cookie's name. Name it "__Host-session" (with Path "/",
	// no Domain and Secure) to stop sibling subdomains from planting a
	// cookie of the same name.
	//
	// Default "session", also used when empty.
	Name string

	// Domain is the cookie's Domain attribute.
	//
	// Default "": the cookie goes back only to the host that set it.
	Domain string

	// Path is the cookie's Path attribute.
	//
	// Default "/", also used when empty.
	Path string

	// ScriptReadable leaves out the HttpOnly attribute, so that JavaScript
	// can read the cookie and an injected script can steal the session. It
	// is inverted (rather than an HttpOnly that defaults to true) so that
	// the zero value, as in a Manager literal, is the safe setting.
	//
	// Default false: the cookie is HttpOnly.
	ScriptReadable bool

	// SameSite is the cookie's SameSite attribute. Lax keeps the cookie off
	// cross-site subrequests and cross-site POSTs; it is not by itself a
	// CSRF defence (see the package documentation).
	//
	// Default http.SameSiteLaxMode, also used when 0;
	// http.SameSiteDefaultMode sends no SameSite attribute.
	SameSite http.SameSite

	// Secure says when the cookie gets the Secure attribute.
	//
	// Default SecureAuto: when the request came over TLS.
	Secure SecureMode

	// TrustedProxies are the addresses of the proxies in front of the
	// application that terminate TLS. With SecureAuto, a request whose
	// peer (r.RemoteAddr) is in one of them and whose X-Forwarded-Proto
	// says "https" counts as TLS and gets a Secure cookie. Of several
	// X-Forwarded-Proto values the last counts: the one the nearest proxy
	// added. Only the proxy's own address is trusted, so that a client
	// reaching the application directly cannot choose; a middleware that
	// rewrites r.RemoteAddr to the client's address (a "real IP"
	// middleware) must then run after Manager.Handler, not before.
	//
	// Default nil: X-Forwarded-Proto is ignored.
	TrustedProxies []netip.Prefix

	// Partitioned sets the Partitioned attribute (CHIPS), for sessions in
	// third-party iframes. Browsers require Secure with it.
	//
	// Default false.
	Partitioned bool

	// Lifetime is how long the cookie of a permanent session lasts (its
	// Max-Age), counted from when the cookie is set. It is a separate
	// setting from the store lifetime: the server expires the session at
	// Manager.Lifetime or Manager.IdleTimeout whatever the cookie says.
	// A session that is not permanent gets a browser-session cookie, with
	// no Max-Age.
	//
	// Default 0: until the session's absolute expiry, created +
	// Manager.Lifetime.
	Lifetime time.Duration
}

// Defaults of the cookie's attributes, used where a CookieOptions field is
// zero.
const (
	defaultCookieName = "session"
	defaultCookiePath = "/"
)

// defaultCookie is the CookieOptions that New sets: the defaults, written
// out so that a program reading m.Cookie sees them.
var defaultCookie = CookieOptions{
	Name:     defaultCookieName,
	Path:     defaultCookiePath,
	SameSite: http.SameSiteLaxMode,
}

// name returns the cookie's name, or its default.
func (co *CookieOptions) name() string {
	if co.Name == "" {
		return defaultCookieName
	}
	return co.Name
}

// validCookieName reports whether name is a token (RFC 6265 section 4.1.1,
// RFC 7230 section 3.2.6), as net/http requires of a cookie's name, so that
// a bad name is refused before a session is stored rather than when its
// cookie is written.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// secure reports whether the cookie set in answer to r gets Secure.
func (co *CookieOptions) secure(r *http.Request) bool {
	switch co.Secure {
	case SecureAlways:
		return true
	case SecureNever:
		return false
	}
	return r.TLS != nil || len(co.TrustedProxies) > 0 && forwardedHTTPS(r, co.TrustedProxies)
}

// forwardedHTTPS reports whether r came from one of proxies and the last
// X-Forwarded-Proto value, the one the nearest proxy set, is "https".
func forwardedHTTPS(r *http.Request, proxies []netip.Prefix) bool {
	vals := r.Header.Values("X-Forwarded-Proto")
	if len(vals) == 0 {
		return false
	}
	last := vals[len(vals)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	if !strings.EqualFold(textproto.TrimString(last), "https") {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// newID returns a fresh session id.
func newID() string {
	var b [idBytes]byte
	rand.Read(b[:]) // never fails; it crashes the program if the OS cannot give randomness
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validID reports whether v has the form of an id newID returns. Anything
// else is not looked up.
func validID(v string) bool {
	if len(v) != idLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// hashID returns the store key of id when ids are hashed: SHA-256,
// base64url-encoded without padding (43 characters).
func hashID(id string) string {
	var in, out [idLen]byte // on the stack: the string is the one allocation
	sum := sha256.Sum256(in[:copy(in[:], id)])
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:])
}

// cookieID returns the first value of the cookie named name in h that is a
// well-formed session id, or "" when there is none. Cookies of the name that
// are malformed, oversized or repeated after the first well-formed one are
// ignored. It reads the Cookie header as net/http does (RFC 6265 section
// 5.4: parts separated by ";", optional double quotes around the value) but
// allocates nothing.
func cookieID(h http.Header, name string) string {
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			n, v, ok := strings.Cut(textproto.TrimString(part), "=")
			if !ok || textproto.TrimString(n) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if validID(v) {
				return v
			}
		}
	}
	return ""
}

// setCookie replaces any Set-Cookie for the session cookie in h with c.
func setCookie(h http.Header, c *http.Cookie) error {
	line := c.String()
	if line == "" {
		return fmt.Errorf("invalid cookie name %q", c.Name)
	}
	prefix := c.Name + "="
	lines := h["Set-Cookie"]
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, prefix) {
			kept = append(kept, l)
		}
	}
	h["Set-Cookie"] = append(kept, line)
	return nil
}
