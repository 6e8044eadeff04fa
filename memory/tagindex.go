package memory

// tagIndex is an open-addressing hash table, with linear probing, from the
// 32-bit tag of a short id (the low bits of its seeded hash) to the slot
// holding it. It replaces a Go map for one reason: speed. A lookup is a
// masked index and, nearly always, one or two reads of the same cache line,
// without the map's directory, control bytes and function call, which
// measured a third of a Load over 10,000 sessions. A tag is held at most
// once; a short id whose tag another holds goes to shardState.long.
//
// A table is grown (doubled and filled again) when three quarters full;
// removal shifts the cells after the removed one back, so there are no
// tombstones and a lookup never reads past the end of its run.
type tagIndex struct {
	cells []uint64 // tag<<32 | slot+1; 0 marks an empty cell
	n     int      // cells in use
}

// minCells is the size of a table's first allocation.
const minCells = 16

// len returns the number of tags held.
func (x *tagIndex) len() int { return x.n }

// get returns the slot of tag.
func (x *tagIndex) get(tag uint32) (uint32, bool) {
	if x.n == 0 {
		return 0, false
	}
	mask := uint32(len(x.cells) - 1)
	for p := tag & mask; ; p = (p + 1) & mask {
		c := x.cells[p]
		if c == 0 {
			return 0, false
		}
		if uint32(c>>32) == tag {
			return uint32(c) - 1, true
		}
	}
}

// add holds slot under tag, which must not be held.
func (x *tagIndex) add(tag, slot uint32) {
	if (x.n+1)*4 > len(x.cells)*3 {
		x.grow()
	}
	x.insert(uint64(tag)<<32 | (uint64(slot) + 1))
	x.n++
}

// insert puts c in the first empty cell of its run.
func (x *tagIndex) insert(c uint64) {
	mask := uint32(len(x.cells) - 1)
	p := uint32(c>>32) & mask
	for x.cells[p] != 0 {
		p = (p + 1) & mask
	}
	x.cells[p] = c
}

// grow doubles the table.
func (x *tagIndex) grow() {
	old := x.cells
	x.cells = make([]uint64, max(minCells, 2*len(old)))
	for _, c := range old {
		if c != 0 {
			x.insert(c)
		}
	}
}

// remove drops tag, if held.
func (x *tagIndex) remove(tag uint32) {
	if x.n == 0 {
		return
	}
	mask := uint32(len(x.cells) - 1)
	i := tag & mask
	for ; ; i = (i + 1) & mask {
		c := x.cells[i]
		if c == 0 {
			return
		}
		if uint32(c>>32) == tag {
			break
		}
	}
	// Shift back each later cell of the run whose home is not in (i, j]:
	// with i emptied, a lookup of it would stop short.
	for j := (i + 1) & mask; x.cells[j] != 0; j = (j + 1) & mask {
		home := uint32(x.cells[j]>>32) & mask
		if (j-home)&mask >= (j-i)&mask {
			x.cells[i] = x.cells[j]
			i = j
		}
	}
	x.cells[i] = 0
	x.n--
}

// each calls fn with each tag and its slot. fn must not change the table.
func (x *tagIndex) each(fn func(tag, slot uint32)) {
	for _, c := range x.cells {
		if c != 0 {
			fn(uint32(c>>32), uint32(c)-1)
		}
	}
}
