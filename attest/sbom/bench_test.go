package sbom

import (
	"testing"
)

// BenchmarkGenerate measures SBOM generation over the fixture images; "all"
// holds the four ecosystems (726 deb, 14 apk, 39 rpm in three database
// formats, a Go executable) plus 2,000 small files and some C executables,
// in gzip-compressed layers as a registry serves them.
func BenchmarkGenerate(b *testing.B) {
	images := fixtureImages(b)
	for _, name := range []string{"all", "debian", "alpine", "rpm", "distroless", "java"} {
		img := images[name]
		b.Run(name, func(b *testing.B) {
			var n int
			for b.Loop() {
				doc, err := Generate(b.Context(), img, WithCreated(fixedTime), WithTempDir(b.TempDir()))
				if err != nil {
					b.Fatal(err)
				}
				n = doc.Summary().Packages
			}
			b.ReportMetric(float64(n), "packages")
		})
	}
}
