package main

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sessionstore/sessionstore"
)

// demoPassword is the password of every user: this demo is about sessions,
// not accounts.
const demoPassword = "demo"

// sessionLifetime is how long a session lives, counted from its creation.
// The demo sets no idle timeout, so that the cookie of a remembered login,
// whose Max-Age runs to the session's absolute end, and the session itself
// end at the same moment: a permanent cookie that outlived its session
// after 30 idle minutes would promise a login that is no longer there.
const sessionLifetime = 12 * time.Hour

// eventFlash is the flash category of the notes a POST leaves for the page
// it redirects to, saying what it did to the session.
const eventFlash = "event"

// typedUserFlash is the flash category of the user name a failed login
// carries back to the login form, so that the visitor retypes only the
// password.
const typedUserFlash = "typed-user"

// newManager returns the demo's Manager over store.
func newManager(store sessionstore.Store) *sessionstore.Manager {
	m := sessionstore.New(store)
	m.Lifetime = sessionLifetime
	return m
}

// newApp returns the demo's handler. Every page is a GET, which never
// creates a session and writes one only to take its flash messages out;
// every other change is a POST from one of its forms. Cross-origin POSTs
// are refused before the session is even opened.
func newApp(m *sessionstore.Manager) http.Handler {
	a := &app{m: m}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /count", a.count)
	mux.HandleFunc("GET /login", a.loginForm)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /session", a.session)
	mux.HandleFunc("GET /devices", a.devices)
	mux.HandleFunc("POST /devices/sign-out", a.signOutDevice)
	mux.HandleFunc("POST /devices/sign-out-others", a.signOutOthers)
	mux.HandleFunc("/", a.notFound)
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(a.forbidden))
	return csrf.Handler(m.Handler(mux))
}

type app struct {
	m *sessionstore.Manager
}

// page is what every template gets.
type page struct {
	Title   string
	User    string
	Flashes []sessionstore.FlashMessage
	// Events say what the request before this one did to the session.
	Events []string
	// TypedUser is the user name a failed login carried back to its form.
	TypedUser string
	// Took reports whether this request took flash messages out of the
	// session, which writes it.
	Took bool
	// Notes say what this request finds and does.
	Notes []string
	Data  any
}

// render writes the named template with status, taking the session's flash
// messages out (a HEAD request only looks: it never writes the session).
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	a.renderNotes(w, r, status, name, title, data, nil)
}

// renderNotes is render with notes of the page's own, shown before the
// notes every page has.
func (a *app) renderNotes(w http.ResponseWriter, r *http.Request, status int, name, title string, data any, notes []string) {
	s := sessionstore.FromContext(r.Context())
	var flashes []sessionstore.FlashMessage
	if r.Method == http.MethodHead {
		flashes = s.PeekFlashes()
	} else {
		flashes = s.Flashes()
	}
	p := page{Title: title, User: s.GetString("user"), Data: data, Took: len(flashes) > 0 && r.Method != http.MethodHead}
	for _, f := range flashes {
		switch f.Category {
		case eventFlash:
			p.Events = append(p.Events, f.Message)
		case typedUserFlash:
			p.TypedUser = f.Message
		default:
			p.Flashes = append(p.Flashes, f)
		}
	}
	p.Notes = append(notes, a.notes(r, s, flashes)...)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := templates.ExecuteTemplate(w, name, p); err != nil {
		slog.ErrorContext(r.Context(), "demo: render", "template", name, "error", err)
	}
}

