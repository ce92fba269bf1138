package enethost

// #cgo LDFLAGS: -ldl
// #include <stdlib.h>
// #include "hook.h"
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// Hook is a direct line between a relay and the ENet host behind it, in
// place of loopback sockets (hook.c): libenet's sends to a marked relay
// port wait in an out-queue that Drain empties, and Push queues datagrams
// that ENet receives as if from 127.0.0.1:port, before its socket's own.
// Every other datagram of the host, and every other host in the process,
// uses the socket as before. It exists only where libenet is linked
// dynamically (HookAvailable); elsewhere the relay keeps its loopback
// sockets.
//
// Push and Mark are safe from any goroutine until Free; Drain, SetOnFull,
// Watch and Counts belong to the host's owner (the goroutine that services
// it), as do the callbacks, which run inside its ENet calls.
type Hook struct {
	c        *C.nb_hook
	handle   cgo.Handle
	onFull   func()
	onRefill func()
}

// HookAvailable reports whether libenet's socket calls reach the hook in
// this executable.
func HookAvailable() bool { return C.nb_hook_live() != 0 }

// EnableHook hooks the host's socket and returns the Hook, or nil when the
// hook is not available (see HookAvailable) or the socket cannot be
// hooked. Call it from the owner, right after NewHost. The host's Destroy
// detaches it; Free it once nothing can Push any more.
func (h *Host) EnableHook() *Hook {
	if h.hook != nil {
		return h.hook
	}
	k := &Hook{}
	k.handle = cgo.NewHandle(k)
	k.c = C.nb_hook_new(h.c, C.uintptr_t(k.handle))
	if k.c == nil {
		k.handle.Delete()
		return nil
	}
	h.hook = k
	return k
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
// stay open until the host is destroyed. The owner only, before servicing.
func (k *Hook) Watch(fd int, refill func()) bool {
	k.onRefill = refill
	C.nb_hook_watch(k.c, C.int(fd))
	return true
}

// Mark makes sends to 127.0.0.1:port go to the out-queue (on) or to the
// socket again (off). Any goroutine.
func (k *Hook) Mark(port uint16, on bool) {
	v := C.int(0)
	if on {
		v = 1
	}
	C.nb_hook_mark(k.c, C.enet_uint16(port), v)
}

// Push queues datagram b for ENet, from 127.0.0.1:port, and wakes a
// service call waiting on the socket. It reports false when b was refused:
// empty, larger than ENet's MTU, the queue full (counted), or the host
// gone. Any goroutine, until Free.
func (k *Hook) Push(port uint16, b []byte) bool {
	if len(b) == 0 {
		return false
	}
	return C.nb_hook_push(k.c, C.enet_uint16(port), unsafe.Pointer(&b[0]), C.size_t(len(b))) != 0
}

// Drain hands every datagram ENet sent to a marked port, oldest first, to
// fn, and empties the out-queue: b is valid only until Drain returns. It
// reports how many there were. The owner only, outside ENet's calls (or
// from the OnFull function).
func (k *Hook) Drain(fn func(port uint16, b []byte)) int {
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

// Counts are the datagrams the queues dropped: full in-queue (or too
// large), full out-queue. The owner only.
func (k *Hook) Counts() (inDropped, outDropped uint64) {
	var i, o C.uint64_t
	C.nb_hook_counts(k.c, &i, &o)
	return uint64(i), uint64(o)
}

// Free releases the hook. Call it after the host's Destroy, once no
// goroutine can Push any more (the relay has closed).
func (k *Hook) Free() {
	if k == nil || k.c == nil {
		return
	}
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
