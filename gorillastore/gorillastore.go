// Package gorillastore makes any sessionstore.Store usable as a
// github.com/gorilla/sessions Store, and so with everything built on
// gorilla/sessions: gin-contrib/sessions, echo-contrib/session and the
// handlers that call sessions.GetRegistry.
//
// The cookie carries only a random session id (256 bits from crypto/rand);
// the values stay on the server, encoded with encoding/gob as gorilla's own
// stores do (register your struct types with gob.Register). The backend
// stores them under a SHA-256 hash of the id, so a leaked database yields no
// usable cookie.
//
// gorilla's Options keep their meaning: MaxAge > 0 sets the cookie's Max-Age
// and the stored session expires with it; MaxAge == 0 gives a browser-session
// cookie while the stored data still expires after BrowserSessionLifetime;
// MaxAge < 0 deletes the session from the store and expires the cookie.
//
// # Coming from gorilla's CookieStore
//
// The cookie defaults differ from gorilla's own stores. New sets Path "/",
// MaxAge 30 days, HttpOnly and SameSite=Lax, and no Secure (a plain-HTTP
// development server would otherwise never get the cookie back).
// sessions.NewCookieStore sets SameSite=None and Secure and not HttpOnly;
// NewFilesystemStore sets none of the three. After a switch from the
// CookieStore, a session used from a cross-site embed (an iframe on another
// site, a cross-site fetch with credentials) is no longer sent: SameSite=Lax
// keeps the cookie off cross-site subrequests. To keep the old behaviour, set
//
//	gs.Options.SameSite = http.SameSiteNoneMode
//	gs.Options.Secure = true // browsers refuse SameSite=None without it
//
// and serve the site over HTTPS. Keep HttpOnly unless scripts must read the
// cookie (they never need the id). Set Options.Secure on any site served
// only over HTTPS. A cookie the CookieStore left behind is not an id this
// package issued: it is a new session, never an error (see Store.New).
//
// Values are encoded with encoding/gob by default, as by gorilla's stores
// (the types your application registered with gob.Register keep working).
// Set Store.Codec to use this library's codecs instead: codec.Default()
// keeps each value's exact Go type at a twentieth of gob's cost, and
// codec.NewMsgPack(Cart{}) registers your structs for this store alone.
// With a Codec, the keys of session.Values must be strings.
package gorillastore

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/codec"
)

// idBytes is the number of random bytes in a session id (256 bits).
const idBytes = 32

// DefaultBrowserSessionLifetime is how long the store keeps a session whose
// cookie has MaxAge 0 (a browser-session cookie).
const DefaultBrowserSessionLifetime = 24 * time.Hour

// ErrInvalidCookie is no longer returned: a session cookie that is not an id
// this package issued gives a new session and no error (see Store.New).
//
// Deprecated: kept so that programs testing for it still compile.
var ErrInvalidCookie = errors.New("gorillastore: invalid session cookie")

// Store is a gorilla/sessions Store over a sessionstore.Store.
type Store struct {
	store sessionstore.Store

	// Options are copied into every new session. Change them before use.
	// Default: Path "/", MaxAge 30 days, HttpOnly, SameSite Lax.
	Options *sessions.Options

	// BrowserSessionLifetime is how long the store keeps a session whose
	// Options.MaxAge is 0. Default: DefaultBrowserSessionLifetime.
	BrowserSessionLifetime time.Duration

	// Codec, when set, encodes session.Values in place of encoding/gob, as
	// a sessionstore.Manager does; their keys must then be strings (a Save
	// of another key fails wrapping codec.ErrEncode). Records written by
	// one encoding do not decode with the other: after a change, Get of a
	// session stored before it fails (see New). Default: nil, gob.
	Codec codec.Codec
}

var _ sessions.Store = (*Store)(nil)

// New returns a gorilla/sessions Store that keeps sessions in s.
func New(s sessionstore.Store) *Store {
	return &Store{
		store: s,
		Options: &sessions.Options{
			Path:     "/",
			MaxAge:   30 * 24 * 60 * 60,
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
		},
		BrowserSessionLifetime: DefaultBrowserSessionLifetime,
	}
}

