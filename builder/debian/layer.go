package debian

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// writeLayer writes the tree as a sorted tar, gzip-compressed into file,
// and returns it as a layer.
func (a *assembler) writeLayer(file string, names []string) (v1.Layer, error) {
	fh, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("create layer: %w", err)
	}
	defer fh.Close()
	digest, diffID := sha256.New(), sha256.New()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(fh, digest), gzip.DefaultCompression)
	if err != nil {
		return nil, fmt.Errorf("create layer: %w", err)
	}
	tw := tar.NewWriter(io.MultiWriter(zw, diffID))
	leaders := a.hardlinkLeaders()
	for _, name := range names {
		if err := a.writeEntry(tw, a.nodes[name], leaders); err != nil {
			return nil, fmt.Errorf("write layer entry /%s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	if err := fh.Close(); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	return &fileLayer{path: file, size: st.Size(), digest: sum(digest), diffID: sum(diffID)}, nil
}

// hardlinkLeaders maps every member of a hard link group (a regular file
// and the links to it) to the group's first name in sort order, which the
// layer writes as the regular file so that it precedes its links.
func (a *assembler) hardlinkLeaders() map[string]string {
	groups := map[string][]string{}
	for name, n := range a.nodes {
		if n.Type == tar.TypeLink {
			groups[n.Linkname] = append(groups[n.Linkname], name)
		}
	}
	leaders := map[string]string{}
	for target, links := range groups {
		all := append(links, target)
		leader := slices.Min(all)
		for _, m := range all {
			leaders[m] = leader
		}
	}
	return leaders
}

func (a *assembler) writeEntry(tw *tar.Writer, n *node, leaders map[string]string) error {
	src := n // whose metadata and contents the entry carries
	if n.Type == tar.TypeLink {
		src = a.nodes[n.Linkname]
	}
	hdr := &tar.Header{
		Name:    n.Name,
		Mode:    src.Mode,
		Uid:     src.UID,
		Gid:     src.GID,
		ModTime: src.ModTime,
	}
	switch {
	case n.Type == tar.TypeDir:
		hdr.Typeflag, hdr.Name = tar.TypeDir, n.Name+"/"
	case n.Type == tar.TypeSymlink:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, n.Linkname
	case leaders[n.Name] != "" && leaders[n.Name] != n.Name:
		hdr.Typeflag, hdr.Linkname = tar.TypeLink, leaders[n.Name]
	default: // a regular file, or the leader of a hard link group
		hdr.Typeflag, hdr.Size = tar.TypeReg, src.Size
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tw, h), a.contents(src)); err != nil {
		return err
	}
	if [32]byte(h.Sum(nil)) != src.sum {
		return fmt.Errorf("contents changed in the spool")
	}
	return nil
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// image makes the one-layer image: OCI media types, the spec's config, and
// created time t.
func image(spec *Spec, platform v1.Platform, layer v1.Layer, t time.Time, packages int) (v1.Image, error) {
	c := spec.Spec.Config
	env := slices.Clone(c.Env)
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		env = append([]string{DefaultPath}, env...)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	base, err := mutate.ConfigFile(base, &v1.ConfigFile{
		Architecture: platform.Architecture,
		Variant:      platform.Variant,
		OS:           platform.OS,
		Created:      v1.Time{Time: t},
		Config: v1.Config{
			User:       userSpec(spec),
			Env:        env,
			WorkingDir: c.WorkingDir,
			Entrypoint: c.Entrypoint,
			Cmd:        c.Cmd,
			Labels:     c.Labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: t}, CreatedBy: fmt.Sprintf("hallmark base build: %d Debian packages", packages)},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	return img, nil
}

// fileLayer is a gzip-compressed layer in a file whose digests were
// computed while it was written.
type fileLayer struct {
	path           string
	size           int64
	digest, diffID v1.Hash
}

var _ v1.Layer = (*fileLayer)(nil)

// Digest returns the sha256 of the compressed layer.
func (l *fileLayer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID returns the sha256 of the uncompressed layer.
func (l *fileLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Compressed opens the gzip-compressed tar.
func (l *fileLayer) Compressed() (io.ReadCloser, error) { return os.Open(l.path) }

// Uncompressed opens the tar.
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	fh, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(fh)
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("open layer: %w", err)
	}
	return readCloser{Reader: zr, close: func() error { zr.Close(); return fh.Close() }}, nil
}

// Size returns the size of the compressed layer.
func (l *fileLayer) Size() (int64, error) { return l.size, nil }

// MediaType returns the OCI gzip layer media type.
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
