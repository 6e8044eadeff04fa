package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/storeurl"
)

// acceptedStores lists the forms of -store, one a line, for the usage text
// and for the error a bad value gets.
const acceptedStores = storeurl.Forms

// closer releases what openStore opened: the store, then its client.
type closer func(ctx context.Context) error

// openStore opens the store that arg names, checks that its server answers
// and prepares it (table, indexes), all within ctx. The closer it returns
// releases everything openStore opened; call it once the server has stopped
// using the store.
func openStore(ctx context.Context, arg string) (sessionstore.Store, closer, error) {
	st, err := storeurl.Open(ctx, arg, storeurl.Options{Label: "-store", Prepare: true})
	if err != nil {
		if _, ok := errors.AsType[*storeurl.FormError](err); ok {
			err = fmt.Errorf("%w; accepted forms:\n  %s", err, strings.ReplaceAll(acceptedStores, "\n", "\n  "))
		}
		return nil, nil, err
	}
	return st.Store, st.Close, nil
}

// shownStore is the -store value as it may be printed: without its password.
func shownStore(arg string) string { return storeurl.Shown(arg) }
