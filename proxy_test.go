package sessionstore_test

import (
	"net/netip"
	"testing"

	"github.com/sessionstore/sessionstore"
)

// TestSecureCookieBehindTLSProxy: behind a proxy that terminates TLS the
// request arrives over plain HTTP (from 127.0.0.1 here, the proxy's address);
// SecureAuto sets Secure when that proxy is trusted and says
// "X-Forwarded-Proto: https", and only then.
func TestSecureCookieBehindTLSProxy(t *testing.T) {
	t.Parallel()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	other := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name    string
		mode    sessionstore.SecureMode
		proxies []netip.Prefix
		hdr     []string
		secure  bool
	}{
		{"trusted proxy says https", sessionstore.SecureAuto, loopback, []string{"X-Forwarded-Proto", "https"}, true},
		{"trusted proxy, last of several values counts", sessionstore.SecureAuto, loopback, []string{"X-Forwarded-Proto", "http, HTTPS"}, true},
		{"trusted proxy says http", sessionstore.SecureAuto, loopback, []string{"X-Forwarded-Proto", "https, http"}, false},
		{"trusted proxy, no header", sessionstore.SecureAuto, loopback, nil, false},
		{"peer is not a trusted proxy", sessionstore.SecureAuto, other, []string{"X-Forwarded-Proto", "https"}, false},
		{"no trusted proxies: header ignored", sessionstore.SecureAuto, nil, []string{"X-Forwarded-Proto", "https"}, false},
		{"SecureNever wins", sessionstore.SecureNever, loopback, []string{"X-Forwarded-Proto", "https"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, _ := newSpy(t, nil)
			m.Cookie.Secure = tc.mode
			m.Cookie.TrustedProxies = tc.proxies
			res, _ := serve(t, m, app).do("GET", "/put?k=a&v=1", tc.hdr...)
			ck := sessionCookie(res)
			if ck == nil || ck.Secure != tc.secure {
				t.Errorf("Set-Cookie %q: want Secure=%v", res.Header.Get("Set-Cookie"), tc.secure)
			}
		})
	}
}
