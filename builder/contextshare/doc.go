// Package contextshare keeps uploaded build contexts in a registry
// repository that every gateway replica reaches, so that a context uploaded
// through one replica can be built by another.
//
// Each hold of a context by an identity is one small OCI manifest in the
// repository, tagged "h-<owner>-<digest>" (each cut to 48 hex digits) and
// naming, in its annotations, the owner's key, the context's digest and when
// the hold expires. Its one layer is the context archive itself, stored as
// uploaded, so the layer's digest is the context's digest: a replica reads
// it by that digest, and the registry and the reader both check it. The
// repository must be one only the gateway can read and write, since the
// archives are callers' sources. Sweep deletes expired holds; the
// registry's own garbage collection then removes the archives no hold
// names.
package contextshare
