package debian

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	hallmark "github.com/hallmark-dev/hallmark"
)

// ociPlatforms maps dpkg architectures to OCI platforms.
var ociPlatforms = map[string]v1.Platform{
	"amd64":    {OS: "linux", Architecture: "amd64"},
	"arm64":    {OS: "linux", Architecture: "arm64", Variant: "v8"},
	"armhf":    {OS: "linux", Architecture: "arm", Variant: "v7"},
	"armel":    {OS: "linux", Architecture: "arm", Variant: "v5"},
	"i386":     {OS: "linux", Architecture: "386"},
	"ppc64el":  {OS: "linux", Architecture: "ppc64le"},
	"s390x":    {OS: "linux", Architecture: "s390x"},
	"riscv64":  {OS: "linux", Architecture: "riscv64"},
	"mips64el": {OS: "linux", Architecture: "mips64le"},
}

// uriLine is one line of apt-get --print-uris.
type uriLine struct {
	uri, file, name string
	size            int64
}

var uriRE = regexp.MustCompile(`^'([^'\s]+)' (\S+) ([0-9]+) (\S*)$`)

// parseURIs reads the download lines of apt-get --print-uris install.
func parseURIs(out []byte) ([]uriLine, error) {
	var lines []uriLine
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		m := uriRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		size, err := strconv.ParseInt(m[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("apt-get printed a bad size in %q", sc.Text())
		}
		u, err := url.Parse(m[1])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.HasSuffix(m[2], ".deb") {
			return nil, fmt.Errorf("%w: apt-get wants to download %q; only http(s) mirrors are supported", hallmark.ErrInvalid, hallmark.Clip(m[1], 80))
		}
		name, _, ok := strings.Cut(m[2], "_")
		if !ok || !packageRE.MatchString(name) {
			return nil, fmt.Errorf("apt-get printed a bad file name %q", hallmark.Clip(m[2], 80))
		}
		if seen[name] {
			return nil, fmt.Errorf("apt-get lists package %s twice", name)
		}
		seen[name] = true
		lines = append(lines, uriLine{uri: m[1], file: m[2], name: name, size: size})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read apt-get output: %w", err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("apt-get resolved no packages to download")
	}
	return lines, nil
}

// parseStanzas reads deb822 paragraphs (apt-cache show), keeping single
// line fields.
func parseStanzas(out []byte) []map[string]string {
	var all []map[string]string
	cur := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				all = append(all, cur)
				cur = map[string]string{}
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			cur[k] = strings.TrimSpace(v)
		}
	}
	if len(cur) > 0 {
		all = append(all, cur)
	}
	return all
}

// matchIndex finds each download's paragraph in the package index (by its
// pool file name) and returns the packages with the index's sha256, sorted
// by name. A download without a paragraph, or with paragraphs that
// disagree, or without a SHA256 field, is an error.
func matchIndex(uris []uriLine, index []map[string]string) ([]Package, error) {
	var pkgs []Package
	for _, u := range uris {
		path, err := url.PathUnescape(u.uri)
		if err != nil {
			return nil, fmt.Errorf("unescape %q: %w", hallmark.Clip(u.uri, 80), err)
		}
		var found *Package
		for _, st := range index {
			fn := st["Filename"]
			if st["Package"] != u.name || fn == "" || !strings.HasSuffix(path, "/"+fn) {
				continue
			}
			d, err := hallmark.ParseDigest("sha256:" + st["SHA256"])
			if err != nil {
				return nil, fmt.Errorf("%w: the index entry of %s %s has no valid SHA256", hallmark.ErrInvalid, u.name, st["Version"])
			}
			size, err := strconv.ParseInt(st["Size"], 10, 64)
			if err != nil || size != u.size {
				return nil, fmt.Errorf("%w: the index gives %s %s the size %q, apt-get %d", hallmark.ErrInvalid, u.name, st["Version"], st["Size"], u.size)
			}
			p := Package{Name: u.name, Version: st["Version"], Architecture: st["Architecture"], URI: u.uri, SHA256: d, Size: size}
			if found != nil && *found != p {
				return nil, fmt.Errorf("%w: the index has two different entries for %s", hallmark.ErrInvalid, path)
			}
			found = &p
		}
		if found == nil {
			return nil, fmt.Errorf("the package index has no entry for %s", path)
		}
		if !versionRE.MatchString(found.Version) || found.Architecture == "" {
			return nil, fmt.Errorf("%w: the index entry of %s has a bad version or architecture", hallmark.ErrInvalid, u.name)
		}
		pkgs = append(pkgs, *found)
	}
	slices.SortFunc(pkgs, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
	return pkgs, nil
}

var sourceRE = regexp.MustCompile(`^\s*-?[0-9]+ ([a-z+]+://\S+) (\S+) (\S+) Packages$`)

// parseSources reads the package files of apt-cache policy as
// "<uri> <suite>/<component> <arch>", sorted.
func parseSources(out []byte) []string {
	var s []string
	for _, line := range strings.Split(string(out), "\n") {
		if m := sourceRE.FindStringSubmatch(line); m != nil {
			s = append(s, m[1]+" "+m[2]+" "+m[3])
		}
	}
	slices.Sort(s)
	return slices.Compact(s)
}

// aptError turns a failed apt command's output into an error: apt's "E:"
// lines and unmet dependencies, classified as the caller's mistake
// (hallmark.ErrInvalid: unknown package or version, unsatisfiable or
// unauthenticated packages), a mirror that cannot be reached
// (hallmark.ErrUnavailable), or unclassified.
func aptError(cmd string, stdout, stderr []byte) error {
	var lines []string
	for _, l := range strings.Split(string(stdout)+"\n"+string(stderr), "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "E: "), strings.HasPrefix(t, "W: Failed to fetch"):
			lines = append(lines, strings.TrimPrefix(strings.TrimPrefix(t, "E: "), "W: "))
		case strings.Contains(t, " : Depends: "), strings.Contains(t, " : PreDepends: "), strings.Contains(t, " : Pre-Depends: "),
			strings.HasPrefix(t, "Depends: "), strings.HasPrefix(t, "PreDepends: "):
			lines = append(lines, t)
		}
	}
	if len(lines) > 20 {
		lines = append(lines[:20], fmt.Sprintf("and %d more lines", len(lines)-20))
	}
	msg := strings.Join(lines, "; ")
	if msg == "" {
		msg = "failed without a message"
	}
	if len(msg) > 2000 {
		msg = msg[:2000] + "…"
	}
	all := string(stderr) + string(stdout)
	for _, s := range []string{"Unable to locate package", "was not found", "unmet dependencies", "Unable to correct problems",
		"has no installation candidate", "is not available", "cannot be authenticated", "unauthenticated", "is not signed",
		"NO_PUBKEY", "couldn't be verified", "does not have a Release file", "Couldn't find any package"} {
		if strings.Contains(all, s) {
			return fmt.Errorf("%w: %s: %s", hallmark.ErrInvalid, cmd, msg)
		}
	}
	for _, s := range []string{"Failed to fetch", "Could not resolve", "Temporary failure", "Could not connect", "Connection failed", "timed out"} {
		if strings.Contains(all, s) {
			return fmt.Errorf("%w: %s: %s", hallmark.ErrUnavailable, cmd, msg)
		}
	}
	return fmt.Errorf("%s: %s", cmd, msg)
}
