package postgres_test

// TEMPORARY until internal/testservers/pgtest lands.

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := os.Getenv("SESSIONSTORE_POSTGRES_URL")
	if url == "" {
		t.Skip("no SESSIONSTORE_POSTGRES_URL")
	}
	p, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}
