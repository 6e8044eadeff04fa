package sessionstore

import (
	"context"
	"reflect"
	"time"
)

// Sharer is implemented by stores that keep records in the memory of the
// process and can skip the copies that the Store contract makes Load and
// Save take: the bytes passed through these methods are shared between the
// store and its caller, and neither ever modifies them. The Manager uses it
// because it needs no copy: what it loads it decodes at once and never
// changes, and what it saves it encoded into a buffer of its own that it
// never touches again. Other callers keep the copying methods of Store,
// whose guarantees Sharer does not change.
//
// The Manager uses the shared methods only when SharingStore returns the
// very Store it was given. A type that embeds a Sharer (a struct embedding
// *memory.Store, say, to change Load or Save) inherits SharingStore, which
// returns the embedded store, not the wrapper: the Manager then calls the
// wrapper's copying methods, so it is never gone around. Such a wrapper
// that wants the copy-free path implements all of Sharer itself.
type Sharer interface {
	// SharingStore returns the receiver itself, as a Store.
	SharingStore() Store

	// LoadShared is Load, except that rec.Data may be the store's own
	// memory, shared with other loads: the caller must never modify it. The
	// store never modifies it either, so the caller may keep it as long as
	// it likes.
	LoadShared(ctx context.Context, id string) (rec Record, found bool, err error)

	// SaveShared is Save, except that the store may keep data itself
	// rather than a copy: the caller hands data over and must never modify
	// it once the call began, whatever its outcome. Passing back bytes that
	// LoadShared returned is allowed.
	SaveShared(ctx context.Context, id string, data []byte, expiry time.Time) error
}

// SwapSharer is implemented by versioned stores ([Swapper]) that are also
// a [Sharer]: CompareAndSwapShared is CompareAndSwap handing data over as
// SaveShared does.
type SwapSharer interface {
	Sharer

	// CompareAndSwapShared is CompareAndSwap, except that the store may
	// keep data itself: the caller must never modify it once the call
	// began, whatever its outcome.
	CompareAndSwapShared(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (swapped bool, err error)
}

// SharerOf returns st as a Sharer when it is one in its own right: its
// SharingStore is st itself, not a store that st embeds. The Manager uses
// the shared methods of st only then, and storetest tests them only then.
func SharerOf(st Store) (Sharer, bool) {
	sh, ok := st.(Sharer)
	if !ok {
		return nil, false
	}
	self := sh.SharingStore()
	// Comparing interfaces holding one non-comparable type panics.
	if self == nil || reflect.TypeOf(self) != reflect.TypeOf(st) || !reflect.TypeOf(st).Comparable() || self != st {
		return nil, false
	}
	return sh, true
}
