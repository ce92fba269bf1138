package enethost

// #cgo LDFLAGS: -ldl
// #include <stdlib.h>
// #include "hook.h"
import "C"

import (
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Hook is a direct line between a relay and the ENet host behind it, in
// place of loopback sockets (hook.c): libenet's sends to a marked relay
// port wait in an out-queue that Drain empties, and Push queues datagrams
// that ENet receives as if from 127.0.0.1:port, before its socket's own.
// Every other datagram of the host, and every other host in the process,
// uses the socket as before. It exists only where libenet's own socket
// calls reach the hook (HookAvailable); elsewhere the relay keeps its
// loopback sockets.
//
// A Hook from EnableSendBatch alone is batch-only: it has no queues and no
// eventfd (a plain host costs no extra descriptor and no queue memory),
// Push refuses (counted), Mark does nothing, Watch reports false and Drain
// finds nothing, until EnableHook gives it what a relay needs.
//
// Push and Mark are safe from any goroutine at any time: after Free, Push
// refuses (false, counted) and Mark does nothing. Drain, SetOnFull, Watch,
// Counts and Free belong to the host's owner (the goroutine that services
// it), as do the callbacks, which run inside its ENet calls.
type Hook struct {
	// mu guards c against Free: Push and Mark hold it for reading, Free for
	// writing, so none of them runs on freed C memory.
	mu       sync.RWMutex
	c        *C.nb_hook // nil once freed
	handle   cgo.Handle
	onFull   func()
	onRefill func()
	// After Free: the drop counts at Free, and the Pushes refused since.
	freedIn, freedOut uint64
	freedBatch        BatchCounts
	late              atomic.Uint64
}

// hookProbe is the probe's result, found once per process (HookAvailable).
var hookProbe struct {
	mu   sync.Mutex
	done bool
	live bool
	miss bool  // SimulateHookBypass
	runs int64 // probes run, for tests
}

// HookAvailable reports whether libenet's own socket calls reach the hook
// in this executable: its definitions are linked where libenet looks, and
// servicing a throwaway host once, the first time it is asked, sent,
// received and waited through them. A libenet linked statically, or one
// whose calls bind internally (-Bsymbolic, LTO) and so skip the hook, fails
// the probe. Any goroutine; only the first call costs anything (a few
// milliseconds), unless the probe could not even try (no descriptor or
// memory for its host): then it reports false and tries again next time.
func HookAvailable() bool {
	hookProbe.mu.Lock()
	defer hookProbe.mu.Unlock()
	if !hookProbe.done {
		reached := probeHook(hookProbe.miss)
		hookProbe.runs++
		if reached < 0 {
			return false // could not try (out of descriptors?): again next time
		}
		hookProbe.live = reached == probeAll
		hookProbe.done = true
	}
	return hookProbe.live
}

// What the probe saw reach the hook: libenet's send, receive and wait.
const (
	probeSend    = int(C.NB_PROBE_SEND)
	probeReceive = int(C.NB_PROBE_RECEIVE)
	probeWait    = int(C.NB_PROBE_WAIT)
	probeAll     = probeSend | probeReceive | probeWait
)

// probeHook services a throwaway host with its socket hooked and reports
// which of libenet's send, receive and wait went through the hook (a
// probe* mask), or -1 when it could not try.
func probeHook(miss bool) (reached int) {
	initialize()
	k := &Hook{} // no callbacks: the wait hook may call onFull
	k.handle = cgo.NewHandle(k)
	defer k.handle.Delete()
	m := C.int(0)
	if miss {
		m = 1
	}
	return int(C.nb_hook_probe(C.uintptr_t(k.handle), m))
}

// SimulateHookBypass is for tests: on makes the probe (HookAvailable) see
// what it sees under a libenet whose own calls never reach the hook, so
// that every later EnableHook gives nil and relays keep their loopback
// sockets; off undoes it. The probe runs again at the next HookAvailable
// or EnableHook. Hosts already hooked keep their hooks. Any goroutine.
func SimulateHookBypass(on bool) {
	hookProbe.mu.Lock()
	defer hookProbe.mu.Unlock()
	hookProbe.miss = on
	hookProbe.done = false
}

// EnableHook hooks the host's socket for a relay and returns the Hook, with
// its queues and eventfd, or nil when the hook is not available (see
// HookAvailable) or the socket cannot be hooked. A host that already has a
// batch-only Hook (EnableSendBatch) keeps it and it gains the queues and
// eventfd; nil if they cannot be had (the host then still batches). Call
// it from the owner, right after NewHost, outside its ENet calls. The
// host's Destroy detaches it; Free it after that.
func (h *Host) EnableHook() *Hook {
	if k := h.hook; k != nil {
		k.mu.Lock() // no Push or Mark meanwhile
		defer k.mu.Unlock()
		if k.c == nil || C.nb_hook_relay(k.c) == 0 {
			return nil
		}
		return k
	}
	return h.newHook(true)
}

// newHook hooks the host's socket: with relay, with the queues and
// eventfd; without, batch-only. The owner.
func (h *Host) newHook(relay bool) *Hook {
	if !HookAvailable() {
		return nil
	}
	r := C.int(0)
	if relay {
		r = 1
	}
	k := &Hook{}
	k.handle = cgo.NewHandle(k)
	k.c = C.nb_hook_new(h.c, C.uintptr_t(k.handle), r)
	if k.c == nil {
		k.handle.Delete()
		return nil
	}
	h.hook = k
	return k
}

// EnableSendBatch makes the host's sends to its remotes (every address but
// a Hook's marked relay ports) wait in a batch of the socket hook and leave
// with sendmmsg, many datagrams per system call, instead of one sendmsg
// each. The batch leaves when it is full, when a service call is about to
// wait, and before every enethost call that made ENet send returns
// (Service, Flush, Peer.DisconnectNow, Destroy), so nothing ENet sent
// waits beyond the call that sent it, and datagrams keep their order. It
// reports whether the host batches: false where the hook is not
// available (HookAvailable) or its memory could not be had; the host then
// sends one datagram per system call, as before. IPv4 only, as libenet
// is. A host with no Hook yet gets a batch-only one (see Hook): no
// eventfd, no queues. The owner, right after NewHost; free the Hook after
// Destroy.
func (h *Host) EnableSendBatch() bool {
	k := h.hook
	if k == nil {
		k = h.newHook(false)
	}
	if k == nil || k.c == nil {
		return false
	}
	return C.nb_hook_batch(k.c) != 0
}

// batchMax is how many datagrams a send batch holds: a full batch leaves
// in one sendmmsg.
const batchMax = int(C.NB_BATCH_MAX)

// BatchCounts count a send batch's work (EnableSendBatch).
type BatchCounts struct {
	Datagrams uint64 // datagrams sent from the batch
	Calls     uint64 // sendmmsg calls that sent them
	Dropped   uint64 // datagrams the socket refused (buffer full, an error reported on it), counted and skipped
}

// BatchCounts reports the send batch's counts (zero without one); they
// stay readable after Free. The owner only.
func (k *Hook) BatchCounts() BatchCounts {
	if k == nil {
		return BatchCounts{}
	}
	if k.c == nil {
		return k.freedBatch
	}
	var sent, calls, dropped C.uint64_t
	C.nb_hook_batch_counts(k.c, &sent, &calls, &dropped)
	return BatchCounts{Datagrams: uint64(sent), Calls: uint64(calls), Dropped: uint64(dropped)}
}

// Hook is the host's Hook, nil unless EnableHook gave one.
func (h *Host) Hook() *Hook { return h.hook }

// SetOnFull sets what the hook calls, from inside ENet's calls, when the
// out-queue is full and when a service call is about to block with
// datagrams in it (the owner drains it there; what does not fit is
// dropped and counted).
func (k *Hook) SetOnFull(f func()) { k.onFull = f }

// Watch makes ENet's waits on the host's socket also watch fd (a relay's
// public socket) and call refill, from inside the service call, when it is
// readable (refill reads it and Pushes what is for ENet); a service call
// then wakes for the relay's datagrams without a relay goroutine. fd must
// stay open until the host is destroyed. It reports false, and does
// nothing, on a freed or batch-only Hook. The owner only, before servicing.
func (k *Hook) Watch(fd int, refill func()) bool {
	if k.c == nil || k.c.wake < 0 {
		return false
	}
	k.onRefill = refill
	C.nb_hook_watch(k.c, C.int(fd))
	return true
}

// Mark makes sends to 127.0.0.1:port go to the out-queue (on) or to the
// socket again (off); after Free, or on a batch-only Hook, it does
// nothing. Any goroutine.
func (k *Hook) Mark(port uint16, on bool) {
	v := C.int(0)
	if on {
		v = 1
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.c != nil {
		C.nb_hook_mark(k.c, C.enet_uint16(port), v)
	}
}

// Push queues datagram b for ENet, from 127.0.0.1:port, and wakes a
// service call waiting on the socket. It reports false when b was refused:
// empty or larger than ENet's MTU, or (counted in Counts) the queue full,
// the host destroyed, the Hook freed or batch-only. Any goroutine, at any
// time.
func (k *Hook) Push(port uint16, b []byte) bool {
	if len(b) == 0 {
		return false
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.c == nil {
		k.late.Add(1)
		return false
	}
	return C.nb_hook_push(k.c, C.enet_uint16(port), unsafe.Pointer(&b[0]), C.size_t(len(b))) != 0
}

// Drain hands every datagram ENet sent to a marked port, oldest first, to
// fn, and empties the out-queue: b is valid only until Drain returns. It
// reports how many there were (none after Free). The owner only, outside
// ENet's calls (or from the OnFull function).
func (k *Hook) Drain(fn func(port uint16, b []byte)) int {
	if k.c == nil {
		return 0
	}
	n := int(k.c.outLen)
	if n == 0 {
		return 0
	}
	q := unsafe.Slice((*byte)(unsafe.Pointer(k.c.out)), n)
	count := 0
	for off := 0; off+4 <= n; count++ {
		port := uint16(q[off]) | uint16(q[off+1])<<8
		size := int(q[off+2]) | int(q[off+3])<<8
		off += 4
		fn(port, q[off:off+size:off+size])
		off += size
	}
	k.c.outLen = 0
	return count
}

// Counts are the datagrams the queues dropped: Pushes refused for a full
// in-queue, a destroyed host, a freed or batch-only Hook; sends that did not fit the
// out-queue. They stay readable after Free. The owner only.
func (k *Hook) Counts() (inDropped, outDropped uint64) {
	if k.c == nil {
		return k.freedIn + k.late.Load(), k.freedOut
	}
	var i, o C.uint64_t
	C.nb_hook_counts(k.c, &i, &o)
	return uint64(i), uint64(o)
}

// Free releases the hook's C memory, after the host's Destroy. A Push
// running meanwhile finishes first; later ones are refused. The owner only.
func (k *Hook) Free() {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.c == nil {
		return
	}
	k.freedIn, k.freedOut = k.Counts()
	k.freedBatch = k.BatchCounts()
	C.nb_hook_free(k.c)
	k.c = nil
	k.handle.Delete()
}

//export netburiHookRefill
func netburiHookRefill(handle C.uintptr_t) {
	k := cgo.Handle(handle).Value().(*Hook)
	if k.onRefill != nil {
		k.onRefill()
	}
}

//export netburiHookFull
func netburiHookFull(handle C.uintptr_t) {
	k := cgo.Handle(handle).Value().(*Hook)
	if k.onFull != nil {
		k.onFull()
	}
}
