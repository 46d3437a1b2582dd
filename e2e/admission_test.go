//go:build e2e

package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// kubectl runs the stack's kubectl against its API server with stdin.
func kubectl(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	if env.stack.Kubectl == "" {
		t.Fatal("the stack runs no Kubernetes")
	}
	cmd := exec.CommandContext(t.Context(), env.stack.Kubectl, append([]string{"--kubeconfig", env.stack.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// secureContainer is a container spec that passes every hygiene rule.
func secureContainer(name, image string, extra string) string {
	return fmt.Sprintf(`
      - name: %s
        image: %s
        securityContext:
          runAsNonRoot: true
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
          seccompProfile: {type: RuntimeDefault}%s`, name, image, extra)
}

func podYAML(ns, name, containers string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: %s}\nspec:\n  containers:%s\n", name, ns, indent(containers, -4))
}

// indent shifts every line of s by n spaces (negative removes).
func indent(s string, n int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if n < 0 {
			lines[i] = strings.TrimPrefix(l, strings.Repeat(" ", -n))
		} else if l != "" {
			lines[i] = strings.Repeat(" ", n) + l
		}
	}
	return strings.Join(lines, "\n")
}

func deploymentYAML(ns, name, containers string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: %s}
spec:
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      containers:%s
`, name, ns, name, name, indent(containers, 2))
}

func cronJobYAML(ns, name, containers string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata: {name: %s, namespace: %s}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:%s
`, name, ns, indent(containers, 6))
}

func TestAdmissionWebhook(t *testing.T) {
	tag, pinned := attestedExample(t)
	st := env.stack.State
	unsigned := pushRandom(t, st.Registry+"/e2e/admission:unsigned")
	unsignedTag := st.Registry + "/e2e/admission:unsigned"
	replayed := pushRandom(t, st.Registry+"/e2e/admission:replayed")
	attach(t, replayed, exampleBundle(t, pinned, "https://slsa.dev/provenance/v1"), "https://slsa.dev/provenance/v1")

	if out, err := kubectl(t, "", "create", "namespace", "verified"); err != nil {
		t.Fatalf("create namespace: %v\n%s", err, out)
	}
	if out, err := kubectl(t, "", "label", "namespace", "verified", devstack.VerifyLabel+"=enabled"); err != nil {
		t.Fatalf("label namespace: %v\n%s", err, out)
	}
	if out, err := kubectl(t, "", "create", "namespace", "plain"); err != nil {
		t.Fatalf("create namespace: %v\n%s", err, out)
	}
	// The API server picks up webhook configurations asynchronously: wait
	// until a dry run of an unsigned Pod is denied by Hallmark.
	probe := podYAML("verified", "probe", secureContainer("app", unsignedTag, ""))
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := kubectl(t, probe, "apply", "--dry-run=server", "-f", "-")
		if err != nil && strings.Contains(out, "hallmark") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook never denied an unsigned Pod: %v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	t.Run("signed compliant Pod is admitted and pinned", func(t *testing.T) {
		out, err := kubectl(t, podYAML("verified", "hello", secureContainer("app", tag, "")), "apply", "-f", "-")
		if err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, out)
		}
		image, err := kubectl(t, "", "-n", "verified", "get", "pod", "hello", "-o", "jsonpath={.spec.containers[0].image}")
		if err != nil || image != pinned {
			t.Errorf("admitted Pod's image = %q (%v), want it pinned to %s by the mutating webhook", image, err, pinned)
		}
	})
	for _, tc := range []struct {
		name, manifest string
		want           []string
	}{
		{"unsigned Pod", podYAML("verified", "unsigned", secureContainer("app", unsignedTag, "")),
			[]string{unsignedTag, `"signers"`, "no attestations"}},
		{"unsigned init container", podYAML("verified", "init", secureContainer("app", tag, "")+"\n      initContainers:"+secureContainer("init", unsigned, "")),
			[]string{unsigned, "signers"}},
		{"privileged container", podYAML("verified", "priv", secureContainer("app", tag, "\n          privileged: true")),
			[]string{`"app"`, "privileged"}},
		{"secret in env", podYAML("verified", "env", secureContainer("app", tag, "\n        env: [{name: DB_PASSWORD, value: hunter2hunter2}]")),
			[]string{"DB_PASSWORD"}},
		{"unsigned Deployment", deploymentYAML("verified", "web", secureContainer("app", unsignedTag, "")),
			[]string{unsignedTag, "signers"}},
		{"unsigned StatefulSet", strings.Replace(strings.Replace(deploymentYAML("verified", "db", secureContainer("app", unsignedTag, "")),
			"kind: Deployment", "kind: StatefulSet", 1), "spec:\n", "spec:\n  serviceName: db\n", 1),
			[]string{unsignedTag, "signers"}},
		{"unsigned CronJob", cronJobYAML("verified", "nightly", secureContainer("app", unsignedTag, "")),
			[]string{unsignedTag, "signers"}},
		// A core kind with a Pod template, admitted unchecked before.
		{"unsigned ReplicationController", strings.NewReplacer("apiVersion: apps/v1\nkind: Deployment", "apiVersion: v1\nkind: ReplicationController",
			"selector: {matchLabels: {app: rc}}", "selector: {app: rc}").Replace(deploymentYAML("verified", "rc", secureContainer("app", unsignedTag, ""))),
			[]string{unsignedTag, "signers"}},
		{"replayed attestation", podYAML("verified", "replayed", secureContainer("app", replayed, "")),
			[]string{replayed, "subject digest does not match"}},
		{"latest tag", podYAML("verified", "latest", secureContainer("app", st.Registry+"/e2e/verify:latest", "")),
			[]string{"latest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := kubectl(t, tc.manifest, "apply", "-f", "-")
			if err == nil {
				t.Fatalf("kubectl apply admitted it:\n%s\n%s", tc.manifest, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("denial does not mention %s:\n%s", w, out)
				}
			}
			if strings.Contains(out, "hunter2") {
				t.Errorf("denial leaks the secret value:\n%s", out)
			}
		})
	}
	t.Run("namespace without the label is not checked", func(t *testing.T) {
		if out, err := kubectl(t, podYAML("plain", "unsigned", secureContainer("app", unsignedTag, "")), "apply", "-f", "-"); err != nil {
			t.Errorf("kubectl apply in an unlabelled namespace: %v\n%s", err, out)
		}
	})
}

