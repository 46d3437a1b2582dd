package admission

import (
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// patchOp is one RFC 6902 JSON Patch operation.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

// digestPinned says whether image names its digest.
func digestPinned(image string) bool {
	ref, err := name.ParseReference(image)
	if err != nil {
		return false
	}
	_, ok := ref.(name.Digest)
	return ok
}

// pinPatch replaces every container image of o that is not pinned by
// digest with its verdict's pinned reference. On an update, a container
// whose image the update leaves as it was (same list, same name) is not
// patched: changing it would restart a running container or roll out a
// workload that the update did not touch. It returns nil when there is
// nothing to patch.
func pinPatch(o, old *object, results map[string]result) ([]byte, error) {
	unchanged := map[string]string{}
	if old != nil {
		for _, c := range old.containers() {
			unchanged[c.key()] = c.image
		}
	}
	var ops []patchOp
	for _, c := range o.containers() {
		if c.image == "" || digestPinned(c.image) {
			continue
		}
		if img, ok := unchanged[c.key()]; ok && img == c.image {
			continue
		}
		r := results[c.image]
		if r.verdict == nil || r.verdict.Pinned == "" || !digestPinned(r.verdict.Pinned) {
			continue
		}
		ops = append(ops, patchOp{Op: "replace", Path: o.imagePath(c), Value: r.verdict.Pinned})
	}
	if len(ops) == 0 {
		return nil, nil
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encode patch: %w", err)
	}
	return patch, nil
}
