// Package config is the schema of hallmarkd's configuration file: its
// types, defaults, loading and validation. hallmarkd reads it; the dev stack
// writes its hallmarkd.yaml from the same struct (Marshal), so the two never
// disagree about a field. It holds no wiring: turning a Config into a
// gateway is cmd/hallmarkd's job.
//
// Every pattern in the file (authorization rules, base-image allowlist,
// secret-scan paths) uses the one dialect of internal/glob.
package config
