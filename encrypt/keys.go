package encrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of every key: 32 bytes, for AES-256.
const KeySize = 32

// MaxKeyIDLength is the longest key id, in bytes.
const MaxKeyIDLength = 32

// Sizes in a sealed record (see the package doc).
const (
	nonceSize = 12 // GCM's standard nonce: 96 random bits
	tagSize   = 16 // GCM's full tag
)

// Key is one key of a ring: an id, stored in every record the key seals so
// that reads find the key again, and 32 secret bytes.
type Key struct {
	// ID names the key: 1 to MaxKeyIDLength letters, digits, '.', '_' or
	// '-' ("1", "2026-11", "k7"). It is stored in clear in every record the
	// key seals and appears in logs, so it must say nothing secret.
	ID string

	// Secret is the AES-256 key: KeySize bytes from a cryptographic random
	// source. NewKeys does not keep the slice.
	Secret []byte
}

// Keys is a key ring: the primary key seals every record written, and every
// key of the ring opens the records it sealed. Make one with ParseKeys or
// NewKeys; it is immutable and safe for concurrent use. Printing it shows
// the key ids, never a secret.
type Keys struct {
	// ring holds the keys in the order given; the first is the primary.
	// Rings hold a handful of keys, so a linear search by id beats a map.
	ring []ringKey
}

type ringKey struct {
	id   string
	aead cipher.AEAD
}

// ParseKeys reads a key ring from its text form, made to fit in one
// environment variable:
//
//	ID:BASE64[,ID:BASE64...]
//
// Each entry is a key id, a colon, and the key's 32 bytes in standard
// base64 with padding (44 characters, what `openssl rand -base64 32`
// prints). Entries are separated by commas (a trailing comma is allowed);
// spaces and newlines around them are ignored. The first entry is the primary key, which seals every record
// written; the others only open records they sealed before. For example:
//
//	SESSION_KEYS="2026-11:YW4gZXhhbXBsZSBvbmx5OiBuZXZlciB1c2UgdGhpcyE=,2026-05:..."
//
// A malformed entry, a key that is not exactly 32 bytes or is all zeros, a
// duplicate id and one key under two ids are all errors, which name the
// entry by its id and never show a secret.
func ParseKeys(text string) (*Keys, error) {
	var keys []Key
	defer func() {
		for _, k := range keys {
			clear(k.Secret)
		}
	}()
	entries := strings.Split(text, ",")
	for i, entry := range entries {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			if i == len(entries)-1 { // a trailing comma, or no text at all
				break
			}
			return nil, fmt.Errorf("encrypt: keys: entry %d is empty", i+1)
		}
		id, b64, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("encrypt: keys: entry %d has no colon: want ID:BASE64", i+1)
		}
		if err := checkID(id); err != nil {
			return nil, fmt.Errorf("encrypt: keys: entry %d: %w", i+1, err)
		}
		secret, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("encrypt: keys: key %q is not standard base64 (%v): make one with `openssl rand -base64 32`", id, err)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	if len(keys) == 0 {
		return nil, errors.New("encrypt: keys: no key given: want ID:BASE64[,ID:BASE64...]")
	}
	return NewKeys(keys...)
}

// NewKeys returns a key ring of keys, the first of which is the primary.
// It checks them as ParseKeys does. Use it when the keys come from a secret
// manager rather than text.
func NewKeys(keys ...Key) (*Keys, error) {
	if len(keys) == 0 {
		return nil, errors.New("encrypt: keys: no key given")
	}
	r := &Keys{ring: make([]ringKey, 0, len(keys))}
	for i, k := range keys {
		if err := checkID(k.ID); err != nil {
			return nil, fmt.Errorf("encrypt: keys: key %d: %w", i+1, err)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("encrypt: keys: key %q is %d bytes, want %d (AES-256)", k.ID, len(k.Secret), KeySize)
		}
		if isZero(k.Secret) {
			return nil, fmt.Errorf("encrypt: keys: key %q is all zero bytes", k.ID)
		}
		for j := range i {
			if keys[j].ID == k.ID {
				return nil, fmt.Errorf("encrypt: keys: key id %q appears twice", k.ID)
			}
			if subtle.ConstantTimeCompare(keys[j].Secret, k.Secret) == 1 {
				return nil, fmt.Errorf("encrypt: keys: keys %q and %q are the same key", keys[j].ID, k.ID)
			}
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("encrypt: keys: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("encrypt: keys: key %q: %w", k.ID, err)
		}
		r.ring = append(r.ring, ringKey{id: k.ID, aead: aead})
	}
	return r, nil
}

// GenerateKey returns a new key in the text form ParseKeys reads: id, a
// colon and 32 bytes from crypto/rand in base64.
func GenerateKey(id string) (string, error) {
	if err := checkID(id); err != nil {
		return "", fmt.Errorf("encrypt: generate key: %w", err)
	}
	secret := make([]byte, KeySize)
	rand.Read(secret) // never fails (crypto/rand, Go 1.24+)
	defer clear(secret)
	return id + ":" + base64.StdEncoding.EncodeToString(secret), nil
}

// Primary returns the id of the primary key, which seals every record
// written.
func (k *Keys) Primary() string {
	if len(k.ring) == 0 {
		return ""
	}
	return k.ring[0].id
}

// IDs returns the ids of every key of the ring, the primary first.
func (k *Keys) IDs() []string {
	ids := make([]string, len(k.ring))
	for i, rk := range k.ring {
		ids[i] = rk.id
	}
	return ids
}

// Overhead returns how many bytes sealing adds to a record with the primary
// key: 30 plus the length of its id. A wrapped store whose maximum is M
// bytes accepts session data of up to M - Overhead() bytes.
func (k *Keys) Overhead() int { return headerSize(k.Primary()) + nonceSize + tagSize }

// String lists the key ids, the primary first; never a secret.
func (k *Keys) String() string {
	if k == nil || len(k.ring) == 0 {
		return "encrypt.Keys{}"
	}
	return "encrypt.Keys{primary: " + k.ring[0].id + ", ids: " + strings.Join(k.IDs(), ",") + "}"
}

// GoString is String, so that %#v shows no secret either.
func (k *Keys) GoString() string { return k.String() }

// find returns the key with the given id, nil when the ring has none.
func (k *Keys) find(id []byte) *ringKey {
	for i := range k.ring {
		if k.ring[i].id == string(id) {
			return &k.ring[i]
		}
	}
	return nil
}

// checkID reports whether id is a valid key id. The error does not quote
// an invalid id: it may be a secret pasted in the wrong place.
func checkID(id string) error {
	if id == "" || len(id) > MaxKeyIDLength {
		return fmt.Errorf("a key id of %d bytes: want 1 to %d", len(id), MaxKeyIDLength)
	}
	if !validID(id) {
		return errors.New("a key id may hold only letters, digits, '.', '_' and '-'")
	}
	return nil
}

// validID reports whether id holds only the characters a key id may hold
// (it does not check the length). Records are checked with it before an id
// they carry is logged, so a forged record cannot write into the log.
func validID[T string | []byte](id T) bool {
	for i := range len(id) {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func isZero(b []byte) bool {
	var or byte
	for _, c := range b {
		or |= c
	}
	return or == 0
}
