// Package strictyaml decodes one YAML document into a Go value strictly:
// field names must match the json tags exactly, unknown fields and values
// of the wrong kind are errors that name their path
// (`spec.signers[0]: unknown field "isuer"`), a stream of several documents
// is an error, and the JSON a document expands to (YAML aliases) is
// bounded. Policies (verify/policy) and base image specs (builder/debian)
// are read with it.
package strictyaml
