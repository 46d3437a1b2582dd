// Package hallmark holds the domain types shared by every part of Hallmark:
// build requests and results, digests, caller identities, progress events
// (and Step, the gateway's own work shown as a progress vertex), the sentinel
// errors, with Class, that the server maps to Connect codes, and the limits
// and rules of a build request (ValidateBuildArgs, ValidateTags, …) that the
// gateway enforces and the CLI checks before it uploads anything.
//
// It imports only the standard library, so builder, attest and verify
// can all depend on it without depending on each other.
package hallmark