// notes describes the session as this request finds it: whether there is
// one, what the cookie holds and for how long, and what taking the flash
// messages out (a write, on a GET) did.
func (a *app) notes(r *http.Request, s *sessionstore.Session, flashes []sessionstore.FlashMessage) []string {
	var out []string
	took := len(flashes) > 0 && r.Method != http.MethodHead
	// Taking the last flash messages out of a session that holds nothing
	// else empties it, so this response deletes it.
	emptied := took && s.Len() == 0 && len(s.PeekFlashes()) == 0
	if took {
		out = append(out, flashNote(flashes, emptied))
	}
	_, cookieErr := r.Cookie(a.cookieName())
	switch {
	case s.Dropped():
		// Only a late request of a renewed id is dropped before it saves.
		out = append(out, "Your browser sent the id your session had before a login renewed it, moments ago: "+
			"a request that left before the new cookie arrived, or a tab that still holds the old one. For a minute after "+
			"a login the old id names only a forward to the renewed session, and a request bearing it sees an empty "+
			"session, stores nothing and sets no cookie: it can neither read the login nor undo it, and no cookie of its "+
			"own replaces the new one. After that minute the old id names nothing.")
	case s.IsNew() && cookieErr != nil:
		out = append(out, "You have no session: your browser sent no session cookie and this page sets none. "+
			"Reading a page (GET or HEAD) never creates a session, so crawlers and link previews leave nothing behind; "+
			"the first button you press does.")
	case s.IsNew():
		out = append(out, "Your browser sent a session cookie that names no live session (it expired, it was signed out "+
			"from another device, or the demo restarted with the in-memory store). It was ignored: an id is never adopted, and a session gets a fresh "+
			"one when something is stored in it.")
	case emptied:
		// flashNote said it.
	default:
		out = append(out, fmt.Sprintf("Your session began at %s; the server ends it at %s, %s after it began, however active you are.",
			when(s.Created()), when(s.Expiry()), hours(sessionLifetime)))
		if s.Permanent() {
			out = append(out, fmt.Sprintf("Your cookie holds only the session's random id, never its values. "+
				"“Remember me” made it a permanent cookie that expires at %s, the moment the session ends, "+
				"so closing the browser does not log you out.", when(s.Expiry())))
		} else {
			out = append(out, "Your cookie holds only the session's random id, never its values. It is a browser-session "+
				"cookie: the browser forgets it when it closes, and the stored session then lingers, unreachable, until it expires.")
		}
	}
	return out
}

// flashNote says which parts of the page came in the flash messages this
// GET took out, and that taking them out wrote the session (or, emptied,
// deleted it).
func flashNote(flashes []sessionstore.FlashMessage, emptied bool) string {
	var parts []string
	messages, events := 0, 0
	typed := false
	for _, f := range flashes {
		switch f.Category {
		case eventFlash:
			events++
		case typedUserFlash:
			typed = true
		default:
			messages++
		}
	}
	switch {
	case messages == 1:
		parts = append(parts, "the message at the top")
	case messages > 1:
		parts = append(parts, "the messages at the top")
	}
	switch {
	case events == 1:
		parts = append(parts, "the note marked “Last request”")
	case events > 1:
		parts = append(parts, "the notes marked “Last request”")
	}
	if typed {
		parts = append(parts, "the user name in the form")
	}
	what, it := "is a flash message", "it"
	if len(flashes) > 1 {
		what, it = "are flash messages", "them"
	}
	subject := parts[0]
	if n := len(parts); n > 1 {
		subject = strings.Join(parts[:n-1], ", ") + " and " + parts[n-1]
	}
	note := strings.ToUpper(subject[:1]) + subject[1:] + " " + what + ": the last request stored " + it +
		" in your session and this page took " + it + " out, so a reload does not show " + it + " again. " +
		"Taking flash messages out is a write, even on a GET: "
	if emptied {
		return note + "your session held nothing else, so this response deletes it from the store and expires its " +
			"cookie. You have no session now."
	}
	return note + "this response saves your session without " + it + "."
}

func (a *app) cookieName() string {
	if a.m.Cookie.Name != "" {
		return a.m.Cookie.Name
	}
	return "session"
}

// home shows the counter. Counting is a POST: home writes the session only
// to take its flash messages out.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	a.render(w, r, http.StatusOK, "home", "Counter", s.GetInt("visits"))
}

