// Package convert turns domain types into their API (proto) form: build
// progress and results (build.go) and verdicts (verdict.go). The server
// sends what it returns; the CLI uses it too, to print offline verdicts
// exactly as VerifyService returns them, without linking the server (and
// BuildKit's client) into the command-line tool.
package convert
