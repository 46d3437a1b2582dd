package devstack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// imageEpoch is the fixed time stamped on every file, history entry and
// config of the images built here, so that equal inputs give equal digests.
var imageEpoch = time.Unix(0, 0).UTC()

// Well-known ids of the images' users.
const (
	rootID    = 0
	nonrootID = 65532
)

// layerEntry is one file, directory or symlink of a layer.
type layerEntry struct {
	name     string // slash-separated, relative to /, no trailing slash
	typeflag byte
	mode     int64
	uid, gid int
	linkname string
	data     []byte // contents of a small regular file
	src      string // host path of a large regular file, read when written
	size     int64  // size of src
}

// layerBuilder collects the entries of one layer and writes them as a
// reproducible tar: sorted names, fixed times and owners, no host metadata.
type layerBuilder struct {
	entries map[string]layerEntry
}

func newLayerBuilder() *layerBuilder {
	return &layerBuilder{entries: make(map[string]layerEntry)}
}

// dir adds a directory; missing parents are added as root-owned 0755.
func (b *layerBuilder) dir(name string, mode int64, uid, gid int) {
	b.add(layerEntry{name: name, typeflag: tar.TypeDir, mode: mode, uid: uid, gid: gid})
}

// file adds a root-owned regular file with the given contents.
func (b *layerBuilder) file(name string, mode int64, data []byte) {
	b.add(layerEntry{name: name, typeflag: tar.TypeReg, mode: mode, data: data, size: int64(len(data))})
}

// hostFile adds a root-owned regular file copied from src when the layer is
// written; size is checked then, so a file that changes in between is an error.
func (b *layerBuilder) hostFile(name string, mode int64, src string, size int64) {
	b.add(layerEntry{name: name, typeflag: tar.TypeReg, mode: mode, src: src, size: size})
}

// symlink adds a root-owned symbolic link.
func (b *layerBuilder) symlink(name, target string) {
	b.add(layerEntry{name: name, typeflag: tar.TypeSymlink, mode: 0o777, linkname: target})
}

func (b *layerBuilder) add(e layerEntry) {
	e.name = strings.Trim(path.Clean("/"+e.name), "/")
	for p := path.Dir(e.name); p != "." && p != "/"; p = path.Dir(p) {
		if _, ok := b.entries[p]; !ok {
			b.entries[p] = layerEntry{name: p, typeflag: tar.TypeDir, mode: 0o755}
		}
	}
	b.entries[e.name] = e
}

// build writes the tar, compresses it with gzip at level and returns the
// layer, held in memory, with media type application/vnd.oci.image.layer.v1.tar+gzip.
func (b *layerBuilder) build(level int) (v1.Layer, error) {
	var compressed bytes.Buffer
	digest, diffID := sha256.New(), sha256.New()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(&compressed, digest), level)
	if err != nil {
		return nil, fmt.Errorf("create gzip writer: %w", err)
	}
	if err := b.writeTar(io.MultiWriter(zw, diffID)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	return &memLayer{
		compressed: compressed.Bytes(),
		digest:     sumHash(digest),
		diffID:     sumHash(diffID),
	}, nil
}

func (b *layerBuilder) writeTar(w io.Writer) error {
	names := make([]string, 0, len(b.entries))
	for name := range b.entries {
		names = append(names, name)
	}
	slices.Sort(names)
	tw := tar.NewWriter(w)
	for _, name := range names {
		if err := writeEntry(tw, b.entries[name]); err != nil {
			return fmt.Errorf("write layer entry %q: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("close layer tar: %w", err)
	}
	return nil
}

func writeEntry(tw *tar.Writer, e layerEntry) error {
	hdr := &tar.Header{
		Typeflag: e.typeflag,
		Name:     e.name,
		Linkname: e.linkname,
		Mode:     e.mode,
		Uid:      e.uid,
		Gid:      e.gid,
		Uname:    userName(e.uid),
		Gname:    userName(e.gid),
		ModTime:  imageEpoch,
	}
	if e.typeflag == tar.TypeDir {
		hdr.Name += "/"
	}
	if e.typeflag == tar.TypeReg {
		hdr.Size = e.size
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	switch {
	case e.typeflag != tar.TypeReg:
		return nil
	case e.src == "":
		_, err := tw.Write(e.data)
		return err
	}
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, e.size); err != nil {
		return fmt.Errorf("copy %s: %w", e.src, err)
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return fmt.Errorf("copy %s: file grew while being read", e.src)
	}
	return nil
}

func userName(id int) string {
	switch id {
	case rootID:
		return "root"
	case nonrootID:
		return "nonroot"
	}
	return ""
}

func sumHash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

// memLayer is a gzip-compressed layer held in memory whose digests were
// computed while it was written, so nothing is compressed twice.
type memLayer struct {
	compressed     []byte
	digest, diffID v1.Hash
}

var _ v1.Layer = (*memLayer)(nil)

// Digest returns the sha256 of the compressed layer.
func (l *memLayer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID returns the sha256 of the uncompressed layer.
func (l *memLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Compressed returns the gzip-compressed tar.
func (l *memLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.compressed)), nil
}

// Uncompressed returns the tar.
func (l *memLayer) Uncompressed() (io.ReadCloser, error) {
	zr, err := gzip.NewReader(bytes.NewReader(l.compressed))
	if err != nil {
		return nil, fmt.Errorf("open layer: %w", err)
	}
	return zr, nil
}

// Size returns the size of the compressed layer.
func (l *memLayer) Size() (int64, error) { return int64(len(l.compressed)), nil }

// MediaType returns the OCI gzip layer media type.
func (l *memLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
