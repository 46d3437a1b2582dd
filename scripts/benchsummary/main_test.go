package main

import (
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	in := `goos: linux
BenchmarkGatewayOverhead-2   	       5	 1 ns/op	0.0800 direct-s/op	0.0850 gateway-s/op	0.300 attested-s/op	180.0 attest-ms	240.0 attest-max-ms
BenchmarkVerify/cached-rpc-2 	     300	 1 ns/op	0.4100 p50-ms	1.20 p99-ms
BenchmarkAdmission/replicas-2 	 300	 1 ns/op	5100 reviews/s
`
	res, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if report(&out, res) {
		t.Error("report says complete with targets missing")
	}
	got := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{
		"attest step (SBOM, provenance, signing, publishing), mean 180 ≤250 met",
		"gateway overhead over buildctl, attestation off 5 ≤10 met",
		"cached verdict through VerifyService.Verify, p99 1.2 ≤1 NOT MET",
		"admission webhook, 10-container Pod, measured 5100 ≥5000 met",
		"hallmark verify --offline / cosign verify-attestation - 0.5 NOT MEASURED",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}
