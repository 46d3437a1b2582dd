package debian

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Paths of the generated files.
const (
	caBundlePath = "etc/ssl/certs/ca-certificates.crt"
	caSourceDir  = "usr/share/ca-certificates/"
	statusDir    = "var/lib/dpkg/status.d"
)

// generate adds what maintainer scripts and a distroless image would
// provide: users and groups, home, /tmp, /root, the name service switch,
// one status.d file per package, and the CA bundle.
func (a *assembler) generate(spec *Spec, pkgs []Package) error {
	passwd := "root:x:0:0:root:/root:/sbin/nologin\n"
	group := "root:x:0:\n"
	if u := spec.Spec.User; u != nil {
		home := "/home/" + u.Name
		passwd += fmt.Sprintf("%s:x:%d:%d:%s:%s:/sbin/nologin\n", u.Name, u.UID, u.gid(), u.Name, home)
		group += fmt.Sprintf("%s:x:%d:\n", u.Name, u.gid())
		a.put(&node{Entry: Entry{Name: "home", Type: tar.TypeDir, Mode: 0o755}})
		a.put(&node{Entry: Entry{Name: home[1:], Type: tar.TypeDir, Mode: 0o700, UID: u.UID, GID: u.gid()}})
	}
	a.put(&node{Entry: Entry{Name: "etc/passwd", Type: tar.TypeReg, Mode: 0o644}, data: []byte(passwd)})
	a.put(&node{Entry: Entry{Name: "etc/group", Type: tar.TypeReg, Mode: 0o644}, data: []byte(group)})
	if _, ok := a.nodes["etc/nsswitch.conf"]; !ok {
		a.put(&node{Entry: Entry{Name: "etc/nsswitch.conf", Type: tar.TypeReg, Mode: 0o644},
			data: []byte("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n")})
	}
	a.put(&node{Entry: Entry{Name: "tmp", Type: tar.TypeDir, Mode: 0o1777}})
	if n, ok := a.nodes["root"]; !ok || n.Type != tar.TypeDir {
		a.put(&node{Entry: Entry{Name: "root", Type: tar.TypeDir, Mode: 0o700}})
	}
	for _, p := range pkgs {
		a.put(&node{Entry: Entry{Name: statusDir + "/" + p.Name, Type: tar.TypeReg, Mode: 0o644}, data: a.controls[p.Name]})
	}
	for _, p := range pkgs {
		if p.Name == "ca-certificates" {
			bundle, err := a.caBundle()
			if err != nil {
				return err
			}
			a.put(&node{Entry: Entry{Name: caBundlePath, Type: tar.TypeReg, Mode: 0o644}, data: bundle})
		}
	}
	return nil
}

// caBundle concatenates every certificate under /usr/share/ca-certificates
// in path order, each ending in a newline: what update-ca-certificates
// writes to /etc/ssl/certs/ca-certificates.crt with the default
// /etc/ca-certificates.conf (all certificates enabled).
func (a *assembler) caBundle() ([]byte, error) {
	var buf bytes.Buffer
	for _, name := range sortedKeys(a.nodes) {
		n := a.nodes[name]
		if !strings.HasPrefix(name, caSourceDir) || !strings.HasSuffix(name, ".crt") || n.Type != tar.TypeReg {
			continue
		}
		start := buf.Len()
		if _, err := io.Copy(&buf, a.contents(n)); err != nil {
			return nil, fmt.Errorf("read /%s: %w", name, err)
		}
		if buf.Len() > start && buf.Bytes()[buf.Len()-1] != '\n' {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes(), nil
}

// userSpec is the default config User: the spec user's "uid:gid", or root.
func userSpec(s *Spec) string {
	if s.Spec.Config.User != "" {
		return s.Spec.Config.User
	}
	if u := s.Spec.User; u != nil {
		return strconv.Itoa(u.UID) + ":" + strconv.Itoa(u.gid())
	}
	return ""
}