// count adds one to the session's counter: the classic first session
// example, as a POST.
func (a *app) count(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	created := s.IsNew()
	s.Update("visits", func(old any) any {
		n, _ := old.(int)
		return n + 1
	})
	if created {
		s.Flash(eventFlash, "Your click created a session: the Manager drew a random 256-bit id, sent it in the cookie "+
			"“"+a.cookieName()+"” (HttpOnly, SameSite=Lax) and stored the counter under the SHA-256 hash of that id.")
	} else {
		s.Flash(eventFlash, "Your click changed the session, so it was saved once; the cookie stayed as it was.")
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *app) loginForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "login", "Log in", hours(sessionLifetime))
}

// login checks the password, then binds the session to the user with
// LogIn, which renews the session id (whatever id the visitor had before,
// perhaps one an attacker planted, is worth nothing now) and lists the
// session among the user's devices, with the browser's user agent.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	user, password := r.PostFormValue("user"), r.PostFormValue("password")
	if user == "" || password != demoPassword {
		s.Flash("error", "Wrong user name or password (the password is “demo”).")
		if user != "" {
			s.Flash(typedUserFlash, user)
		}
		if s.IsNew() {
			s.Flash(eventFlash, "The failed login created a session just to carry its error message and the user name "+
				"you typed back to this form.")
		} else {
			s.Flash(eventFlash, "The failed login stored its error message and the user name you typed in your session, "+
				"to carry them back to this form; the session id did not change.")
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	remember, renewed := r.PostFormValue("remember") == "on", !s.IsNew()
	// The user agent is personal data: the library records none unless
	// the application passes it. This demo does, so that "Your devices"
	// can tell the devices apart; it records no IP address.
	s.LogIn(user, map[string]string{"ua": r.UserAgent()})
	s.Put("user", user)
	s.Put("login_at", time.Now())
	s.SetPermanent(remember)
	s.Flash("success", fmt.Sprintf("Welcome, %s.", user))
	// A visitor with no session gets one at login: there is no id to renew.
	event := "You had no session, so logging in started one under a fresh random id, sent in a new cookie (with a " +
		"session, logging in renews its id instead, so that an id someone saw or planted before the login is worth nothing). "
	if renewed {
		event = "Logging in renewed the session id: the values moved to a new id, sent in a new cookie, so an id someone " +
			"saw or planted before the login is worth nothing. The old id’s record became a forward that lives a minute " +
			"at most: a request still bearing the old id (say, one the login page sent before the new cookie arrived) " +
			"sees an empty session and stores nothing, so it can neither read the login nor undo it. "
	}
	event += "The same call (Session.LogIn) bound the session to “" + user + "” and listed it among " + user + "’s devices " +
		"with your browser’s user agent."
	if remember {
		event += " “Remember me” made the cookie permanent: it lasts as long as the session does."
	} else {
		event += " Without “remember me” the cookie is a browser-session cookie."
	}
	s.Flash(eventFlash, event)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout destroys the session; the flash messages then go into a fresh one,
// which the next page empties and so deletes.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	s.Destroy()
	s.Flash("info", "You are logged out.")
	s.Flash(eventFlash, "Logging out destroyed the session: its record was deleted from the store and the session "+
		"taken off your devices list. These messages travelled in a new session of their own, under a new id.")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// value is one session value as the session page shows it.
type value struct {
	Key, Type, Shown string
}

// sessionInfo is what the session page shows.
type sessionInfo struct {
	Stored bool
	// CookieSent reports whether the browser sent a session cookie,
	// which names no session when Stored is false.
	CookieSent      bool
	Key             string
	Created, Expiry string
	Permanent       bool
	Owner           string
	Cookie          string
	Values          []value
}

// session shows the session as the Manager sees it. It writes the session
// only to take its flash messages out.
func (a *app) session(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	_, cookieErr := r.Cookie(a.cookieName())
	info := sessionInfo{
		Stored: !s.IsNew(), CookieSent: cookieErr == nil, Key: s.Key(),
		Created: when(s.Created()), Expiry: when(s.Expiry()),
		Permanent: s.Permanent(), Owner: s.Owner(), Cookie: a.cookieName(),
	}
	vals := s.Values()
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		info.Values = append(info.Values, value{Key: k, Type: fmt.Sprintf("%T", vals[k]), Shown: show(vals[k])})
	}
	a.render(w, r, http.StatusOK, "session", "Your session", info)
}

// device is one session of the user as the devices page shows it.
type device struct {
	Handle  string
	Current bool
	// Name is what the user agent says the device is; UA is all it says.
	Name, UA string
	Created  string
	// LastSeen is "" when the Manager does not know it (no idle timeout).
	LastSeen string
}

// devicesInfo is what the devices page shows.
type devicesInfo struct {
	Owner   string
	Devices []device
	// Others reports whether a device besides this one is listed.
	Others bool
}

// devices lists the sessions of the logged-in user: the owner's index,
// read through Manager.SessionsOf. It writes the session only to take its
// flash messages out.
func (a *app) devices(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	info := devicesInfo{Owner: s.Owner()}
	if info.Owner == "" {
		a.render(w, r, http.StatusOK, "devices", "Your devices", info)
		return
	}
	list, err := a.m.SessionsOf(r.Context(), info.Owner)
	if err != nil {
		a.storeFailed(w, r, "listing your devices", err)
		return
	}
	for _, os := range list {
		d := device{
			Handle: os.Handle, Current: os.Current, Name: deviceName(os.Meta["ua"]), UA: os.Meta["ua"],
			Created: short(os.Created),
		}
		if !os.LastSeen.IsZero() {
			d.LastSeen = short(os.LastSeen)
		}
		info.Others = info.Others || !os.Current
		info.Devices = append(info.Devices, d)
	}
	notes := []string{
		fmt.Sprintf("This list is %s’s index of sessions. Logging in (Session.LogIn) bound each session to “%s” and "+
			"added it to an index kept in the same store; this page loaded the index, then each session it names, so a "+
			"session that ended (logout, sign-out, expiry) is never listed. No other page reads the index; only logging "+
			"in, logging out and the sign-out buttons write it.",
			info.Owner, info.Owner),
		"Each “Sign out” button sends a random handle, neither the session’s id nor its store key: it signs nothing " +
			"out unless the request comes from a session logged in as the same user. Signing a device out takes its " +
			"session off the index, then deletes it from the store: the device’s next request finds no session and " +
			"starts logged out, and a request of it already under way stores nothing.",
		"The user agent is shown because this demo chooses to record it at login, to tell your devices apart. " +
			"It is personal data: the library records none unless the application passes it. The demo records no IP address.",
	}
	if a.m.IdleTimeout > 0 {
		notes = append(notes, fmt.Sprintf("“Last seen” is right to within %v, a tenth of the idle timeout (%v): the library "+
			"reads it from the session’s expiry, which a request moves forward only once it has moved that much, so "+
			"knowing it costs no write per request.", a.m.IdleTimeout/10, a.m.IdleTimeout))
	} else {
		notes = append(notes, "The list says when each session began but not when it was last used: the library reads "+
			"“last seen” from the session’s expiry, which only an idle timeout moves forward, so that knowing it costs no "+
			"write per request, and this demo sets no idle timeout, so that a remembered login’s cookie and its session "+
			"end at the same moment.")
	}
	a.renderNotes(w, r, http.StatusOK, "devices", "Your devices", info, notes)
}

// signOutDevice signs out one session of the user, named by its handle.
func (a *app) signOutDevice(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	owner := s.Owner()
	if owner == "" {
		a.notLoggedIn(w, r)
		return
	}
	handle := r.PostFormValue("handle")
	// The list names the device in the message, and keeps the button of
	// another device from ending this one: logging out is the header's.
	list, err := a.m.SessionsOf(r.Context(), owner)
	if err != nil {
		a.storeFailed(w, r, "signing a device out", err)
		return
	}
	i := slices.IndexFunc(list, func(os sessionstore.OwnedSession) bool { return os.Handle == handle })
	switch {
	case i < 0:
		alreadySignedOut(s)
	case list[i].Current:
		s.Flash("error", "That is the device you are using: to end its session, log out.")
		s.Flash(eventFlash, "Nothing was signed out: the button named this device’s own session.")
	default:
		// Another request may sign it out first: then it is unknown here.
		err := a.m.RevokeSession(r.Context(), owner, handle)
		if errors.Is(err, sessionstore.ErrUnknownHandle) {
			alreadySignedOut(s)
			break
		}
		if err != nil {
			a.storeFailed(w, r, "signing a device out", err)
			return
		}
		s.Flash("success", fmt.Sprintf("Signed out %s (its session began %s).", deviceName(list[i].Meta["ua"]), short(list[i].Created)))
		s.Flash(eventFlash, "Signing that device out (Manager.RevokeSession with its handle) took its entry off your "+
			"index, then deleted its session from the store. Its next request finds no session and starts logged out. "+
			"Your own session stayed logged in; it only carried these messages to this page.")
	}
	http.Redirect(w, r, "/devices", http.StatusSeeOther)
}

// alreadySignedOut says that a sign-out button named no session of the user.
func alreadySignedOut(s *sessionstore.Session) {
	s.Flash("error", "That device was already signed out.")
	s.Flash(eventFlash, "Nothing was signed out: you have no session with that handle any more "+
		"(it logged out, expired, or was signed out from another device).")
}

// signOutOthers signs out every session of the user but this one.
func (a *app) signOutOthers(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	owner := s.Owner()
	if owner == "" {
		a.notLoggedIn(w, r)
		return
	}
	n, err := a.m.RevokeAll(r.Context(), owner, true)
	if err != nil {
		a.storeFailed(w, r, "signing out your other devices", err)
		return
	}
	switch n {
	case 0:
		s.Flash("info", "No other device was logged in as "+owner+".")
	case 1:
		s.Flash("success", "Signed out 1 other device.")
	default:
		s.Flash("success", fmt.Sprintf("Signed out %d other devices.", n))
	}
	s.Flash(eventFlash, "“Sign out everywhere else” (Manager.RevokeAll, keeping the current session) took every "+
		"other device off your index in one step, then deleted their sessions from the store: each of them starts "+
		"logged out at its next request. A login racing it is either signed out too or listed here.")
	http.Redirect(w, r, "/devices", http.StatusSeeOther)
}

// notLoggedIn answers a sign-out POST from a session with no user.
func (a *app) notLoggedIn(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusForbidden, "error", "Not logged in",
		"You are not logged in, so there is no device of yours to sign out. If you were logged in a moment ago, "+
			"this device was signed out, perhaps from another one.")
}

