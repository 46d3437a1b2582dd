// Package hallmark holds the domain types shared by every part of Hallmark:
// build requests and results, digests, caller identities, progress events
// (and Step, the gateway's own work shown as a progress vertex), and the
// sentinel errors, with Class, that the server maps to Connect codes.
//
// It imports only the standard library, so builder, attest, verify and store
// can all depend on it without depending on each other.
package hallmark
