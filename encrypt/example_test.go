package encrypt_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/encrypt"
	"github.com/sessionstore/sessionstore/memory"
)

// Turning encryption on: the keys come from the environment in production
// (SESSION_KEYS="1:<44 base64 characters>"), the store is any Store, and the
// Manager is used as always.
func Example() {
	text := must(encrypt.GenerateKey("1")) // in production: os.Getenv("SESSION_KEYS")
	keys, err := encrypt.ParseKeys(text)
	if err != nil {
		log.Fatal(err) // a short, malformed or duplicate key stops the program here
	}
	backend := memory.New(memory.Options{}) // or redis.New, postgres.New, ...
	defer backend.Close()
	store, err := encrypt.New(backend, keys, encrypt.Options{})
	if err != nil {
		log.Fatal(err)
	}
	m := sessionstore.New(store)

	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).Put("email", "ann@example.com")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))

	// What the backend holds: sealed, 31 bytes longer, no e-mail in sight.
	backend.Iterate(context.Background(), func(_ string, rec sessionstore.Record) bool {
		fmt.Println("e-mail in clear at rest:", strings.Contains(string(rec.Data), "ann@example.com"))
		return true
	})
	fmt.Println("overhead per record:", keys.Overhead(), "bytes")
	// Output:
	// e-mail in clear at rest: false
	// overhead per record: 31 bytes
}

// Rotating from key "1" to key "2": make "2" primary while "1" still opens
// the records it sealed, reseal them all, then drop "1".
func ExampleReencrypt() {
	k1 := must(encrypt.GenerateKey("1"))
	k2 := must(encrypt.GenerateKey("2"))
	backend := memory.New(memory.Options{})
	defer backend.Close()
	ctx := context.Background()

	old := must(encrypt.New(backend, must(encrypt.ParseKeys(k1)), encrypt.Options{}))
	for i := range 3 {
		if err := old.Save(ctx, fmt.Sprint("session-", i), []byte("data"), time.Now().Add(time.Hour)); err != nil {
			log.Fatal(err)
		}
	}

	// Steps 1 and 2 of the rotation: every process runs with "2,1".
	during := must(encrypt.ParseKeys(k2 + "," + k1))
	store := must(encrypt.New(backend, during, encrypt.Options{}))

	// Step 3: reseal, reporting progress.
	p, err := encrypt.Reencrypt(ctx, store, func(p encrypt.Progress) {
		fmt.Printf("visited %d of %d\n", p.Visited, p.Total)
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("resealed %d, already under %s: %d\n", p.Rewritten, during.Primary(), p.Current)

	// Step 4: "1" is retired, and every session still opens.
	retired := must(encrypt.New(backend, must(encrypt.ParseKeys(k2)), encrypt.Options{}))
	_, found, err := retired.Load(ctx, "session-0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("session-0 found without key 1:", found)
	// Output:
	// visited 3 of 3
	// resealed 3, already under 2: 0
	// session-0 found without key 1: true
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