// storeFailed answers a request whose store call failed.
func (a *app) storeFailed(w http.ResponseWriter, r *http.Request, doing string, err error) {
	slog.ErrorContext(r.Context(), "demo: "+doing, "error", err)
	a.render(w, r, http.StatusInternalServerError, "error", "The store failed",
		"The session store failed while "+doing+": "+err.Error())
}

// deviceName says briefly what a user agent string says the device is:
// "Firefox on Linux".
func deviceName(ua string) string {
	find := func(pairs ...string) string {
		for i := 0; i+1 < len(pairs); i += 2 {
			if strings.Contains(ua, pairs[i]) {
				return pairs[i+1]
			}
		}
		return ""
	}
	// Order matters: Edge and Opera say Chrome too, Chrome says Safari,
	// Android says Linux, an iPhone says "like Mac OS X".
	browser := find("Edg/", "Edge", "OPR/", "Opera", "Firefox/", "Firefox", "HeadlessChrome/", "Headless Chrome",
		"Chrome/", "Chrome", "Safari/", "Safari", "curl/", "curl", "Go-http-client/", "a Go program")
	system := find("Android", "Android", "iPhone", "iPhone", "iPad", "iPad", "Windows", "Windows",
		"Mac OS X", "macOS", "CrOS", "ChromeOS", "Linux", "Linux")
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "A browser on " + system
	case ua == "":
		return "A browser that sent no user agent"
	default:
		return "An unrecognised browser"
	}
}

