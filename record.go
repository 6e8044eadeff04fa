package sessionstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/sessionstore/sessionstore/codec"
)

// The bytes a Manager stores for a session wrap the codec's encoding of the
// values in a small header that holds what the Manager itself needs:
//
//	byte     recordFormat (1)
//	byte     flags: bit 0 permanent
//	varint   created, Unix nanoseconds
//	         with flag bit 1: uvarint length + owner (Session.LogIn)
//	uvarint  number of flash messages, then each as
//	         uvarint length + category, uvarint length + message
//	rest     the codec's encoding of the values; absent when there are none
//
// Flash messages live in the header rather than among the values so they
// work with every codec and never collide with a user's key.
const (
	recordFormat  = 1
	flagPermanent = 1 << 0
	flagOwner     = 1 << 1 // an owner string follows created
)

// A renewed session's old key holds, for a short grace period, a forward
// instead of a session (see commit.go):
//
//	byte     forwardFormat (2)
//	rest     the store key of the renewed session
//
// Loading it through the old id gives no session; a request that opened the
// session before the renewal follows it when it saves.
const forwardFormat = 2

// encodeForward returns a forward to the store key to.
func encodeForward(to string) []byte {
	return append([]byte{forwardFormat}, to...)
}

// forwardOf returns the store key that data forwards to, if it is a forward.
func forwardOf(data []byte) (string, bool) {
	if len(data) < 2 || data[0] != forwardFormat {
		return "", false
	}
	return string(data[1:]), true
}

// errRecord is wrapped when stored bytes are not a record this package wrote.
// It wraps codec.ErrDecode, so both header and value failures read as "does
// not decode".
var errRecord = fmt.Errorf("sessionstore: malformed session record: %w", codec.ErrDecode)

// encodeState appends the stored form of st to buf.
func encodeState(buf []byte, c codec.Codec, st *state) ([]byte, error) {
	var flags byte
	if st.permanent {
		flags |= flagPermanent
	}
	if st.owner != "" {
		flags |= flagOwner
	}
	buf = append(buf, recordFormat, flags)
	buf = binary.AppendVarint(buf, st.created.UnixNano())
	if st.owner != "" {
		buf = appendString(buf, st.owner)
	}
	buf = binary.AppendUvarint(buf, uint64(len(st.flashes)))
	for _, f := range st.flashes {
		buf = appendString(buf, f.Category)
		buf = appendString(buf, f.Message)
	}
	if st.lazy.data != nil {
		// Only sets since they were loaded: the codec's own bytes, written
		// back as they are, with the values set patched in.
		if len(st.values) == 0 {
			return append(buf, st.lazy.data...), nil
		}
		if p, ok := c.(codec.Patcher); ok {
			out, err := p.AppendPatchEntries(buf, st.lazy.data, st.lazy.entries, st.values)
			if err != nil {
				return nil, fmt.Errorf("sessionstore: encode: %w", err)
			}
			return out, nil
		}
		st.vals()
	}
	if len(st.values) == 0 {
		return buf, nil
	}
	if a, ok := c.(codec.Appender); ok {
		out, err := a.AppendEncode(buf, st.values)
		if err != nil {
			return nil, fmt.Errorf("sessionstore: encode: %w", err)
		}
		return out, nil
	}
	vals, err := c.Encode(st.values)
	if err != nil {
		return nil, fmt.Errorf("sessionstore: encode: %w", err)
	}
	return append(buf, vals...), nil
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// decodeState parses data written by encodeState. Every failure wraps
// codec.ErrDecode.
func decodeState(data []byte, c codec.Codec) (state, error) {
	var st state
	if len(data) < 2 || data[0] != recordFormat {
		return st, errRecord
	}
	flags := data[1]
	st.permanent = flags&flagPermanent != 0
	data = data[2:]
	created, n := binary.Varint(data)
	if n <= 0 {
		return st, errRecord
	}
	st.created = time.Unix(0, created)
	data = data[n:]
	if flags&flagOwner != 0 {
		var ok bool
		if st.owner, data, ok = cutString(data); !ok || st.owner == "" {
			return st, errRecord
		}
	}
	count, n := binary.Uvarint(data)
	if n <= 0 || count > uint64(len(data)) { // each message takes 2 bytes at least
		return st, errRecord
	}
	data = data[n:]
	if count > 0 {
		st.flashes = make([]FlashMessage, count)
	}
	for i := range st.flashes {
		var ok bool
		f := &st.flashes[i]
		if f.Category, data, ok = cutString(data); !ok {
			return st, errRecord
		}
		if f.Message, data, ok = cutString(data); !ok {
			return st, errRecord
		}
	}
	if len(data) == 0 {
		return st, nil
	}
	// Loaded records are never modified: strings may share their memory,
	// and values the codec can read one at a time stay encoded until used.
	if ld, ok := c.(codec.LazyDecoder); ok {
		if entries, ok := ld.Scan(data); ok {
			if len(entries) > 0 {
				st.lazy = lazyValues{data: data, entries: entries, dec: ld}
			}
			return st, nil
		}
	}
	var vals map[string]any
	var err error
	if sd, ok := c.(codec.SharedDecoder); ok {
		vals, err = sd.DecodeShared(data)
	} else {
		vals, err = c.Decode(data)
	}
	if err != nil {
		if !errors.Is(err, codec.ErrDecode) {
			err = fmt.Errorf("%w: %w", codec.ErrDecode, err)
		}
		return st, fmt.Errorf("sessionstore: decode: %w", err)
	}
	if len(vals) > 0 {
		st.values = vals
	}
	return st, nil
}

// cutString reads a length-prefixed string off the front of data.
func cutString(data []byte) (string, []byte, bool) {
	l, n := binary.Uvarint(data)
	if n <= 0 || l > uint64(len(data)-n) {
		return "", nil, false
	}
	end := n + int(l)
	return string(data[n:end]), data[end:], true
}
