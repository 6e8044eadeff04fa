package sessionstore

import (
	"context"
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
// A wrapper that embeds a store of its own type (a struct embedding
// *memory.Store, say) to change Load or Save must change LoadShared and
// SaveShared too, or the Manager goes around it.
type Sharer interface {
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
	// CompareAndSwapShared is CompareAndSwap, except that the store may
	// keep data itself: the caller must never modify it once the call
	// began, whatever its outcome.
	CompareAndSwapShared(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (swapped bool, err error)
}