// short formats a time in the devices table.
func short(t time.Time) string {
	return t.Format("15:04:05 MST, Mon 2 Jan")
}

// notFound answers every path and method the demo does not serve.
func (a *app) notFound(w http.ResponseWriter, r *http.Request) {
	req := r.Method + " " + r.URL.Path
	switch r.URL.Path {
	case "/count", "/logout":
		w.Header().Set("Allow", "POST")
		a.render(w, r, http.StatusMethodNotAllowed, "error", "Method not allowed",
			req+" is not a page: it changes the session, so it is a POST, sent by its button.")
	case "/devices/sign-out", "/devices/sign-out-others":
		w.Header().Set("Allow", "POST")
		a.render(w, r, http.StatusMethodNotAllowed, "error", "Method not allowed",
			req+" is not a page: it signs a device out, so it is a POST, sent by its button on “Your devices”.")
	case "/", "/session", "/devices":
		w.Header().Set("Allow", "GET, HEAD")
		a.render(w, r, http.StatusMethodNotAllowed, "error", "Method not allowed", req+": this page is read with GET (or HEAD).")
	case "/login":
		w.Header().Set("Allow", "GET, HEAD, POST")
		a.render(w, r, http.StatusMethodNotAllowed, "error", "Method not allowed", req+": the login form is read with GET and sent with POST.")
	default:
		a.render(w, r, http.StatusNotFound, "error", "Page not found", "The demo has no page at "+r.URL.Path+".")
	}
}

