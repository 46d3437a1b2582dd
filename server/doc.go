// Package server is Hallmark's edge: Connect handlers that translate between
// the public API (proto/hallmark/v1) and the domain types, authentication and
// authorization of callers, the one mapping from domain errors to Connect
// codes, request ids, metrics, and the HTTP mux with gRPC health and server
// reflection.
//
// Build and BuildBase run one pipeline (pipeline.go) that differs only in
// what is built and what is attested: build and push by digest, attest, and
// only then move the tags, so that no tag ever points at an unattested image.
//
// It is the only package that knows both proto and domain types. Every field
// of every request is validated here before anything else sees it.
package server
