package storetest

import (
	"bytes"
	"reflect"
	"runtime"
	"strconv"
	"strings"
)

// What the Close checks know of goroutines, read from runtime.Stack.

// goroutine is one goroutine of a stack dump.
type goroutine struct {
	id, creator int    // creator is 0 when not known
	stack       string // the whole entry, for the failure message
}

// goroutines returns every goroutine of the process, by id.
func goroutines() map[int]goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	gs := make(map[int]goroutine)
	for entry := range bytes.SplitSeq(buf, []byte("\n\n")) {
		g := goroutine{stack: string(entry)}
		header, _, _ := strings.Cut(g.stack, "\n")
		// "goroutine 7 [chan receive]:"
		fields := strings.Fields(header)
		if len(fields) < 2 || fields[0] != "goroutine" {
			continue
		}
		g.id, _ = strconv.Atoi(fields[1])
		// "created by pkg.f in goroutine 6"
		if i := strings.LastIndex(g.stack, " in goroutine "); i >= 0 {
			rest := g.stack[i+len(" in goroutine "):]
			end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
			if end < 0 {
				end = len(rest)
			}
			g.creator, _ = strconv.Atoi(rest[:end])
		}
		gs[g.id] = g
	}
	return gs
}

// currentGoroutine returns the id of the calling goroutine.
func currentGoroutine() int {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	fields := strings.Fields(string(buf))
	id, _ := strconv.Atoi(fields[1])
	return id
}

// leftBehind returns the goroutines of now that were not in before,
// descend from self, and run or were started by a function of package pkg.
func leftBehind(now, before map[int]goroutine, self int, pkg string) []goroutine {
	descends := func(g goroutine) bool {
		for seen := 0; g.creator != 0 && seen < len(now); seen++ {
			if g.creator == self {
				return true
			}
			parent, ok := now[g.creator]
			if !ok {
				return false
			}
			g = parent
		}
		return false
	}
	var left []goroutine
	for id, g := range now {
		if _, old := before[id]; old || id == self || !descends(g) {
			continue
		}
		if strings.Contains(g.stack, pkg+".") {
			left = append(left, g)
		}
	}
	return left
}

// pkgPath returns the import path of the package that defines v's type.
func pkgPath(v any) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}
