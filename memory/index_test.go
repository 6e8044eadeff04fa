package memory

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// TestSharedHashes: short ids whose hashes are equal (a 64-bit collision,
// forced here) each keep their own record through every sequence of set,
// get and delete, as do long ids and ids at the length limit.
func TestSharedHashes(t *testing.T) {
	sh := &shard{}
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
		if sh.index.len() != 0 || len(sh.long) != 0 {
			t.Fatalf("round %d: %d indexed and %d long left after deleting every id", round, sh.index.len(), len(sh.long))
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

// TestTagIndex: through random adds and removes of tags crowded into few
// home cells, so runs are long, wrap around the end of the table and are
// shifted back by removals, the index holds exactly what a map would.
func TestTagIndex(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, homes := range []uint32{1, 3, 64, 1 << 20} {
		var x tagIndex
		want := map[uint32]uint32{}
		tags := make([]uint32, 200)
		for i := range tags {
			// Tags with few distinct low bits share their home cells;
			// the high bits keep them distinct tags.
			tags[i] = uint32(i)<<16 | rnd.Uint32N(homes)&0xffff
		}
		for step := range 20_000 {
			tag := tags[rnd.IntN(len(tags))]
			if _, held := want[tag]; held {
				x.remove(tag)
				delete(want, tag)
			} else {
				slot := uint32(step)
				x.add(tag, slot)
				want[tag] = slot
			}
			if x.len() != len(want) {
				t.Fatalf("homes %d, step %d: len %d; want %d", homes, step, x.len(), len(want))
			}
			if step%97 == 0 || homes < 4 {
				for _, tag := range tags {
					slot, ok := x.get(tag)
					if w, held := want[tag]; ok != held || ok && slot != w {
						t.Fatalf("homes %d, step %d: get(%#x) = %d, %v; want %d, %v", homes, step, tag, slot, ok, w, held)
					}
				}
			}
		}
		seen := 0
		x.each(func(tag, slot uint32) {
			seen++
			if want[tag] != slot {
				t.Errorf("homes %d: each gave %#x -> %d; want %d", homes, tag, slot, want[tag])
			}
		})
		if seen != len(want) {
			t.Errorf("homes %d: each gave %d tags; want %d", homes, seen, len(want))
		}
		x.remove(0xdeadbeef) // not held: no change
		if x.len() != len(want) {
			t.Errorf("homes %d: removing a tag not held changed len to %d", homes, x.len())
		}
	}
}

// TestShardLayout checks what the shard layout promises: what every load
// and save writes, and the index they read, lie in a shard's first 64
// bytes, and a shard takes whole cache-line pairs, so no two shards share
// a line.
func TestShardLayout(t *testing.T) {
	var s shardState
	if end := unsafe.Offsetof(s.index) + unsafe.Sizeof(s.index); end > 64 {
		t.Errorf("mu..index end at byte %d of a shard; want within 64", end)
	}
	if size := unsafe.Sizeof(shard{}); size%128 != 0 {
		t.Errorf("a shard takes %d bytes; want a multiple of 128", size)
	}
}