// forbidden answers a POST that CrossOriginProtection refused. It runs
// outside the session middleware: a refused request never touches the store.
func (a *app) forbidden(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	p := page{Title: "Cross-origin request refused", Data: r.Method + " " + r.URL.Path}
	if err := templates.ExecuteTemplate(w, "forbidden", p); err != nil {
		slog.ErrorContext(r.Context(), "demo: render", "template", "forbidden", "error", err)
	}
}

// when formats a time of the session for the pages.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("15:04:05 MST on Mon 2 Jan 2006")
}

// hours formats a whole number of hours: "12 hours".
func hours(d time.Duration) string {
	return fmt.Sprintf("%d hours", int(d.Hours()))
}

// show formats a session value for the session page.
func show(v any) string {
	switch v := v.(type) {
	case time.Time:
		return v.Format("15:04:05 MST on Mon 2 Jan 2006")
	case string:
		return fmt.Sprintf("%q", v)
	case []byte:
		return fmt.Sprintf("%d bytes: %x", len(v), v)
	default:
		return fmt.Sprint(v)
	}
}

var templates = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · sessionstore demo</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:0 auto;padding:0 1em 3em;color:#222}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.4em 1.2em;border-bottom:1px solid #ddd;padding:.8em 0;margin-bottom:1em}
header .brand{font-weight:600;margin-right:auto}header a{color:#1a56a8;text-decoration:none}
header form{margin:0}button{font:inherit;white-space:nowrap;padding:.35em .9em;border:1px solid #1a56a8;border-radius:4px;background:#1a56a8;color:#fff;cursor:pointer}
header button{background:#fff;color:#1a56a8}
.flash{padding:.6em 1em;border-radius:4px;background:#e8eefb;margin:.5em 0}.error{background:#fde8e8}.success{background:#e6f6ea}
.what{border-left:4px solid #c9a227;background:#fbf7e8;padding:.6em 1em;margin:1.5em 0;font-size:.95em}
.what h2{font-size:1em;margin:0 0 .3em}.what p{margin:.3em 0}.what .event{font-weight:500}
table{border-collapse:collapse;width:100%}td,th{padding:.35em .6em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{color:#555;font-weight:500;width:11em}code{word-break:break-all;font-size:.92em}
.big{font-size:2.4em;font-weight:600}label{display:block;margin:.6em 0}input[type=text],input[type=password]{font:inherit;padding:.3em}
.hint{color:#555;font-size:.92em}
@media (max-width:32em){header .brand{flex-basis:100%}}
.devices td{padding:.6em}.devices td:last-child{text-align:right;vertical-align:middle;width:1%}.devices form{margin:0}
.devices .ua{display:block;font-size:.8em;overflow-wrap:anywhere}
.tag{display:inline-block;font-size:.8em;padding:0 .5em;border-radius:1em;background:#e6f6ea;color:#1d6b33;font-weight:500}
button.quiet{background:#fff;color:#1a56a8}
</style></head><body>
<header><span class="brand">sessionstore demo</span><a href="/">Counter</a><a href="/session">Your session</a>
{{if .User}}<a href="/devices">Your devices</a><form method="post" action="/logout"><button>Log out {{.User}}</button></form>
{{else}}<a href="/login">Log in</a>{{end}}</header>
{{range .Flashes}}<p class="flash {{.Category}}">{{.Message}}</p>{{end}}
<h1>{{.Title}}</h1>{{end}}

{{define "bottom"}}<section class="what"><h2>What is happening</h2>
{{range .Events}}<p class="event"><strong>Last request:</strong> {{.}}</p>{{end}}
{{range .Notes}}<p>{{.}}</p>{{end}}
</section></body></html>{{end}}

{{define "home"}}{{template "top" .}}
<p>{{if .User}}Hello, {{.User}}. {{end}}Visits counted in this session:</p>
<p class="big">{{.Data}}</p>
<form method="post" action="/count"><button>Count a visit</button></form>
<p class="hint">Counting is a POST. {{if .Took}}This page wrote your session only to take its flash messages out
(see below): a GET changes nothing else.{{else}}This page wrote nothing: a GET never creates or changes a session, except
to take its flash messages out.{{end}} {{if not .User}}Count a visit, then log in, to see the
session’s id renewed, and open{{else}}Open{{end}} <a href="/session">your session</a> to see what the server stores. The forms carry no CSRF token:
the session cookie is SameSite=Lax, so browsers do not send it with another site's POST, and cross-origin POSTs are
refused before the session is opened.</p>
{{template "bottom" .}}{{end}}

{{define "login"}}{{template "top" .}}
<form method="post" action="/login">
<label>User <input type="text" name="user" required{{if .TypedUser}} value="{{.TypedUser}}"{{else}} autofocus{{end}}></label>
<label>Password <input type="password" name="password" required{{if .TypedUser}} autofocus{{end}}> <span class="hint">(it is “demo”)</span></label>
<label><input type="checkbox" name="remember"> Remember me</label>
<p class="hint">“Remember me” keeps you logged in when the browser closes: the cookie becomes permanent and
expires when the session does, {{.Data}} after it began. Without it the cookie is forgotten when the browser
closes. Either way the server ends the session {{.Data}} after it began.</p>
<p class="hint">Logging in records your browser’s user agent with the session, so that “Your devices” can tell your
devices apart: this demo chooses to, and it is personal data.</p>
<p><button>Log in</button></p></form>
{{template "bottom" .}}{{end}}

{{define "session"}}{{template "top" .}}
{{with .Data}}{{if .Stored}}
<h2>What the server stores</h2>
<table>
<tr><th>Store key</th><td><code>{{.Key}}</code><br><span class="hint">the SHA-256 hash of the id in your cookie: the store never sees the id itself</span></td></tr>
<tr><th>Created</th><td>{{.Created}}</td></tr>
<tr><th>Expires</th><td>{{.Expiry}}</td></tr>
{{if .Owner}}<tr><th>Owner</th><td>{{.Owner}} <span class="hint">(bound at login: the session is listed on <a href="/devices">Your devices</a>)</span></td></tr>{{end}}
</table>
<h2>Values</h2>
<table>{{range .Values}}<tr><th>{{.Key}}</th><td>{{.Shown}} <span class="hint">({{.Type}})</span></td></tr>
{{else}}<tr><td>(none: it holds only flash messages, which this page takes out)</td></tr>{{end}}</table>
<h2>What your browser holds</h2>
<table>
<tr><th>Cookie</th><td><code>{{.Cookie}}</code>: a random 256-bit id, 43 characters, HttpOnly, SameSite=Lax</td></tr>
<tr><th>Kept</th><td>{{if .Permanent}}until {{.Expiry}} (permanent: “remember me”){{else}}until the browser closes (a browser-session cookie){{end}}</td></tr>
</table>
{{else}}
<p>You have no session: nothing is stored for you{{if .CookieSent}}. Your browser sent a session cookie, but it
names no session the server keeps (see below){{else}} and your browser holds no session cookie{{end}}.
<a href="/">Count a visit</a> or <a href="/login">log in</a> to get one.</p>
{{end}}{{end}}
{{template "bottom" .}}{{end}}

{{define "devices"}}{{template "top" .}}
{{with .Data}}{{if .Owner}}
<p>Every browser logged in as <strong>{{.Owner}}</strong>, oldest session first.</p>
<table class="devices">
{{range .Devices}}<tr><td><strong>{{.Name}}</strong>{{if .Current}} <span class="tag">this device</span>{{end}}<br>
<span class="hint">Session began {{.Created}}{{if .LastSeen}} · last seen {{.LastSeen}}{{end}}</span>
<span class="hint ua">{{.UA}}</span></td>
<td>{{if not .Current}}<form method="post" action="/devices/sign-out"><input type="hidden" name="handle" value="{{.Handle}}"><button class="quiet">Sign out</button></form>{{end}}</td></tr>
{{end}}</table>
{{if .Others}}<form method="post" action="/devices/sign-out-others"><p><button>Sign out everywhere else</button></p></form>
{{else}}<p class="hint">No other device is logged in as {{.Owner}}. Log in as {{.Owner}} in another browser, or in a
private window, and it appears here.</p>{{end}}
{{else}}
<p>You are not logged in, so no device is yours. <a href="/login">Log in</a> here and in another browser as the same
user: both are listed, and each can sign the other out.</p>
{{end}}{{end}}
{{template "bottom" .}}{{end}}

{{define "error"}}{{template "top" .}}
<p>{{.Data}}</p>
<p class="hint">Pages are read with GET, which never creates a session and writes one only to take its flash
messages out; counting, logging in, logging out and signing devices out are POSTs sent by their buttons.</p>
<p><a href="/">Back to the counter</a></p>
{{template "bottom" .}}{{end}}

{{define "forbidden"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · sessionstore demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;color:#222}
.what{border-left:4px solid #c9a227;background:#fbf7e8;padding:.6em 1em}</style></head><body>
<h1>{{.Title}}</h1>
<p><code>{{.Data}}</code> came from another site's page, so it was refused before your session was even opened.</p>
<p class="what">Two defences stop cross-site request forgery here, with no token in the forms: the session cookie is
SameSite=Lax, so browsers do not send it with another site's POST; and Go's http.CrossOriginProtection refuses
cross-origin POSTs, which browsers mark with the Sec-Fetch-Site and Origin headers.</p>
<p><a href="/">Back to the counter</a></p></body></html>{{end}}
`))
