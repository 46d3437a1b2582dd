// Package queue admits builds first come, first served, at most N at a
// time.
//
// A Queue hands out N slots. Acquire takes one, or waits behind every caller
// already waiting; the caller learns its position when it joins. Waiting is
// not bounded: a caller waits until a slot is free or its context is done.
package queue
