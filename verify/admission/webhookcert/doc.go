// Package webhookcert keeps the admission webhook's serving certificate
// without a human: a self-signed CA (ECDSA P-256, a year by default) and a
// serving certificate for the webhook's Service (90 days by default), in one
// Kubernetes Secret that every replica of the gateway shares, with the CA
// published into the caBundle of the webhook configurations.
//
// A Manager syncs at start and then every interval (Run): it reads the
// Secret, creates it when it is absent (when the create loses to another
// replica, with 409 AlreadyExists, it reads the winner's), renews what is
// due, and writes with the resourceVersion it read (on 409 Conflict it reads
// again), so all replicas converge on the Secret's contents. Then it patches
// the caBundle of every webhook of the named configurations that differs.
// GetCertificate serves the Secret's certificate to a tls.Config, so a
// rotated certificate is served without a restart.
//
// # Rotation
//
// The serving certificate is renewed when a third of its lifetime is left.
// The CA is renewed when a third of its lifetime is left, in three steps, a
// propagation delay (twice the interval by default) apart, so that no call
// of the API server fails in between:
//
//  1. a new CA joins the Secret's ca.crt and the caBundle, next to the old
//     one; the serving certificate, still the old CA's, stays;
//  2. once the new CA has been in the caBundle for the delay, the serving
//     certificate is reissued by the new CA;
//  3. once every replica has had the delay to serve the new certificate,
//     the old CA leaves ca.crt and the caBundle.
//
// An expired CA leaves the bundle in any case. A Secret that does not
// parse, whose CA key does not match its CA, or whose CA has expired is
// replaced by a new CA and certificate.
//
// # The Secret
//
// Type kubernetes.io/tls; keys tls.crt and tls.key (the serving certificate
// and its PKCS #8 key), ca.crt (the CAs the caBundle holds, newest first)
// and ca.key (the newest CA's PKCS #8 key). Key material is never logged:
// rotations are logged at info with the new expiry and serial number.
package webhookcert
