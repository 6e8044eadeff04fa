package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/migrate"
)

// TestMigrateWhileTrafficFlows runs the README's sequence for moving an
// application from Redis to PostgreSQL: the application runs over the old
// store, is deployed over the migrate wrapper, copy runs, and it is deployed
// over the new store alone, all while clients keep making requests. Each
// client counts in its session and checks every answer: a lost session or
// a lost write restarts or skips a count. Some clients log out now and then
// and check that the next request starts afresh: a logout during the move
// must not come back from the old store.
func TestMigrateWhileTrafficFlows(t *testing.T) {
	bs := map[string]backend{}
	for _, b := range backends() {
		bs[b.name] = b
	}
	oldURL, newURL := bs["redis"].url(t), bs["postgres"].url(t)
	old, new := openStore(t, oldURL), openStore(t, newURL)

	// The application: a counter in the session; /logout ends the session.
	// "Deploying" swaps the Manager once the requests in flight on the
	// previous one are done, as a rolling deploy of every instance would.
	var deploy sync.RWMutex
	var current *sessionstore.Manager
	setManager := func(st sessionstore.Store) {
		m := sessionstore.New(st)
		deploy.Lock()
		current = m
		deploy.Unlock()
	}
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		if r.URL.Path == "/logout" {
			s.Destroy()
			return
		}
		n := s.GetInt("n") + 1
		s.Put("n", n)
		fmt.Fprint(w, n)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deploy.RLock()
		defer deploy.RUnlock()
		current.Handler(count).ServeHTTP(w, r)
	}))
	defer srv.Close()
	setManager(old.Store)

	// The clients, each one request at a time with its own cookie jar.
	const clients = 16
	stop := make(chan struct{})
	var requests atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
			want := 0
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				if i%4 == 0 && j%7 == 6 { // a quarter of the clients log out now and then
					resp, err := c.Post(srv.URL+"/logout", "", nil)
					if err != nil {
						errs <- err
						return
					}
					resp.Body.Close()
					want = 0
					continue
				}
				resp, err := c.Post(srv.URL+"/", "", nil)
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				got, _ := strconv.Atoi(string(body))
				want++
				requests.Add(1)
				if err != nil || resp.StatusCode != http.StatusOK || got != want {
					errs <- fmt.Errorf("client %d, request %d: status %d, count %q; want %d", i, j, resp.StatusCode, body, want)
					return
				}
			}
		})
	}
	// waitRequests lets the clients make n more requests.
	waitRequests := func(n int64) {
		t.Helper()
		target := requests.Load() + n
		deadline := time.Now().Add(30 * time.Second)
		for requests.Load() < target && time.Now().Before(deadline) && len(errs) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}

	// Idle clients: sessions made before the move that see no request
	// until it is over, so only copy can bring them to the new store; one
	// of them logs out while the wrapper runs.
	idle := make([]*idleClient, 10)
	for i := range idle {
		idle[i] = newIdleClient(t, srv.URL)
		for range 3 {
			idle[i].count(t)
		}
	}

	waitRequests(200) // sessions exist in the old store only
	setManager(migrate.New(old.Store, new.Store))
	waitRequests(200)
	idle[0].logout(t)
	r := sessionstoreCmd(t, "copy", oldURL, newURL).want(t, exitOK)
	if !strings.HasPrefix(r.stdout, fmt.Sprintf("copied %d records", len(idle)-1)) {
		t.Errorf("copy printed %q; want it to copy the %d idle sessions left", r.stdout, len(idle)-1)
	}
	t.Logf("while %d requests had been answered: %s", requests.Load(), strings.TrimSpace(r.stdout))
	waitRequests(100)
	setManager(new.Store) // the old store is no longer read
	for _, c := range idle {
		c.count(t)
	}
	waitRequests(200)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d requests in all", requests.Load())
}

// idleClient makes one request at a time when the test says so.
type idleClient struct {
	c    *http.Client
	url  string
	want int
}

func newIdleClient(t *testing.T, url string) *idleClient {
	jar, _ := cookiejar.New(nil)
	return &idleClient{c: &http.Client{Jar: jar, Timeout: 10 * time.Second}, url: url}
}

// count makes a request and checks that the session counted it.
func (c *idleClient) count(t *testing.T) {
	t.Helper()
	resp, err := c.c.Post(c.url+"/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.want++
	if got, _ := strconv.Atoi(string(body)); got != c.want {
		t.Errorf("an idle session counted %q; want %d", body, c.want)
	}
}

func (c *idleClient) logout(t *testing.T) {
	t.Helper()
	resp, err := c.c.Post(c.url+"/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c.want = 0
}
