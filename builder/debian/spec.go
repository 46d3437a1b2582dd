package debian

import (
	"fmt"
	"maps"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Spec limits.
const (
	// MaxSpecBytes bounds a spec document.
	MaxSpecBytes = 64 << 10
	// MaxPackages bounds the packages a spec declares.
	MaxPackages = 500
	maxEnv      = 100
	maxArgs     = 64
	maxLabels   = 100
	maxValue    = 4 << 10
)

// APIVersion and Kind identify a BaseImage spec.
const (
	APIVersion = "hallmark.dev/v1"
	Kind       = "BaseImage"
)

// DefaultPath is the PATH of an image whose spec sets none.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Spec is a BaseImage document: which Debian packages an image holds, its
// user and its config.
type Spec struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Metadata   SpecMetadata `json:"metadata"`
	Spec       BaseSpec     `json:"spec"`
}

// SpecMetadata names the spec.
type SpecMetadata struct {
	// Name is a lowercase name such as "static"; it does not change the
	// image.
	Name string `json:"name"`
}

// BaseSpec is what the image is made of.
type BaseSpec struct {
	// Mirror is the Debian mirror, an http(s) URL. Optional: without
	// Mirror, Suite and Architecture the host's apt sources are used.
	Mirror string `json:"mirror,omitempty"`
	// Suite is the distribution, such as "bookworm". The default is the
	// host's (VERSION_CODENAME of /etc/os-release).
	Suite string `json:"suite,omitempty"`
	// Architecture is a dpkg architecture such as "amd64" or "arm64". The
	// default is the host's.
	Architecture string `json:"architecture,omitempty"`
	// Packages are package names, each optionally pinned "name=version".
	// Their dependencies are added. At least one.
	Packages []string `json:"packages"`
	// Exclude names packages the image must not contain even when a
	// declared package depends on them, distroless style: ca-certificates
	// needs openssl and debconf only for its maintainer scripts, which
	// never run here. Dependency resolution treats them as present. The
	// default is none.
	Exclude []string `json:"exclude,omitempty"`
	// User, when set, is added to /etc/passwd and /etc/group next to root,
	// with home /home/<name> owned by it.
	User *User `json:"user,omitempty"`
	// Config is the image config.
	Config ImageConfig `json:"config,omitempty"`
}

// User is the image's non-root user.
type User struct {
	Name string `json:"name"`
	UID  int    `json:"uid"`
	// GID is the id of the user's group, which has the user's name. The
	// default (0 or absent) is UID.
	GID int `json:"gid,omitempty"`
}

