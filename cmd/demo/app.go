package main

import (
	"cmp"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/sessionstore/sessionstore"
)

// demoPassword is the password of every user: this demo is about sessions,
// not accounts.
const demoPassword = "demo"

// newApp returns the demo's handler. Cross-origin form posts are refused
// before the session is even opened; the session middleware then wraps
// the pages.
func newApp(m *sessionstore.Manager) http.Handler {
	a := &app{m: m}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.loginForm)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /session", a.session)
	return http.NewCrossOriginProtection().Handler(m.Handler(mux))
}

type app struct {
	m *sessionstore.Manager
}

// page is what every template gets.
type page struct {
	Title   string
	User    string
	Flashes []sessionstore.FlashMessage
	Data    any
}

// render takes the session's flash messages and writes the named template.
func (a *app) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	s := sessionstore.FromContext(r.Context())
	p := page{Title: title, User: s.GetString("user"), Flashes: s.Flashes(), Data: data}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := templates.ExecuteTemplate(w, name, p); err != nil {
		slog.ErrorContext(r.Context(), "demo: render", "template", name, "error", err)
	}
}

// home counts the visits of the session: the classic first session example.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	s.Update("visits", func(old any) any {
		n, _ := old.(int)
		return n + 1
	})
	a.render(w, r, "home", "Visit counter", s.GetInt("visits"))
}

func (a *app) loginForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, "login", "Log in", nil)
}

// login checks the password, then renews the session id (whatever id the
// visitor had before, perhaps one an attacker planted, is worth nothing
// now) and stores the user.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	user, password := r.PostFormValue("user"), r.PostFormValue("password")
	if user == "" || password != demoPassword {
		s.Flash("error", "Wrong user name or password (the password is “demo”).")
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.RenewID()
	s.Put("user", user)
	s.Put("login_at", time.Now())
	s.SetPermanent(r.PostFormValue("remember") == "on")
	s.Flash("success", fmt.Sprintf("Welcome, %s.", user))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout destroys the session; the flash message then goes into a fresh one.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	s.Destroy()
	s.Flash("info", "You are logged out.")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// sessionInfo is what the session page shows.
type sessionInfo struct {
	Values                   map[string]any
	Key                      string
	Created, Expiry          string
	New, Modified, Permanent bool
}

// session shows the session as the Manager sees it. Reading it changes
// nothing, so this page writes nothing back.
func (a *app) session(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	info := sessionInfo{
		Values: s.Values(), Key: cmp.Or(s.Key(), "(not stored)"),
		Created: stamp(s.Created()), Expiry: stamp(s.Expiry()),
		New: s.IsNew(), Modified: s.Modified(), Permanent: s.Permanent(),
	}
	a.render(w, r, "session", "Your session", info)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format(time.RFC1123)
}

var templates = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · sessionstore demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42em;margin:2em auto;padding:0 1em}
nav a,nav button{margin-right:1em}.flash{padding:.5em 1em;border-radius:4px;background:#eef}
.error{background:#fee}.success{background:#efe}td{padding:0 1em 0 0;vertical-align:top}
code{word-break:break-all}</style></head><body>
<nav><a href="/">Counter</a><a href="/session">Session</a>
{{if .User}}<form method="post" action="/logout" style="display:inline"><button>Log out {{.User}}</button></form>
{{else}}<a href="/login">Log in</a>{{end}}</nav>
{{range .Flashes}}<p class="flash {{.Category}}">{{.Message}}</p>{{end}}
<h1>{{.Title}}</h1>{{end}}

{{define "bottom"}}</body></html>{{end}}

{{define "home"}}{{template "top" .}}
<p>{{if .User}}Hello, {{.User}}. {{end}}You have visited this page <strong>{{.Data}}</strong> time{{if ne .Data 1}}s{{end}} in this session.</p>
{{template "bottom"}}{{end}}

{{define "login"}}{{template "top" .}}
<form method="post" action="/login">
<p><label>User <input name="user" required autofocus></label></p>
<p><label>Password <input name="password" type="password" required></label> (it is “demo”)</p>
<p><label><input type="checkbox" name="remember"> Remember me (a permanent cookie)</label></p>
<p><button>Log in</button></p></form>
{{template "bottom"}}{{end}}

{{define "session"}}{{template "top" .}}
<table>
<tr><td>Store key</td><td><code>{{.Data.Key}}</code> (SHA-256 of the id in your cookie)</td></tr>
<tr><td>Created</td><td>{{.Data.Created}}</td></tr>
<tr><td>Expires</td><td>{{.Data.Expiry}}</td></tr>
<tr><td>Flags</td><td>new={{.Data.New}} modified={{.Data.Modified}} permanent={{.Data.Permanent}}</td></tr>
</table>
<h2>Values</h2>
<table>{{range $k, $v := .Data.Values}}<tr><td>{{$k}}</td><td><code>{{printf "%#v" $v}}</code></td></tr>
{{else}}<tr><td>(none)</td></tr>{{end}}</table>
{{template "bottom"}}{{end}}
`))
