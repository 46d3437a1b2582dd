package attest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/attest/sbom"
)

func TestBaseCache(t *testing.T) {
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	c := &baseCache{now: func() time.Time { return now }}
	doc := &sbom.Document{}
	if c.get("base@sha256:1") != nil {
		t.Fatal("empty cache returned a document")
	}
	c.put("base@sha256:1", doc)
	if c.get("base@sha256:1") != doc || c.get("base@sha256:2") != nil {
		t.Fatal("cache did not return what was put, or returned it for another base")
	}
	now = now.Add(baseSBOMTTL)
	if c.get("base@sha256:1") != nil {
		t.Fatal("an expired document was returned")
	}
	for i := range maxBaseSBOMs + 10 {
		now = now.Add(time.Second)
		c.put(fmt.Sprintf("base@sha256:%d", i), doc)
	}
	if len(c.entries) > maxBaseSBOMs {
		t.Fatalf("cache holds %d documents, over %d", len(c.entries), maxBaseSBOMs)
	}
	if c.get(fmt.Sprintf("base@sha256:%d", maxBaseSBOMs+9)) == nil || c.get("base@sha256:0") != nil {
		t.Fatal("the newest entry was evicted, or the oldest kept")
	}
}
