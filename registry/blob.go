package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmark "github.com/hallmark-dev/hallmark"
)

// ReadBlob reads the blob blob names ("registry/repository@sha256:<hex>"),
// which the caller expects to be size bytes (any size when negative),
// reading at most limit bytes, and checks it against its digest and size. opts are the options of the
// call (RemoteOptions, say); ctx is added to them.
//
// Errors wrap a *TooLargeError (hallmark.ErrTooLarge) for a blob over limit
// (before anything is read when size says so), hallmark.ErrInvalid for one that does not
// match its digest or size, and the classes of Error for registry failures.
func ReadBlob(ctx context.Context, blob name.Digest, size, limit int64, opts ...remote.Option) ([]byte, error) {
	if size > limit {
		return nil, &TooLargeError{Size: size, Limit: limit}
	}
	layer, err := remote.Layer(blob, append(slices.Clip(opts), remote.WithContext(ctx))...)
	if err != nil {
		return nil, Error(ctx, err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, Error(ctx, err)
	}
	defer func() { _ = rc.Close() }()
	h := sha256.New()
	b, err := io.ReadAll(io.TeeReader(io.LimitReader(rc, limit+1), h))
	if err != nil {
		return nil, Error(ctx, err)
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Size: -1, Limit: limit}
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != blob.DigestStr() || (size >= 0 && int64(len(b)) != size) {
		return nil, fmt.Errorf("%w: registry sent %d bytes with digest %s", hallmark.ErrInvalid, len(b), got)
	}
	return b, nil
}