// Get returns the session named name of r, cached in the request's registry
// so that every Get of one request sees the same session.
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named name from the store, or returns a new one when
// the request has no valid cookie for it. It never returns a nil session,
// even with an error.
//
// A cookie that is not an id this package issued (malformed, forged, or left
// over from another store such as gorilla's CookieStore under the same name)
// gives a new session and no error, as a missing cookie does: frameworks
// built on gorilla/sessions answer an error from Get with a 500 or log it
// on every request, and the stale cookie would keep the visitor there until
// it expired. The next Save replaces it with a fresh id. Only a store error
// or a stored session that does not decode is returned.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(s, name)
	opts := *s.Options
	session.Options = &opts
	session.IsNew = true

	c, err := r.Cookie(name)
	if err != nil {
		return session, nil
	}
	if !validID(c.Value) {
		return session, nil
	}
	rec, found, err := s.store.Load(r.Context(), storeKey(c.Value))
	if err != nil {
		return session, fmt.Errorf("gorillastore: load %q: %w", name, err)
	}
	if !found {
		return session, nil
	}
	values, err := s.decode(rec.Data)
	if err != nil {
		return session, fmt.Errorf("gorillastore: decode %q: %w", name, err)
	}
	session.ID = c.Value
	session.Values = values
	session.IsNew = false
	return session, nil
}

// Save writes session to the store and its id cookie to w. With
// Options.MaxAge < 0 it deletes the session and expires the cookie instead.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	if session.Options.MaxAge < 0 {
		if session.ID != "" && validID(session.ID) {
			if err := s.store.Delete(r.Context(), storeKey(session.ID)); err != nil {
				return fmt.Errorf("gorillastore: delete %q: %w", session.Name(), err)
			}
		}
		http.SetCookie(w, sessions.NewCookie(session.Name(), "", session.Options))
		return nil
	}
	if session.ID == "" || !validID(session.ID) {
		session.ID = newID()
	}
	data, err := s.encode(session.Values)
	if err != nil {
		return fmt.Errorf("gorillastore: encode %q: %w", session.Name(), err)
	}
	if err := s.store.Save(r.Context(), storeKey(session.ID), data, s.expiry(session.Options)); err != nil {
		return fmt.Errorf("gorillastore: save %q: %w", session.Name(), err)
	}
	http.SetCookie(w, sessions.NewCookie(session.Name(), session.ID, session.Options))
	return nil
}

// RenewID deletes the record stored under session's current id and clears
// the id, so that the next Save stores the values under a new one and sets
// its cookie. Call it at login and on any change of privilege, then Save: an
// id an attacker planted or saw before the login is worthless after it
// (session fixation).
func (s *Store) RenewID(ctx context.Context, session *sessions.Session) error {
	if session.ID != "" && validID(session.ID) {
		if err := s.store.Delete(ctx, storeKey(session.ID)); err != nil {
			return fmt.Errorf("gorillastore: renew id of %q: %w", session.Name(), err)
		}
	}
	session.ID = ""
	return nil
}

func (s *Store) expiry(o *sessions.Options) time.Time {
	if o.MaxAge > 0 {
		return time.Now().Add(time.Duration(o.MaxAge) * time.Second)
	}
	lifetime := s.BrowserSessionLifetime
	if lifetime <= 0 {
		lifetime = DefaultBrowserSessionLifetime
	}
	return time.Now().Add(lifetime)
}

func newID() string {
	b := make([]byte, idBytes)
	rand.Read(b) // never fails since Go 1.24: it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// validID reports whether id has the shape of an id from newID, so a forged
// or truncated cookie never reaches the store.
func validID(id string) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(idBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

// storeKey is what the backend stores a session under: a hash of the id, so
// the stored keys cannot be replayed as cookies.
func storeKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// encode encodes values with the Codec, or with gob when there is none.
func (s *Store) encode(values map[any]any) ([]byte, error) {
	if s.Codec == nil {
		return gobEncode(values)
	}
	byName := make(map[string]any, len(values))
	for k, v := range values {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("%w: key %v of type %T: with a Codec, session keys are strings", codec.ErrEncode, k, k)
		}
		byName[name] = v
	}
	return s.Codec.Encode(byName)
}

// decode is encode's inverse.
func (s *Store) decode(data []byte) (map[any]any, error) {
	if s.Codec == nil {
		return gobDecode(data)
	}
	byName, err := s.Codec.Decode(data)
	if err != nil {
		return nil, err
	}
	values := make(map[any]any, len(byName))
	for k, v := range byName {
		values[k] = v
	}
	return values, nil
}

func gobEncode(values map[any]any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(values); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func gobDecode(data []byte) (map[any]any, error) {
	values := make(map[any]any)
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&values); err != nil {
		return nil, err
	}
	return values, nil
}
