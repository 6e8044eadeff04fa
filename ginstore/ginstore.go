// Package ginstore makes any sessionstore.Store usable with
// gin-contrib/sessions, the session middleware of the gin web framework.
//
// gin-contrib/sessions builds on gorilla/sessions: its Store is a gorilla
// Store plus an Options method. A *Store is a gorillastore.Store with that
// method, so everything gorillastore documents holds: the cookie carries only
// a random 256-bit id, the values stay in the backend under the id's SHA-256
// hash, MaxAge < 0 deletes the session from the store, and MaxAge == 0 gives a
// browser-session cookie while the store still expires the data.
//
// The cookie defaults are gorillastore's, not those of gin-contrib's cookie
// store (sessions/cookie, gorilla's CookieStore underneath): HttpOnly and
// SameSite=Lax without Secure here, SameSite=None and Secure without
// HttpOnly there. A session used from a cross-site embed stops being sent
// after a switch; to keep the old behaviour call Options with SameSite:
// http.SameSiteNoneMode and Secure: true (Options replaces every field, so
// give Path, MaxAge and HttpOnly too). Values are encoded with encoding/gob.
//
// An application free to choose needs no adapter: gin runs inside
// sessionstore's Manager.Handler (m.Handler(engine)) and a handler reads the
// session with sessionstore.FromContext(c.Request.Context()), keeping every
// rule of the Manager (no cookie for readers, Session.LogIn and
// Manager.SessionsOf, the Manager's codec, concurrent requests merged). This
// package is for applications already on gin-contrib/sessions.
//
// This package is a module of its own, so that only the applications that use
// gin get gin in their module graph.
package ginstore

import (
	"context"
	"fmt"

	ginsessions "github.com/gin-contrib/sessions"
	gorillasessions "github.com/gorilla/sessions"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/gorillastore"
)

// Store is a gin-contrib/sessions Store over a sessionstore.Store.
type Store struct {
	*gorillastore.Store
}

var _ ginsessions.Store = (*Store)(nil)

// New returns a gin-contrib/sessions Store that keeps sessions in s, with
// gorillastore's defaults: Path "/", MaxAge 30 days, HttpOnly, SameSite Lax.
func New(s sessionstore.Store) *Store {
	return &Store{gorillastore.New(s)}
}

// Options replaces the options of every session the store creates from now
// on, as gin-contrib's own stores do: fields left zero stay zero, so set
// Path, HttpOnly and SameSite along with MaxAge.
func (s *Store) Options(o ginsessions.Options) {
	s.Store.Options = o.ToGorillaOptions()
}

// RenewID deletes the record stored under the session's current id and
// marks the session for saving under a new id, whose cookie the next Save
// sets. Call it at login and on any change of privilege, then Save: an id an
// attacker planted or saw before the login is worthless after it (session
// fixation). The session must come from sessions.Default or
// sessions.DefaultMany of a middleware using this store.
func (s *Store) RenewID(ctx context.Context, session ginsessions.Session) error {
	// gin-contrib's session type is unexported; its Session method is the
	// only way to the gorilla session and its id.
	gs, ok := session.(interface {
		Session() *gorillasessions.Session
	})
	if !ok {
		return fmt.Errorf("ginstore: renew id: %T is not a gin-contrib/sessions session", session)
	}
	g := gs.Session()
	if err := s.Store.RenewID(ctx, g); err != nil {
		return err
	}
	// Setting options is the one way to mark the session written without
	// touching its values, so that Save sends the new id; the gorilla
	// options are put back since gin's Options lack some of their fields.
	opts := g.Options
	session.Options(ginsessions.Options{})
	g.Options = opts
	return nil
}