// ImageConfig is the part of the OCI image config a spec sets.
type ImageConfig struct {
	// User is the config's User. The default is "<uid>:<gid>" of the spec's
	// user, or root when there is none.
	User string `json:"user,omitempty"`
	// Env are "KEY=value" pairs. DefaultPath is added unless PATH is set.
	Env        []string          `json:"env,omitempty"`
	WorkingDir string            `json:"workingDir,omitempty"`
	Entrypoint []string          `json:"entrypoint,omitempty"`
	Cmd        []string          `json:"cmd,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// Request is one declared package.
type Request struct {
	Name    string
	Version string // "" for the candidate version
}

var (
	nameRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)
	packageRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]{1,127}$`)
	versionRE  = regexp.MustCompile(`^([0-9]+:)?[0-9][A-Za-z0-9.+~-]{0,127}$`)
	suiteRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,63}$`)
	userNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	envKeyRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ParseSpec reads a BaseImage spec strictly: one YAML document, no unknown
// fields, every value checked. Errors wrap hallmark.ErrInvalid (or
// hallmark.ErrTooLarge) and name the field, e.g.
// `spec.packages[2]: "Foo" is not a Debian package name`.
func ParseSpec(data []byte) (*Spec, error) {
	if len(data) > MaxSpecBytes {
		return nil, fmt.Errorf("%w: base image spec is %d bytes, the limit is %d", hallmark.ErrTooLarge, len(data), MaxSpecBytes)
	}
	var s Spec
	if err := decodeStrict(data, &s); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", hallmark.ErrInvalid, err)
	}
	return &s, nil
}

func (s *Spec) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...))
	}
	if s.APIVersion != APIVersion {
		return bad("apiVersion", "%q is not %q", hallmark.Clip(s.APIVersion, 80), APIVersion)
	}
	if s.Kind != Kind {
		return bad("kind", "%q is not %q", hallmark.Clip(s.Kind, 80), Kind)
	}
	if !nameRE.MatchString(s.Metadata.Name) {
		return bad("metadata.name", "%q is not a lowercase name (letters, digits, '.', '-'; at most 63)", hallmark.Clip(s.Metadata.Name, 80))
	}
	b := &s.Spec
	if b.Mirror != "" {
		u, err := url.Parse(b.Mirror)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(b.Mirror, " \t\n[]") {
			return bad("spec.mirror", "%q is not an http(s) URL without credentials, query or fragment", hallmark.Clip(b.Mirror, 80))
		}
	}
	if b.Suite != "" && !suiteRE.MatchString(b.Suite) {
		return bad("spec.suite", "%q is not a suite name such as bookworm", hallmark.Clip(b.Suite, 80))
	}
	if b.Architecture != "" {
		if _, ok := ociPlatforms[b.Architecture]; !ok {
			return bad("spec.architecture", "%q is not one of %s", hallmark.Clip(b.Architecture, 80), strings.Join(slices.Sorted(maps.Keys(ociPlatforms)), ", "))
		}
	}
	if len(b.Packages) == 0 {
		return bad("spec.packages", "at least one package is required")
	}
	if len(b.Packages) > MaxPackages {
		return bad("spec.packages", "%d entries, the limit is %d", len(b.Packages), MaxPackages)
	}
	seen := map[string]bool{}
	for i, p := range b.Packages {
		r, err := parseRequest(p)
		if err != nil {
			return bad(fmt.Sprintf("spec.packages[%d]", i), "%v", err)
		}
		if seen[r.Name] {
			return bad(fmt.Sprintf("spec.packages[%d]", i), "package %q is declared twice", r.Name)
		}
		seen[r.Name] = true
	}
	if len(b.Exclude) > MaxPackages {
		return bad("spec.exclude", "%d entries, the limit is %d", len(b.Exclude), MaxPackages)
	}
	excluded := map[string]bool{}
	for i, p := range b.Exclude {
		switch {
		case !packageRE.MatchString(p):
			return bad(fmt.Sprintf("spec.exclude[%d]", i), "%q is not a Debian package name", hallmark.Clip(p, 80))
		case seen[p]:
			return bad(fmt.Sprintf("spec.exclude[%d]", i), "package %q is both declared and excluded", p)
		case excluded[p]:
			return bad(fmt.Sprintf("spec.exclude[%d]", i), "package %q is excluded twice", p)
		}
		excluded[p] = true
	}
	if u := b.User; u != nil {
		if !userNameRE.MatchString(u.Name) || u.Name == "root" {
			return bad("spec.user.name", "%q is not a user name other than root (lowercase letters, digits, _ and -)", hallmark.Clip(u.Name, 80))
		}
		if u.UID < 1 || u.UID > 1<<31-2 {
			return bad("spec.user.uid", "%d is not between 1 and %d", u.UID, 1<<31-2)
		}
		if u.GID < 0 || u.GID > 1<<31-2 {
			return bad("spec.user.gid", "%d is not between 1 and %d (0 or absent: the uid)", u.GID, 1<<31-2)
		}
	}
	return b.Config.validate(bad)
}

func (c *ImageConfig) validate(bad func(field, format string, args ...any) error) error {
	if len(c.User) > 256 || strings.ContainsFunc(c.User, isSpaceOrControl) {
		return bad("spec.config.user", "%q is not a user[:group]", hallmark.Clip(c.User, 80))
	}
	if len(c.Env) > maxEnv {
		return bad("spec.config.env", "%d entries, the limit is %d", len(c.Env), maxEnv)
	}
	keys := map[string]bool{}
	for i, e := range c.Env {
		k, _, ok := strings.Cut(e, "=")
		if !ok || !envKeyRE.MatchString(k) || len(e) > maxValue || strings.ContainsRune(e, 0) {
			return bad(fmt.Sprintf("spec.config.env[%d]", i), "%q is not KEY=value", hallmark.Clip(e, 80))
		}
		if keys[k] {
			return bad(fmt.Sprintf("spec.config.env[%d]", i), "%s is set twice", k)
		}
		keys[k] = true
	}
	if w := c.WorkingDir; w != "" && (!path.IsAbs(w) || len(w) > maxValue || strings.ContainsRune(w, 0)) {
		return bad("spec.config.workingDir", "%q is not an absolute path", hallmark.Clip(w, 80))
	}
	for field, args := range map[string][]string{"spec.config.entrypoint": c.Entrypoint, "spec.config.cmd": c.Cmd} {
		if len(args) > maxArgs {
			return bad(field, "%d entries, the limit is %d", len(args), maxArgs)
		}
		for i, a := range args {
			if len(a) > maxValue || strings.ContainsRune(a, 0) {
				return bad(fmt.Sprintf("%s[%d]", field, i), "longer than %d bytes or has NUL", maxValue)
			}
		}
	}
	if len(c.Labels) > maxLabels {
		return bad("spec.config.labels", "%d entries, the limit is %d", len(c.Labels), maxLabels)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		if k == "" || len(k) > 256 || len(c.Labels[k]) > maxValue {
			return bad("spec.config.labels", "key %q: keys must be 1-256 bytes, values at most %d", hallmark.Clip(k, 80), maxValue)
		}
	}
	return nil
}

// parseRequest reads "name" or "name=version".
func parseRequest(s string) (Request, error) {
	name, version, pinned := strings.Cut(s, "=")
	if !packageRE.MatchString(name) {
		return Request{}, fmt.Errorf("%q is not a Debian package name (lowercase letters, digits, '+', '-', '.')", hallmark.Clip(name, 80))
	}
	if pinned && !versionRE.MatchString(version) {
		return Request{}, fmt.Errorf("%q is not a Debian version", hallmark.Clip(version, 80))
	}
	return Request{Name: name, Version: version}, nil
}

// Requests returns the declared packages, sorted by name.
func (s *Spec) Requests() []Request {
	out := make([]Request, 0, len(s.Spec.Packages))
	for _, p := range s.Spec.Packages {
		r, _ := parseRequest(p) // validated by ParseSpec
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Request) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// gid is the user's group id.
func (u *User) gid() int {
	if u.GID != 0 {
		return u.GID
	}
	return u.UID
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
