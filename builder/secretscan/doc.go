// Package secretscan finds credentials in build args and in what a build
// added to an image.
//
// CheckBuildArgs refuses build args that look like credentials, by name or
// by value. A Scanner reads the layers and config of built images
// (go-containerregistry v1.Image values, from a registry or not) and checks
// what the build added on top of its runtime base: files by name (SSH
// keys, .env files, credential stores) and by content (private keys, cloud
// and forge tokens), environment variables and labels. Findings name the
// path or key and the rule, never the secret; an allowlist turns findings
// into warnings. The scan of one image is bounded; what is past the bound
// is checked by name only, with a warning.
//
// The rules are listed in docs/build-policy.md; keep it in step.
package secretscan
