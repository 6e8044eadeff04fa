package sessionstore

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sessionstore/sessionstore/codec"
)

// Every kind of record a Manager stores is defined in this file: a session,
// the forward a renewal leaves under the old id, and an owner's index. The
// first byte tells them apart; Inspect reads it for operators' tools.
//
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
// Loading it through the old id gives a dropped session (a late request of
// the renewed id); a request that opened the session before the renewal
// follows it when it saves.
const forwardFormat = 2

// An owner's index (see owners.go) lists the owner's sessions, under a key
// no session key can take: "o." and the base64url SHA-256 of the owner
// (session keys are 43 base64url characters without a dot).
//
//	byte     indexFormat (3)
//	rest     JSON: [{"h": handle, "k": store key, "c": created, "x": latest expiry, "m": metadata}]
const (
	indexFormat    = 3
	ownerKeyPrefix = "o."
)

// RecordKind says what a record the Manager stored is.
type RecordKind uint8

// The kinds of record a Manager stores.
const (
	KindUnknown RecordKind = iota // not a record of this format: another program's, or a newer release's
	KindSession                   // a session
	KindForward                   // the old id of a renewed session, for a short grace period
	KindIndex                     // an owner's index of sessions
)

func (k RecordKind) String() string {
	switch k {
	case KindSession:
		return "session"
	case KindForward:
		return "forward"
	case KindIndex:
		return "index"
	}
	return "unknown"
}

// RecordInfo is what [Inspect] tells of a stored record without decoding
// a session's values (no codec is needed).
type RecordInfo struct {
	Kind RecordKind
	// Owner is the owner a session is bound to (Session.LogIn), or "".
	Owner string
	// Created is when a session was created; the zero time otherwise.
	Created time.Time
	// Permanent is a session's Permanent flag.
	Permanent bool
	// Expiry is the record's expiry, as loaded.
	Expiry time.Time
	// To is the store key a forward names; "" otherwise.
	To string
}

// Inspect tells what the Manager stored in rec: a session (with its owner,
// creation time and flag), a forward, an owner's index, or something it
// does not know. Operators' tools use it to list and count records.
func Inspect(rec Record) RecordInfo {
	info := RecordInfo{Expiry: rec.Expiry}
	d := rec.Data
	switch {
	case len(d) >= 2 && d[0] == forwardFormat:
		info.Kind, info.To = KindForward, string(d[1:])
	case len(d) >= 1 && d[0] == indexFormat:
		info.Kind = KindIndex
	default:
		var h header
		if _, err := h.decode(d); err == nil {
			info.Kind, info.Owner, info.Created, info.Permanent = KindSession, h.owner, h.created, h.permanent
		}
	}
	return info
}

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

// ownerKey returns the store key of owner's index.
func ownerKey(owner string) string {
	sum := sha256.Sum256([]byte(owner))
	return ownerKeyPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// indexEntry is one session in an owner's index.
type indexEntry struct {
	Handle  string            `json:"h"`
	Key     string            `json:"k"`
	Created int64             `json:"c"` // Unix nanoseconds
	Latest  int64             `json:"x"` // the latest it can expire: created + Lifetime
	Meta    map[string]string `json:"m,omitempty"`
}

// errIndex is wrapped when the record under an index key is not an index
// of this format.
var errIndex = errors.New("sessionstore: not an owner index of this format")

// decodeIndex parses an index written by encodeIndex.
func decodeIndex(data []byte) ([]indexEntry, error) {
	if len(data) < 1 || data[0] != indexFormat {
		return nil, errIndex
	}
	var entries []indexEntry
	if err := json.Unmarshal(data[1:], &entries); err != nil {
		return nil, fmt.Errorf("%w: %w", errIndex, err)
	}
	return entries, nil
}

// encodeIndex returns the stored form of entries and its expiry, the
// latest expiry of an entry; nil when there is none (the index is deleted).
func encodeIndex(entries []indexEntry) ([]byte, time.Time) {
	if len(entries) == 0 {
		return nil, time.Time{}
	}
	latest := int64(0)
	for _, e := range entries {
		latest = max(latest, e.Latest)
	}
	body, _ := json.Marshal(entries) // strings and numbers only: cannot fail
	return append([]byte{indexFormat}, body...), time.Unix(0, latest)
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
				return nil, fmt.Errorf("encode: %w", err)
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
			return nil, fmt.Errorf("encode: %w", err)
		}
		return out, nil
	}
	vals, err := c.Encode(st.values)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return append(buf, vals...), nil
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// header is the part of a session record before the flash messages.
type header struct {
	permanent bool
	created   time.Time
	owner     string
}

// decode parses the header off the front of data and returns the rest.
func (h *header) decode(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != recordFormat {
		return nil, errRecord
	}
	flags := data[1]
	h.permanent = flags&flagPermanent != 0
	data = data[2:]
	created, n := binary.Varint(data)
	if n <= 0 {
		return nil, errRecord
	}
	h.created = time.Unix(0, created)
	data = data[n:]
	if flags&flagOwner != 0 {
		var ok bool
		if h.owner, data, ok = cutString(data); !ok || h.owner == "" {
			return nil, errRecord
		}
	}
	return data, nil
}

// decodeState parses data written by encodeState. Every failure wraps
// codec.ErrDecode.
func decodeState(data []byte, c codec.Codec) (state, error) {
	var st state
	var h header
	data, err := h.decode(data)
	if err != nil {
		return st, err
	}
	st.permanent, st.created, st.owner = h.permanent, h.created, h.owner
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
