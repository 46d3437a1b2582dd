// Package convert turns domain types into their API (proto) form where more
// than the server needs it: the CLI prints offline verdicts exactly as
// VerifyService returns them, without linking the server (and BuildKit's
// client) into the command-line tool.
package convert
