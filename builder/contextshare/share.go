package contextshare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// Media types and annotations of a hold.
const (
	ArtifactType     = "application/vnd.hallmark.build-context.v1"
	ArchiveMediaType = "application/vnd.hallmark.build-context.v1.tar"

	AnnotationOwner   = "dev.hallmark.context.owner"
	AnnotationDigest  = "dev.hallmark.context.digest"
	AnnotationExpires = "dev.hallmark.context.expires"
)

// tagPrefix starts the tag of every hold; Sweep reads no other tag.
const tagPrefix = "h-"

// maxManifestBytes bounds a hold's manifest as read back.
const maxManifestBytes = 16 << 10

// Share is a registry repository of build contexts.
type Share struct {
	repo name.Repository
	reg  *registry.Client
	now  func() time.Time
}

// Option configures New.
type Option func(*Share)

// WithClock sets the clock that times holds, for tests.
func WithClock(now func() time.Time) Option { return func(s *Share) { s.now = now } }

// New returns the share in repository ("registry/path"), reached with
// reg's credentials.
func New(reg *registry.Client, repository string, opts ...Option) (*Share, error) {
	repo, err := reg.ParseRepository(repository)
	if err != nil {
		return nil, fmt.Errorf("context share repository: %w", err)
	}
	s := &Share{repo: repo, reg: reg, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// tag names ownerKey's hold of d.
func tag(ownerKey string, d hallmark.Digest) string {
	return tagPrefix + ownerKey[:min(48, len(ownerKey))] + "-" + d.Hex()[:48]
}

// Publish records that ownerKey holds d until expires, first uploading the
// archive (size bytes, opened by open) unless the repository has it.
func (s *Share) Publish(ctx context.Context, ownerKey string, d hallmark.Digest, size int64, open func() (io.ReadCloser, error), expires time.Time) error {
	if ownerKey == "" {
		return errors.New("share context: no owner")
	}
	h, err := v1.NewHash(d.String())
	if err != nil {
		return fmt.Errorf("share context: %w", err)
	}
	opts := s.reg.RemoteOptions(ctx)
	// WriteLayer asks first whether the registry has the blob.
	if err := remote.WriteLayer(s.repo, &archive{digest: h, size: size, open: open}, opts...); err != nil {
		return fmt.Errorf("share context %s: upload: %w", d, registry.Error(ctx, err))
	}
	empty := static.NewLayer([]byte("{}"), registry.MediaTypeEmpty)
	if err := remote.WriteLayer(s.repo, empty, opts...); err != nil {
		return fmt.Errorf("share context %s: upload: %w", d, registry.Error(ctx, err))
	}
	emptyDigest, _ := empty.Digest() // a static layer's digest cannot fail
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: ArtifactType,
		Config: v1.Descriptor{MediaType: registry.MediaTypeEmpty, Digest: emptyDigest, Size: 2},
		Layers: []v1.Descriptor{{MediaType: ArchiveMediaType, Digest: h, Size: size}},
		Annotations: map[string]string{
			AnnotationOwner: ownerKey, AnnotationDigest: d.String(),
			AnnotationExpires: expires.UTC().Format(time.RFC3339),
		},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("share context %s: %w", d, err)
	}
	if err := remote.Put(s.repo.Tag(tag(ownerKey, d)), registry.OCIManifest(raw), opts...); err != nil {
		return fmt.Errorf("share context %s: record hold: %w", d, registry.Error(ctx, err))
	}
	return nil
}

// Holds returns when ownerKey's hold of d expires. A hold that is missing,
// expired or names another owner or digest (a tag cut short could collide)
// is an error wrapping hallmark.ErrNotFound.
func (s *Share) Holds(ctx context.Context, ownerKey string, d hallmark.Digest) (time.Time, error) {
	desc, err := remote.Get(s.repo.Tag(tag(ownerKey, d)), s.reg.RemoteOptions(ctx)...)
	if err != nil {
		if errors.Is(registry.Class(ctx, err), hallmark.ErrNotFound) {
			return time.Time{}, fmt.Errorf("%w: no shared hold of context %s", hallmark.ErrNotFound, d)
		}
		return time.Time{}, fmt.Errorf("look up shared context %s: %w", d, registry.Error(ctx, err))
	}
	m, err := parse(desc.Manifest)
	if err != nil {
		return time.Time{}, fmt.Errorf("look up shared context %s: %w", d, err)
	}
	exp, err := hold(m)
	switch {
	case err != nil:
		return time.Time{}, fmt.Errorf("look up shared context %s: %w", d, err)
	case m.Annotations[AnnotationOwner] != ownerKey || m.Annotations[AnnotationDigest] != d.String() ||
		len(m.Layers) != 1 || m.Layers[0].Digest.String() != d.String():
		return time.Time{}, fmt.Errorf("%w: no shared hold of context %s", hallmark.ErrNotFound, d)
	case !s.now().Before(exp):
		return time.Time{}, fmt.Errorf("%w: the shared hold of context %s expired", hallmark.ErrNotFound, d)
	}
	return exp, nil
}

// Open streams the archive d. The reader fails at its end when the bytes
// do not hash to d.
func (s *Share) Open(ctx context.Context, d hallmark.Digest) (io.ReadCloser, error) {
	l, err := remote.Layer(s.repo.Digest(d.String()), s.reg.RemoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("read shared context %s: %w", d, registry.Error(ctx, err))
	}
	rc, err := l.Compressed() // the archive as stored, checked against d
	if err != nil {
		return nil, fmt.Errorf("read shared context %s: %w", d, registry.Error(ctx, err))
	}
	return rc, nil
}

// Sweep deletes the holds that expired, reading at most max of them, and
// returns how many it deleted.
func (s *Share) Sweep(ctx context.Context, max int) (int, error) {
	opts := s.reg.RemoteOptions(ctx)
	tags, err := remote.List(s.repo, opts...)
	if err != nil {
		if errors.Is(registry.Class(ctx, err), hallmark.ErrNotFound) {
			return 0, nil // nothing shared yet
		}
		return 0, fmt.Errorf("sweep shared contexts: %w", registry.Error(ctx, err))
	}
	deleted, read := 0, 0
	for _, t := range tags {
		if !strings.HasPrefix(t, tagPrefix) {
			continue
		}
		if read == max {
			break
		}
		read++
		desc, err := remote.Get(s.repo.Tag(t), opts...)
		if err != nil {
			continue // deleted meanwhile, or unreadable: the next sweep tries again
		}
		m, err := parse(desc.Manifest)
		if err != nil {
			continue
		}
		if exp, err := hold(m); err != nil || s.now().Before(exp) {
			continue
		}
		if err := remote.Delete(s.repo.Digest(desc.Digest.String()), opts...); err != nil && !errors.Is(registry.Class(ctx, err), hallmark.ErrNotFound) {
			return deleted, fmt.Errorf("sweep shared contexts: delete %s: %w", t, registry.Error(ctx, err))
		}
		// Deleting the digest removes its tags in a distribution registry;
		// registries that keep them delete the tag by name (the others
		// refuse, which changes nothing).
		_ = remote.Delete(s.repo.Tag(t), opts...)
		deleted++
	}
	return deleted, nil
}

// parse reads a hold's manifest, bounded.
func parse(raw []byte) (*v1.Manifest, error) {
	if len(raw) > maxManifestBytes {
		return nil, fmt.Errorf("%w: hold manifest is larger than %d bytes", hallmark.ErrTooLarge, maxManifestBytes)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("hold manifest: %w", err)
	}
	return m, nil
}

// hold returns the expiry of the hold m, checking that the manifest is one.
func hold(m *v1.Manifest) (time.Time, error) {
	if m.ArtifactType != ArtifactType {
		return time.Time{}, fmt.Errorf("%w: manifest is not a context hold", hallmark.ErrInvalid)
	}
	exp, err := time.Parse(time.RFC3339, m.Annotations[AnnotationExpires])
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: context hold has no expiry", hallmark.ErrInvalid)
	}
	return exp, nil
}

// archive is a stored context as a layer: its bytes as they are, opened
// only if the registry lacks them.
type archive struct {
	digest v1.Hash
	size   int64
	open   func() (io.ReadCloser, error)
}

func (a *archive) Digest() (v1.Hash, error)             { return a.digest, nil }
func (a *archive) DiffID() (v1.Hash, error)             { return a.digest, nil }
func (a *archive) Compressed() (io.ReadCloser, error)   { return a.open() }
func (a *archive) Uncompressed() (io.ReadCloser, error) { return a.open() }
func (a *archive) Size() (int64, error)                 { return a.size, nil }
func (a *archive) MediaType() (types.MediaType, error)  { return ArchiveMediaType, nil }
