package main

import (
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"slices"
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

// newManager returns the demo's Manager over store.
func newManager(store sessionstore.Store) *sessionstore.Manager {
	m := sessionstore.New(store)
	m.Lifetime = sessionLifetime
	return m
}

// newApp returns the demo's handler. Every page is a GET, which never
// creates a session (taking flash messages out is the only write a GET
// makes); every change is a POST from one of its forms. Cross-origin POSTs
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
	// Notes say what this request finds and does.
	Notes []string
	Data  any
}

// render writes the named template with status, taking the session's flash
// messages out (a HEAD request only looks: it never writes the session).
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	s := sessionstore.FromContext(r.Context())
	var flashes []sessionstore.FlashMessage
	if r.Method == http.MethodHead {
		flashes = s.PeekFlashes()
	} else {
		flashes = s.Flashes()
	}
	p := page{Title: title, User: s.GetString("user"), Data: data}
	for _, f := range flashes {
		if isEvent(f) {
			p.Events = append(p.Events, f.Message)
		} else {
			p.Flashes = append(p.Flashes, f)
		}
	}
	p.Notes = a.notes(r, s, flashes)
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
	if took {
		what := "The messages at the top and the note marked “Last request” are flash messages"
		switch {
		case !slices.ContainsFunc(flashes, isEvent):
			what = "The messages at the top are flash messages"
		case slices.IndexFunc(flashes, func(f sessionstore.FlashMessage) bool { return !isEvent(f) }) < 0:
			what = "The note marked “Last request” is a flash message"
		}
		out = append(out, what+": the last request stored them in your session and this page took them out, "+
			"saving the session without them, so a reload does not show them again.")
	}
	_, cookieErr := r.Cookie(a.cookieName())
	switch {
	case s.IsNew() && cookieErr != nil:
		out = append(out, "You have no session: your browser sent no session cookie and this page sets none. "+
			"Reading a page (GET or HEAD) never creates a session, so crawlers and link previews leave nothing behind; "+
			"the first button you press does.")
	case s.IsNew():
		out = append(out, "Your browser sent a session cookie that names no live session (it expired, or the demo "+
			"restarted with the in-memory store). It was ignored: an id is never adopted, and a session gets a fresh "+
			"one when something is stored in it.")
	case took && s.Len() == 0 && len(s.PeekFlashes()) == 0:
		out = append(out, "Your session held nothing else, so this response deletes it from the store and expires "+
			"its cookie: you have no session now.")
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

func isEvent(f sessionstore.FlashMessage) bool { return f.Category == eventFlash }

func (a *app) cookieName() string {
	if a.m.Cookie.Name != "" {
		return a.m.Cookie.Name
	}
	return "session"
}

// home shows the counter. It only reads the session: counting is a POST.
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

// login checks the password, then renews the session id (whatever id the
// visitor had before, perhaps one an attacker planted, is worth nothing
// now) and stores the user.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	user, password := r.PostFormValue("user"), r.PostFormValue("password")
	if user == "" || password != demoPassword {
		s.Flash("error", "Wrong user name or password (the password is “demo”).")
		if s.IsNew() {
			s.Flash(eventFlash, "The failed login created a session just to carry its error message to the next page.")
		} else {
			s.Flash(eventFlash, "The failed login stored its error message in your session; the session id did not change.")
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	remember := r.PostFormValue("remember") == "on"
	s.RenewID()
	s.Put("user", user)
	s.Put("login_at", time.Now())
	s.SetPermanent(remember)
	s.Flash("success", fmt.Sprintf("Welcome, %s.", user))
	event := "Logging in renewed the session id: the values moved to a new id, the old id was deleted from the store " +
		"and a new cookie was sent, so an id someone saw or planted before the login is worth nothing."
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
	s.Flash(eventFlash, "Logging out destroyed the session: its record was deleted from the store. These messages "+
		"travelled in a new session of their own, under a new id.")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// value is one session value as the session page shows it.
type value struct {
	Key, Type, Shown string
}

// sessionInfo is what the session page shows.
type sessionInfo struct {
	Stored          bool
	Key             string
	Created, Expiry string
	Permanent       bool
	Cookie          string
	Values          []value
}

// session shows the session as the Manager sees it. It only reads.
func (a *app) session(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	info := sessionInfo{
		Stored: !s.IsNew(), Key: s.Key(),
		Created: when(s.Created()), Expiry: when(s.Expiry()),
		Permanent: s.Permanent(), Cookie: a.cookieName(),
	}
	vals := s.Values()
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		info.Values = append(info.Values, value{Key: k, Type: fmt.Sprintf("%T", vals[k]), Shown: show(vals[k])})
	}
	a.render(w, r, http.StatusOK, "session", "Your session", info)
}

// notFound answers every path and method the demo does not serve.
func (a *app) notFound(w http.ResponseWriter, r *http.Request) {
	req := r.Method + " " + r.URL.Path
	switch r.URL.Path {
	case "/count", "/logout":
		w.Header().Set("Allow", "POST")
		a.render(w, r, http.StatusMethodNotAllowed, "error", "Method not allowed",
			req+" is not a page: it changes the session, so it is a POST, sent by its button.")
	case "/", "/session":
		w.Header().Set("Allow", "GET, HEAD")
		a.render(w, r, http.StatusMethodNotAllowed, "error", "Method not allowed", req+": this page is only read, with GET.")
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
header{display:flex;align-items:center;gap:1.2em;border-bottom:1px solid #ddd;padding:.8em 0;margin-bottom:1em}
header .brand{font-weight:600;margin-right:auto}header a{color:#1a56a8;text-decoration:none}
header form{margin:0}button{font:inherit;padding:.35em .9em;border:1px solid #1a56a8;border-radius:4px;background:#1a56a8;color:#fff;cursor:pointer}
header button{background:#fff;color:#1a56a8}
.flash{padding:.6em 1em;border-radius:4px;background:#e8eefb;margin:.5em 0}.error{background:#fde8e8}.success{background:#e6f6ea}
.what{border-left:4px solid #c9a227;background:#fbf7e8;padding:.6em 1em;margin:1.5em 0;font-size:.95em}
.what h2{font-size:1em;margin:0 0 .3em}.what p{margin:.3em 0}.what .event{font-weight:500}
table{border-collapse:collapse;width:100%}td,th{padding:.35em .6em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{color:#555;font-weight:500;width:11em}code{word-break:break-all;font-size:.92em}
.big{font-size:2.4em;font-weight:600}label{display:block;margin:.6em 0}input[type=text],input[type=password]{font:inherit;padding:.3em}
.hint{color:#555;font-size:.92em}
</style></head><body>
<header><span class="brand">sessionstore demo</span><a href="/">Counter</a><a href="/session">Your session</a>
{{if .User}}<form method="post" action="/logout"><button>Log out {{.User}}</button></form>
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
<p class="hint">Counting is a POST: this page only reads your session. {{if not .User}}Log in to see the id renewed,
and open{{else}}Open{{end}} <a href="/session">your session</a> to see what the server stores. The forms carry no CSRF token:
the session cookie is SameSite=Lax, so browsers do not send it with another site's POST, and cross-origin POSTs are
refused before the session is opened.</p>
{{template "bottom" .}}{{end}}

{{define "login"}}{{template "top" .}}
<form method="post" action="/login">
<label>User <input type="text" name="user" required autofocus></label>
<label>Password <input type="password" name="password" required> <span class="hint">(it is “demo”)</span></label>
<label><input type="checkbox" name="remember"> Remember me</label>
<p class="hint">“Remember me” keeps you logged in when the browser closes: the cookie becomes permanent and
expires when the session does, {{.Data}} after it began. Without it the cookie is forgotten when the browser
closes. Either way the server ends the session {{.Data}} after it began.</p>
<p><button>Log in</button></p></form>
{{template "bottom" .}}{{end}}

{{define "session"}}{{template "top" .}}
{{with .Data}}{{if .Stored}}
<h2>What the server stores</h2>
<table>
<tr><th>Store key</th><td><code>{{.Key}}</code><br><span class="hint">the SHA-256 hash of the id in your cookie: the store never sees the id itself</span></td></tr>
<tr><th>Created</th><td>{{.Created}}</td></tr>
<tr><th>Expires</th><td>{{.Expiry}}</td></tr>
</table>
<h2>Values</h2>
<table>{{range .Values}}<tr><th>{{.Key}}</th><td>{{.Shown}} <span class="hint">({{.Type}})</span></td></tr>
{{else}}<tr><td>(none besides flash messages)</td></tr>{{end}}</table>
<h2>What your browser holds</h2>
<table>
<tr><th>Cookie</th><td><code>{{.Cookie}}</code>: a random 256-bit id, 43 characters, HttpOnly, SameSite=Lax</td></tr>
<tr><th>Kept</th><td>{{if .Permanent}}until {{.Expiry}} (permanent: “remember me”){{else}}until the browser closes (a browser-session cookie){{end}}</td></tr>
</table>
{{else}}
<p>You have no session yet: nothing is stored for you and your browser holds no session cookie.
<a href="/">Count a visit</a> or <a href="/login">log in</a> to get one.</p>
{{end}}{{end}}
{{template "bottom" .}}{{end}}

{{define "error"}}{{template "top" .}}
<p>{{.Data}}</p>
<p class="hint">Pages are read with GET, which never changes a session; counting, logging in and logging out
are POSTs sent by their buttons.</p>
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
