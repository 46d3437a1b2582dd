// Command benchsummary reads the output of `go test -bench` (make bench
// writes it to a file) and prints issue 14's speed targets next to what the
// run measured: one table, each target met or not. It exits 1 when a
// target's benchmark is missing from the output, never because a target is
// missed: speed is reported, not asserted.
//
//	go run ./scripts/benchsummary bench.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// target is one goal: the metric unit of the benchmarks whose name matches
// bench, compared with goal (at most, or at least).
type target struct {
	what    string
	bench   string // regexp on the benchmark's name, without the -N suffix
	unit    string
	atMost  bool
	goal    float64
	explain string
}

var targets = []target{
	{"attest step (SBOM, provenance, signing, publishing), mean", `^BenchmarkGatewayOverhead$`, "attest-ms", true, 250, "ms"},
	{"attest step, slowest build of the run", `^BenchmarkGatewayOverhead$`, "attest-max-ms", true, 250, "ms"},
	{"gateway overhead over buildctl, attestation off", `^BenchmarkGatewayOverhead$`, "overhead-ms", true, 0, "ms (goal: 10% of buildctl or 10 ms, whichever is larger)"},
	{"cached verdict through VerifyService.Verify, p99", `^BenchmarkVerify/cached-rpc$`, "p99-ms", true, 1, "ms"},
	{"cold verification, one image, real stack, p99", `^BenchmarkVerify/cold$`, "p99-ms", true, 50, "ms"},
	{"cold verification, 100 bundles of 50 rebuilds, real stack, p99", `^BenchmarkVerifyMany/newest-alone$`, "p99-ms", true, 50, "ms"},
	{"the same, the 50 rebuilds signed within ~5 s (burst), p99", `^BenchmarkVerifyMany/burst$`, "p99-ms", true, 50, "ms"},
	{"admission webhook, 10-container Pod, measured", `^BenchmarkAdmission/replicas$`, "reviews/s", false, 5000, "reviews/s"},
	{"the same, every Pod named apart", `^BenchmarkAdmission/distinct$`, "reviews/s", false, 5000, "reviews/s"},
	{"hallmark verify --offline / cosign verify-attestation", `^BenchmarkVerifyVsCosign$`, "offline-ratio", true, 0.5, "× cosign's time"},
	{"hallmark build / buildctl build, large context", `^BenchmarkLargeContext`, "ratio", true, 1.5, "× buildctl's time"},
	{"web view: image page, 1,000 packages and 100 findings", `^BenchmarkImagePage$`, "page-ms", true, 100, "ms of server time"},
	{"web view: each list on 10,000 images, slowest p50", `^BenchmarkLists/`, "p50-ms", true, 100, "ms of server time"},
}

var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchsummary FILE (the output of go test -bench)")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer f.Close()
	res, err := parse(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if !report(os.Stdout, res) {
		os.Exit(1)
	}
}

// result is one benchmark line's metrics by unit.
type result struct {
	name    string
	metrics map[string]float64
}

func parse(r io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := line.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		res := result{name: m[1], metrics: map[string]float64{}}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			res.metrics[f[i+1]] = v
		}
		// The gateway's overhead in ms, and its goal, from the times per build.
		if d, ok := res.metrics["direct-s/op"]; ok {
			if g, ok := res.metrics["gateway-s/op"]; ok {
				res.metrics["overhead-ms"] = (g - d) * 1000
				res.metrics["overhead-goal-ms"] = max(d*1000*0.10, 10)
			}
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// report prints the table; false when a target has no measurement.
func report(w io.Writer, res []result) bool {
	complete := true
	fmt.Fprintf(w, "\n%-58s %12s %12s  %s\n", "target", "measured", "goal", "")
	for _, t := range targets {
		re := regexp.MustCompile(t.bench)
		var vals []float64
		goal := t.goal
		for _, r := range res {
			if v, ok := r.metrics[t.unit]; ok && re.MatchString(r.name) {
				vals = append(vals, v)
				if t.unit == "overhead-ms" {
					goal = r.metrics["overhead-goal-ms"]
				}
			}
		}
		if len(vals) == 0 {
			fmt.Fprintf(w, "%-58s %12s %12s  NOT MEASURED\n", t.what, "-", fmt.Sprintf("%.3g", goal))
			complete = false
			continue
		}
		// The worst value of the run counts.
		worst := vals[0]
		for _, v := range vals[1:] {
			if (t.atMost && v > worst) || (!t.atMost && v < worst) {
				worst = v
			}
		}
		met := (t.atMost && worst <= goal) || (!t.atMost && worst >= goal)
		op := map[bool]string{true: "≤", false: "≥"}[t.atMost]
		verdict := map[bool]string{true: "met", false: "NOT MET"}[met]
		fmt.Fprintf(w, "%-58s %12.4g %12s  %s (%s)\n", t.what, worst, op+strconv.FormatFloat(goal, 'g', 4, 64), verdict, t.explain)
	}
	return complete
}
