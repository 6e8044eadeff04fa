package memory

import (
	"fmt"
	"strings"
	"testing"
)

// TestSharedHashes: short ids whose hashes are equal (a 64-bit collision,
// forced here) each keep their own record through every sequence of set,
// get and delete, as do long ids and ids at the length limit.
func TestSharedHashes(t *testing.T) {
	sh := &shard{}
	sh.index = make(map[uint32]uint32)
	sh.long = make(map[string]entry)
	const h = 42 // every id gets this hash
	ids := []string{"a", "b", "c", strings.Repeat("x", idKeyMax), strings.Repeat("y", idKeyMax+1)}
	want := map[string]int64{}
	check := func(step string) {
		t.Helper()
		for _, id := range ids {
			e, ok := sh.get(h, id)
			exp, stored := want[id]
			if ok != stored || ok && e.expiry != exp {
				t.Fatalf("after %s: get(%q) = %v, found %v; want %v, found %v", step, id, e.expiry, ok, exp, stored)
			}
		}
	}
	set := func(id string, exp int64) {
		t.Helper()
		_, had := want[id]
		if added := sh.set(h, id, entry{expiry: exp}); added == had {
			t.Fatalf("set(%q) added = %v; want %v", id, added, !had)
		}
		want[id] = exp
		check(fmt.Sprintf("set(%q, %d)", id, exp))
	}
	del := func(id string) {
		t.Helper()
		sh.del(h, id)
		delete(want, id)
		check(fmt.Sprintf("del(%q)", id))
	}
	for round := range int64(3) {
		for i, id := range ids {
			set(id, round*10+int64(i)+1)
		}
		del("a") // the id holding the hash
		set("b", 100+round)
		set("a", 200+round) // the hash is free again: a takes it, b stays in long
		del("b")
		set("c", 300+round)
		for _, id := range ids {
			del(id)
		}
		if len(sh.index) != 0 || len(sh.long) != 0 {
			t.Fatalf("round %d: %d indexed and %d long left after deleting every id", round, len(sh.index), len(sh.long))
		}
	}
	// Every freed slot is reused: three rounds of five ids need no more
	// slots than one round.
	if n := len(sh.slots[0]); n > len(ids) {
		t.Errorf("%d slots made for %d ids: freed slots are not reused", n, len(ids))
	}
}

// TestSlotChunks: the slots of many ids span several chunks, every record
// stays where its index says, and removed records free their slots.
func TestSlotChunks(t *testing.T) {
	sh := &shard{}
	sh.index = make(map[uint32]uint32)
	sh.long = make(map[string]entry)
	const n = 3*chunkSlots + 17
	for i := range n {
		sh.set(uint64(i), fmt.Sprint("id", i), entry{expiry: int64(i)})
	}
	if len(sh.slots) != 4 || len(sh.slots[0]) != chunkSlots {
		t.Fatalf("%d chunks, the first of %d slots; want 4, the first full", len(sh.slots), len(sh.slots[0]))
	}
	for i := range n {
		if e, ok := sh.get(uint64(i), fmt.Sprint("id", i)); !ok || e.expiry != int64(i) {
			t.Fatalf("get(id%d) = %d, %v", i, e.expiry, ok)
		}
	}
	if removed := sh.purge(n / 2); removed != n/2+1 {
		t.Errorf("purge removed %d; want %d", removed, n/2+1)
	}
	if len(sh.free) != n/2+1 {
		t.Errorf("%d free slots after the purge; want %d", len(sh.free), n/2+1)
	}
}
