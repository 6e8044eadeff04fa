package storeurl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sqlite:PATH opens a database file: with Prepare it is created, without it
// a missing file fails with a hint rather than start an empty database; the
// sessions stay in the file across an Open and Close.
func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "sessions.db")

	_, err := Open(ctx, "sqlite:"+path, Options{Label: "-store"})
	if !errors.Is(err, os.ErrNotExist) || Hint(err) == "" {
		t.Fatalf("Open of a missing file without Prepare: %v (hint %q); want not-exist with a hint", err, Hint(err))
	}

	st, err := Open(ctx, "sqlite:"+path+"?table=app_sessions", Options{Label: "-store", Prepare: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Backend != SQLite || st.Namespace != "app_sessions" || BackendOf("sqlite:"+path) != SQLite {
		t.Errorf("Backend %q, Namespace %q; want sqlite, app_sessions", st.Backend, st.Namespace)
	}
	if err := st.Save(ctx, "id", []byte("kept"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}

	again, err := Open(ctx, "sqlite://"+path+"?table=app_sessions", Options{Label: "-store"})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close(ctx)
	if rec, found, err := again.Load(ctx, "id"); !found || err != nil || string(rec.Data) != "kept" {
		t.Errorf("after reopening: %q, %v, %v; want kept", rec.Data, found, err)
	}
	if err := again.Drop(ctx); err != nil {
		t.Fatal(err)
	}

	_, err = Open(ctx, "sqlite:"+filepath.Join(dir, "missing", "x.db"), Options{Label: "-store", Prepare: true})
	if err == nil || !strings.Contains(err.Error(), "-store sqlite:") || Hint(err) == "" {
		t.Errorf("Open in a missing directory: %v (hint %q); want a named error with a hint", err, Hint(err))
	}
}
