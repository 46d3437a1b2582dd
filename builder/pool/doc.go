// Package pool places builds on a pool of BuildKit workers.
//
// Each build has a key (its cache scope). Order ranks the workers for a key
// by rendezvous (highest-random-weight) hashing: every worker gets a score
// from a hash of the key and its address, and the highest score wins. So
// the builds of one key go to one worker while it is up, every gateway
// replica ranks the same way, and adding or removing one of n workers moves
// only about 1/n of the keys. Workers that fail their health check, or that
// a build found unreachable, are skipped until a later check finds them
// answering again.
//
// Every worker has its own queue (builder/queue): a bounded number of
// builds run on it at once and a bounded number wait.
//
// The set of workers can change (Set, fed by DNS for a headless Service):
// a worker that stays keeps its queue and health, a new one joins, and a
// removed one leaves the placement while the builds on it finish.
package pool
