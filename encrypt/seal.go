package encrypt

import (
	"crypto/rand"
	"errors"
	"slices"
	"unsafe"
)

// A sealed record, as the wrapped store holds it:
//
//	byte      formatV1
//	byte      n, the length of the key id (1 to MaxKeyIDLength)
//	n bytes   the key id
//	12 bytes  the nonce, fresh from crypto/rand for every write
//	rest      AES-256-GCM ciphertext of the data, then its 16-byte tag
//
// The store key the record is saved under is the additional data GCM
// authenticates, so a record copied under another id does not open. The
// header needs no authentication of its own: another key id selects another
// key (or none), under which the tag fails, and a format byte other than
// formatV1 is refused.
const formatV1 = 0xE1

// headerSize is the size of the header before the nonce for a key id.
func headerSize(keyID string) int { return 2 + len(keyID) }

// Why a record does not open. Only these reach the log, with the key id.
var (
	errFormat     = errors.New("not a record sealed by this package (unknown format)")
	errTruncated  = errors.New("truncated")
	errUnknownKey = errors.New("sealed with a key not in the ring")
	errAuth       = errors.New("authentication failed (altered, sealed under another id, or another key with the same id)")
)

// seal appends data sealed with the primary key for the store key id to
// buf, which must not overlap data.
func (k *Keys) seal(buf []byte, id string, data []byte) []byte {
	rk := &k.ring[0]
	h := headerSize(rk.id)
	buf = slices.Grow(buf, h+nonceSize+len(data)+tagSize)
	start := len(buf)
	buf = append(buf, formatV1, byte(len(rk.id)))
	buf = append(buf, rk.id...)
	buf = buf[:start+h+nonceSize]
	nonce := buf[start+h:]
	rand.Read(nonce) // never fails (crypto/rand, Go 1.24+)
	return rk.aead.Seal(buf, nonce, data, bytesOf(id))
}

// maxPooledBuf is the largest sealing buffer a Store keeps for reuse, so
// that one huge session pins no memory.
const maxPooledBuf = 64 << 10

// open returns the data of the record sealed under the store key id,
// decrypted in place: sealed is overwritten and the result shares its
// memory. It also returns the record's key id when the record names one
// that can be logged. On failure the error is one of the reasons above.
func (k *Keys) open(id string, sealed []byte) (data []byte, keyID string, err error) {
	kid, rk, nonce, body, err := k.parse(sealed)
	if err != nil {
		return nil, kid, err
	}
	data, err = rk.aead.Open(body[:0], nonce, body, bytesOf(id))
	if err != nil {
		return nil, kid, errAuth
	}
	return data[:len(data):len(data)], kid, nil
}

// openCopy is open into a new slice, leaving sealed as it was: for records
// whose memory is not the caller's to overwrite.
func (k *Keys) openCopy(id string, sealed []byte) (data []byte, keyID string, err error) {
	kid, rk, nonce, body, err := k.parse(sealed)
	if err != nil {
		return nil, kid, err
	}
	data, err = rk.aead.Open(make([]byte, 0, len(body)-tagSize), nonce, body, bytesOf(id))
	if err != nil {
		return nil, kid, errAuth
	}
	return data, kid, nil
}

// parse splits a sealed record into its key id (when loggable), its key,
// nonce and ciphertext with tag.
func (k *Keys) parse(sealed []byte) (keyID string, rk *ringKey, nonce, body []byte, err error) {
	if len(sealed) < 2 || sealed[0] != formatV1 {
		return "", nil, nil, nil, errFormat
	}
	n := int(sealed[1])
	if n == 0 || n > MaxKeyIDLength {
		return "", nil, nil, nil, errFormat
	}
	if len(sealed) < 2+n+nonceSize+tagSize {
		if len(sealed) >= 2+n && validID(sealed[2:2+n]) {
			keyID = string(sealed[2 : 2+n])
		}
		return keyID, nil, nil, nil, errTruncated
	}
	kid := sealed[2 : 2+n]
	if rk = k.find(kid); rk == nil {
		if validID(kid) {
			keyID = string(kid)
		}
		return keyID, nil, nil, nil, errUnknownKey
	}
	return rk.id, rk, sealed[2+n : 2+n+nonceSize], sealed[2+n+nonceSize:], nil
}

// keyIDOf returns the key id a sealed record names, without opening it, and
// whether it names one at all.
func keyIDOf(sealed []byte) ([]byte, bool) {
	if len(sealed) < 2 || sealed[0] != formatV1 {
		return nil, false
	}
	n := int(sealed[1])
	if n == 0 || len(sealed) < 2+n {
		return nil, false
	}
	return sealed[2 : 2+n], true
}

// bytesOf returns the bytes of s without copying them. GCM only reads its
// additional data and keeps none of it, so the string's immutable memory is
// never written; a copy would cost an allocation on every call, because the
// AEAD interface makes its arguments escape.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