// webhookClient is an HTTPS client that trusts the stack's TLS root, which
// signed the admission webhook's certificate.
func webhookClient(t testing.TB) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(env.stack.TLSRoot)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("%s holds no certificate", env.stack.TLSRoot)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 64}}
}

// TestAdmissionBadReviews posts malformed, oversized and wrong-kind
// AdmissionReviews to the gateway's webhook over HTTPS.
func TestAdmissionBadReviews(t *testing.T) {
	cl := webhookClient(t)
	url := env.stack.Admission + "/admission/validate"
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		status            int
	}{
		{"garbage", "application/json", []byte("{not json"), http.StatusBadRequest},
		{"v1beta1 review", "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}`), http.StatusBadRequest},
		{"no uid", "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`), http.StatusBadRequest},
		{"oversized", "application/json", bytes.Repeat([]byte(" "), 4<<20), http.StatusRequestEntityTooLarge},
		{"not JSON", "text/plain", []byte("hello"), http.StatusUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := cl.Post(url, tc.contentType, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %s, want %d", resp.Status, tc.status)
			}
		})
	}
	// An undecodable Pod inside a well-formed review is denied, not admitted.
	review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},` +
		`"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","namespace":"x","object":{"spec":{"containers":"nope"}}}}`
	if out := postReview(t, cl, env.stack.Admission, []byte(review)); out.UID != "u1" || out.Allowed {
		t.Errorf("undecodable Pod: %+v; want a denial with uid u1", out)
	}
}

// reviewResponse is the part of an AdmissionReview's response the tests
// read.
type reviewResponse struct {
	UID     string `json:"uid"`
	Allowed bool   `json:"allowed"`
	Status  struct {
		Message string `json:"message"`
	} `json:"status"`
}

// postReview posts an AdmissionReview to the webhook at base and returns
// its response.
func postReview(t *testing.T, cl *http.Client, base string, review []byte) reviewResponse {
	t.Helper()
	resp, err := cl.Post(base+"/admission/validate", "application/json", bytes.NewReader(review))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Response reviewResponse `json:"response"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode admission response (%s): %v", resp.Status, err)
	}
	return out.Response
}
