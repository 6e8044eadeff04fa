package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/sessionstore/sessionstore"
)

// Concurrent histories checked for linearizability: a few goroutines call
// the store at once on a few ids, and the recorded history (each call, its
// answer, and when it started and returned) must be explainable by some
// order of the calls, one at a time, that the model of the contract
// accepts and that keeps every call between its start and its return.
// porcupine (github.com/anishathalye/porcupine) searches for that order.
// Expiries are an hour away, or long past, so time plays no part.

const (
	linClients = 4
	linOps     = 50
	linIDs     = 3
)

// linInput is one call of a history.
type linInput struct {
	op, id string
	// tag is the data a write writes; for a CompareAndSwap, seen is the
	// tag that was loaded with version.
	tag, seen string
	version   uint64
	past      bool // the write's expiry has passed: a (conditional) delete
}

// linOutput is its answer.
type linOutput struct {
	ok      bool // found, touched or swapped
	tag     string
	version uint64
}

// linState is what the model knows of one id: the tag of its live record
// ("" for none), the version a Load showed for it (0 before any), and
// whether a Touch since may have changed that version.
type linState struct {
	tag     string
	version uint64
	touched bool
}

// linStep is the model's transition for one call: whether the answer is
// one the contract allows from state, and the state after it.
func linStep(state, input, output any) (bool, any) {
	s, in, out := state.(linState), input.(linInput), output.(linOutput)
	switch in.op {
	case "Load":
		if out.ok != (s.tag != "") || out.tag != s.tag {
			return false, s
		}
		if !out.ok {
			return true, s
		}
		if s.version != 0 && out.version != s.version && !s.touched {
			return false, s // the version changed with no write
		}
		return true, linState{tag: s.tag, version: out.version}
	case "Save":
		return true, written(in)
	case "Delete":
		return true, linState{}
	case "Touch":
		if out.ok != (s.tag != "") {
			return false, s
		}
		if out.ok {
			s.touched = true
		}
		return true, s
	case "CompareAndSwap":
		var wins, mayLose bool
		if in.version == 0 {
			wins, mayLose = s.tag == "", s.tag != ""
		} else {
			wins = s.tag != "" && s.tag == in.seen && s.version == in.version
			mayLose = !wins || s.touched
		}
		switch {
		case out.ok && wins:
			return true, written(in)
		case !out.ok && mayLose:
			return true, s
		}
		return false, s
	}
	return false, s
}

// written is the state after a write of in that won.
func written(in linInput) linState {
	if in.past {
		return linState{}
	}
	return linState{tag: in.tag}
}

func describeLin(input, output any) string {
	in, out := input.(linInput), output.(linOutput)
	switch in.op {
	case "Load":
		if !out.ok {
			return fmt.Sprintf("Load(%s) = not found", in.id)
		}
		return fmt.Sprintf("Load(%s) = %q version %d", in.id, out.tag, out.version)
	case "Save":
		return fmt.Sprintf("Save(%s, %q%s)", in.id, in.tag, pastNote(in.past))
	case "Delete":
		return fmt.Sprintf("Delete(%s)", in.id)
	case "Touch":
		return fmt.Sprintf("Touch(%s) = %v", in.id, out.ok)
	}
	return fmt.Sprintf("CompareAndSwap(%s, version %d (loaded with %q), %q%s) = %v", in.id, in.version, in.seen, in.tag, pastNote(in.past), out.ok)
}

func pastNote(past bool) string {
	if past {
		return ", expiry in the past"
	}
	return ""
}

var linModel = porcupine.Model{
	Init:              func() any { return linState{} },
	Step:              linStep,
	DescribeOperation: describeLin,
	DescribeState: func(state any) string {
		s := state.(linState)
		return fmt.Sprintf("%q version %d touched %v", s.tag, s.version, s.touched)
	},
}

