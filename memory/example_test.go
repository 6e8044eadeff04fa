package memory_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sessionstore/sessionstore/memory"
)

func Example() {
	store := memory.New(memory.Options{
		MaxSessions: 100_000, // room for this server's sessions, and no more
	})
	defer store.Close() // stops the cleanup goroutine

	ctx := context.Background()
	if err := store.Save(ctx, "session-id", []byte(`{"user":"alice"}`), time.Now().Add(time.Hour)); err != nil {
		log.Fatal(err)
	}
	rec, found, err := store.Load(ctx, "session-id")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(found, string(rec.Data))

	// Extend the session without resending its data.
	if _, err := store.Touch(ctx, "session-id", time.Now().Add(2*time.Hour)); err != nil {
		log.Fatal(err)
	}
	if err := store.Delete(ctx, "session-id"); err != nil {
		log.Fatal(err)
	}
	_, found, _ = store.Load(ctx, "session-id")
	fmt.Println(found)
	// Output:
	// true {"user":"alice"}
	// false
}
