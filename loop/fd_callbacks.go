//go:build !windows

package loop

import (
	"unsafe"

	"github.com/cloudwego/netpoll"
)

// netpoll calls an operator's OnRead, OnWrite and OnHup with the poller
// only, so each fd connection needs three functions bound to it. Three
// method values would be three allocations of 16 bytes per connection;
// instead the connection holds the three closure records itself
// (fdConn.cb): a func value is a pointer to a record whose first word
// is the code to run, and the code of a method value (the compiler's
// wrapper of the method) finds its receiver in the record's second word.
// The code pointers are taken from method values made once, below.
// TestFDCallbacks fails, naming this, if a Go release lays method values
// out otherwise (every test over the fd reactor would fail too).

// fdCallback is the closure record of a method value of fdConn.
type fdCallback struct {
	code uintptr // the method value's code (not a heap pointer)
	c    *fdConn
}

// funcCode is the code word of f's closure record.
func funcCode(f func(netpoll.Poll) error) uintptr {
	return **(**uintptr)(unsafe.Pointer(&f))
}

var (
	fdCallbackModel fdConn
	fdReadCode      = funcCode(fdCallbackModel.onRead)
	fdWriteCode     = funcCode(fdCallbackModel.onWrite)
	fdHupCode       = funcCode(fdCallbackModel.onHup)
)

// fn is the func value whose closure record is cb: calling it calls the
// method on cb.c, as the method value would.
func (cb *fdCallback) fn() func(netpoll.Poll) error {
	p := unsafe.Pointer(cb)
	return *(*func(netpoll.Poll) error)(unsafe.Pointer(&p))
}

// bindCallbacks sets op's callbacks to c's methods, with no allocation.
func (c *fdConn) bindCallbacks(op *netpoll.FDOperator) {
	c.cb = [3]fdCallback{{fdReadCode, c}, {fdWriteCode, c}, {fdHupCode, c}}
	op.OnRead, op.OnWrite, op.OnHup = c.cb[0].fn(), c.cb[1].fn(), c.cb[2].fn()
}
