package devstack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Repositories and tags of the base images of the dev stack's local
// registry. The gateway builds the static image from StaticSpec (BuildBase);
// the golang image is built here and tagged with the Go version without its
// "go" prefix (see GoVersion), e.g. hallmark/golang:1.26.8.
const (
	StaticRepository = "hallmark/static"
	StaticTag        = "v1"
	GolangRepository = "hallmark/golang"
)

// DefaultCABundle is the host file copied into the images as
// /etc/ssl/certs/ca-certificates.crt unless WithCABundle says otherwise.
const DefaultCABundle = "/etc/ssl/certs/ca-certificates.crt"

const (
	caBundlePath = "/etc/ssl/certs/ca-certificates.crt"
	systemPath   = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// ImageOption configures GolangImage and GolangImageKey.
type ImageOption func(*imageOptions) error

type imageOptions struct {
	caBundle    string
	caBundleSet bool
}

// WithCABundle copies the PEM file at path into the image as
// /etc/ssl/certs/ca-certificates.crt; it must exist. An empty path installs
// an empty bundle, which makes the image independent of the host.
// The default is DefaultCABundle if it exists on the host, else an empty
// bundle.
func WithCABundle(path string) ImageOption {
	return func(o *imageOptions) error {
		o.caBundle, o.caBundleSet = path, true
		return nil
	}
}

func newImageOptions(opts []ImageOption) (*imageOptions, error) {
	o := &imageOptions{}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if !o.caBundleSet {
		if _, err := os.Stat(DefaultCABundle); err == nil {
			o.caBundle = DefaultCABundle
		}
	}
	return o, nil
}

// readCABundle returns the contents of the configured CA bundle.
func (o *imageOptions) readCABundle() ([]byte, error) {
	if o.caBundle == "" {
		return nil, nil
	}
	b, err := os.ReadFile(o.caBundle)
	if err != nil && (!errors.Is(err, fs.ErrNotExist) || o.caBundleSet) {
		return nil, fmt.Errorf("read ca bundle: %w", err)
	}
	return b, nil
}

// addBaseFiles adds the golang image's base files: users, groups, name
// service switch, os-release, CA bundle, /tmp and /root.
func addBaseFiles(b *layerBuilder, o *imageOptions, rootShell, osRelease string) error {
	ca, err := o.readCABundle()
	if err != nil {
		return err
	}
	b.file("etc/passwd", 0o644, []byte(
		"root:x:0:0:root:/root:"+rootShell+"\n"+
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"))
	b.file("etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n"))
	b.file("etc/nsswitch.conf", 0o644, []byte("passwd: files\ngroup: files\nhosts: files dns\n"))
	b.file("etc/os-release", 0o644, []byte(osRelease))
	b.file("etc/ssl/certs/ca-certificates.crt", 0o644, ca)
	b.dir("tmp", 0o1777, rootID, rootID)
	b.dir("root", 0o700, rootID, rootID)
	return nil
}

func layerHistory(createdBy string) v1.History {
	return v1.History{Created: v1.Time{Time: imageEpoch}, CreatedBy: "hallmark devstack: " + createdBy}
}

// assembleImage makes a linux/GOARCH image with OCI media types, a fixed
// created time, the given config and layers.
func assembleImage(cfg v1.Config, adds ...mutate.Addendum) (v1.Image, error) {
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	base, err := mutate.ConfigFile(base, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: imageEpoch},
		Config:       cfg,
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, fmt.Errorf("append layers: %w", err)
	}
	return img, nil
}
