package devstack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// CachedImage returns the image stored under cacheDir for key, calling build
// and storing its result first if there is none. Each key has its own OCI
// image layout, cacheDir/<sha256 of key>, written to a temporary directory
// and renamed into place, so concurrent callers and interrupted runs never
// see half an image; an entry that does not read back cleanly is rebuilt.
// The returned image reads its blobs from the layout, so pushing it does not
// compress anything again.
//
// The key must change whenever build could give a different image (see
// GolangImageKey). Old entries are never removed.
func CachedImage(cacheDir, key string, build func() (v1.Image, error)) (v1.Image, error) {
	sum := sha256.Sum256([]byte(key))
	dir := filepath.Join(cacheDir, hex.EncodeToString(sum[:]))
	if _, err := os.Stat(dir); err == nil {
		if img, err := readCachedImage(dir); err == nil {
			return img, nil
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("remove bad image cache entry: %w", err)
		}
	}

	img, err := build()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("create image cache: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, ".tmp-")
	if err != nil {
		return nil, fmt.Errorf("create image cache entry: %w", err)
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return nil, fmt.Errorf("write image cache entry: %w", err)
	}
	if err := p.AppendImage(img); err != nil {
		return nil, fmt.Errorf("write image cache entry: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Someone else stored the same key first; theirs is as good.
		if _, statErr := os.Stat(dir); statErr != nil {
			return nil, fmt.Errorf("store image cache entry: %w", err)
		}
	}
	img, err = readCachedImage(dir)
	if err != nil {
		return nil, fmt.Errorf("read image cache entry: %w", err)
	}
	return img, nil
}

// readCachedImage opens the one image of the layout at dir and checks that
// its config and layer blobs are present with the right sizes.
func readCachedImage(dir string) (v1.Image, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("open image cache entry: %w", err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("open image cache entry: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("open image cache entry: %w", err)
	}
	if len(im.Manifests) != 1 {
		return nil, fmt.Errorf("open image cache entry: %d manifests, want 1", len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("open image cache entry: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("open image cache entry: %w", err)
	}
	for _, desc := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		st, err := os.Stat(filepath.Join(dir, "blobs", desc.Digest.Algorithm, desc.Digest.Hex))
		if err != nil {
			return nil, fmt.Errorf("check image cache entry: %w", err)
		}
		if st.Size() != desc.Size {
			return nil, fmt.Errorf("check image cache entry: blob %s has %d bytes, want %d", desc.Digest, st.Size(), desc.Size)
		}
	}
	return img, nil
}

// EnsureImage makes ref name img in a registry and returns img's digest. If
// ref already resolves to that digest it does nothing more than one HEAD
// request; otherwise it pushes img, uploading only the blobs the registry
// lacks. Loopback registries such as 127.0.0.1:5000 are spoken to over plain
// HTTP (name's default); opts may add authentication or a transport.
func EnsureImage(ctx context.Context, img v1.Image, ref name.Reference, opts ...remote.Option) (v1.Hash, error) {
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("compute image digest: %w", err)
	}
	opts = append(slices.Clip(opts), remote.WithContext(ctx))
	if desc, err := remote.Head(ref, opts...); err == nil && desc.Digest == digest {
		return digest, nil
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return digest, nil
}