func (s *suite) linearizable(t tester, st *store) {
	ctx := t.Context()
	start := time.Now()
	var mu sync.Mutex
	var history []porcupine.Operation
	var wg sync.WaitGroup
	for c := range linClients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), uint64(start.UnixNano())))
			type loaded struct {
				tag     string
				version uint64
			}
			last := map[string]loaded{} // what this client last loaded, by id
			for i := range linOps {
				in := linInput{id: fmt.Sprint("lin ", rng.IntN(linIDs)), tag: fmt.Sprintf("c%d-%d", c, i)}
				expiry := time.Now().Add(longLife)
				if rng.IntN(4) == 0 {
					in.past, expiry = true, time.Now().Add(-time.Minute)
				}
				var out linOutput
				var err error
				call := time.Since(start)
				switch ops := s.linOps(st); ops[rng.IntN(len(ops))] {
				case "Load":
					in.op = "Load"
					var rec sessionstore.Record
					rec, out.ok, err = st.Load(ctx, in.id)
					out.tag, out.version = string(rec.Data), rec.Version
					if out.ok {
						last[in.id] = loaded{out.tag, out.version}
					}
				case "Save":
					in.op = "Save"
					err = st.Save(ctx, in.id, []byte(in.tag), expiry)
				case "Delete":
					in.op = "Delete"
					err = st.Delete(ctx, in.id)
				case "Touch":
					in.op, in.past = "Touch", false
					out.ok, err = st.toucher.Touch(ctx, in.id, time.Now().Add(longLife))
				case "CompareAndSwap":
					in.op = "CompareAndSwap"
					if l, ok := last[in.id]; ok && rng.IntN(4) != 0 {
						in.seen, in.version = l.tag, l.version
					}
					out.ok, err = st.swapper.CompareAndSwap(ctx, in.id, in.version, []byte(in.tag), expiry)
				}
				ret := time.Since(start)
				if err != nil {
					t.Errorf("client %d: %s = %v", c, describeLin(in, out), err)
					return
				}
				mu.Lock()
				history = append(history, porcupine.Operation{ClientId: c, Input: in, Call: int64(call), Output: out, Return: int64(ret)})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// One id at a time: each is a register of its own, and the failure
	// shows only the calls on the id whose history cannot be explained.
	for i := range linIDs {
		id := fmt.Sprint("lin ", i)
		var ops []porcupine.Operation
		for _, o := range history {
			if o.Input.(linInput).id == id {
				ops = append(ops, o)
			}
		}
		switch porcupine.CheckOperationsTimeout(linModel, ops, 10*time.Second) {
		case porcupine.Illegal:
			t.Errorf("no order of these calls on %q, one at a time, keeps the contract (each call took effect between its start and its return):\n%s\n    breaks: the sentences of Swapper, Toucher and Store.Load, under concurrent use (every method is safe for concurrent use)",
				id, formatHistory(ops))
		case porcupine.Unknown:
			t.Logf("the linearizability check of %q timed out; not counted as a failure", id)
		}
	}
}

// linOps returns the methods of st the histories call.
func (s *suite) linOps(st *store) []string {
	ops := []string{"Load", "Load", "Save", "Delete"}
	if st.toucher != nil {
		ops = append(ops, "Touch")
	}
	if st.swapper != nil {
		ops = append(ops, "CompareAndSwap", "CompareAndSwap", "CompareAndSwap")
	}
	return ops
}

// formatHistory prints ops by their start, with when each ran.
func formatHistory(ops []porcupine.Operation) string {
	ops = slices.Clone(ops)
	slices.SortFunc(ops, func(a, b porcupine.Operation) int { return int(a.Call - b.Call) })
	var b strings.Builder
	for _, o := range ops {
		fmt.Fprintf(&b, "    client %d, %9.3f ms to %9.3f ms: %s\n", o.ClientId,
			float64(o.Call)/1e6, float64(o.Return)/1e6, describeLin(o.Input, o.Output))
	}
	return b.String()
}
