//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// installDocs returns the objects of deploy/install.yaml as YAML documents
// with their kinds.
func installDocs(t *testing.T) (kinds, docs []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(env.repo, "deploy", "install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatal(err)
		}
		kinds, docs = append(kinds, tm.Kind), append(docs, doc)
	}
	return kinds, docs
}

// podFrom returns a Pod of a workload's template in namespace ns.
func podFrom(t *testing.T, ns, name string, tmpl corev1.PodTemplateSpec) string {
	t.Helper()
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: tmpl.Labels, Annotations: tmpl.Annotations},
		Spec:       tmpl.Spec,
	}
	data, err := yaml.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// noWarnings fails on any warning kubectl printed (the API server's
// warnings, PodSecurity's "would violate" among them).
func noWarnings(t *testing.T, what, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(strings.ToLower(l), "warning") {
			t.Errorf("%s: %s", what, l)
		}
	}
}

// TestDeployDryRun applies deploy/install.yaml to the stack's real
// kube-apiserver with a server-side dry run: every object is validated
// against the API's schemas and admission, PodSecurity included, with
// zero errors and zero warnings. The two namespaces are created for real
// first (labelled as install.yaml labels them), since namespaced objects
// of a dry run need their namespace to exist. Then Pods made of the
// gateway's and the workers' templates are dry-run created, which is where
// PodSecurity enforces (for workloads it only warns): the gateway's passes
// restricted, and the workers' passes its namespace's level but would be
// refused in the gateway's namespace; and a Deployment that breaks the
// restricted level is warned about. It also renders deploy/base with the
// stack's pinned kubectl (v1.37.2) and compares with install.yaml.
func TestDeployDryRun(t *testing.T) {
	kinds, docs := installDocs(t)

	out, err := kubectl(t, "", "kustomize", filepath.Join(env.repo, "deploy", "base"))
	if err != nil {
		t.Fatalf("kubectl kustomize deploy/base: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(env.repo, "deploy", "install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(data), out) || !strings.HasPrefix(out, "apiVersion:") {
		t.Errorf("the pinned kubectl renders deploy/base differently from install.yaml (go test ./deploy -update):\n%s", out)
	}

	var namespaces []string
	for i, k := range kinds {
		if k == "Namespace" {
			namespaces = append(namespaces, docs[i])
		}
	}
	if len(namespaces) != 2 {
		t.Fatalf("install.yaml has %d namespaces, want 2", len(namespaces))
	}
	out, err = kubectl(t, strings.Join(namespaces, "\n---\n"), "apply", "--server-side", "-f", "-")
	if err != nil {
		t.Fatalf("create the namespaces: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		// No namespace controller runs here: they stay Terminating, harmless.
		_, _ = kubectl(t, "", "delete", "namespace", "hallmark-system", "hallmark-buildkit", "--wait=false")
	})

	start := time.Now()
	out, err = kubectl(t, "", "apply", "--server-side", "--dry-run=server", "-f", filepath.Join(env.repo, "deploy", "install.yaml"))
	took := time.Since(start)
	if err != nil {
		t.Fatalf("kubectl apply --server-side --dry-run=server: %v\n%s", err, out)
	}
	t.Logf("dry-run apply of %d objects in %s:\n%s", len(docs), took.Round(time.Millisecond), out)
	noWarnings(t, "dry-run apply", out)
	if n := strings.Count(out, "serverside-applied (server dry run)"); n != len(docs) {
		t.Errorf("%d objects applied, want %d", n, len(docs))
	}

	t.Run("example overlay", func(t *testing.T) { dryRunExample(t) })

	// The control: a gateway Deployment that allows privilege escalation is
	// warned about, so the zero warnings above mean something.
	for i, k := range kinds {
		if k != "Deployment" {
			continue
		}
		bad := strings.Replace(docs[i], "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", 1)
		if bad == docs[i] {
			t.Fatal("the gateway Deployment sets no allowPrivilegeEscalation: false")
		}
		out, err := kubectl(t, bad, "apply", "--server-side", "--dry-run=server", "-f", "-")
		if err != nil || !strings.Contains(out, "would violate PodSecurity") {
			t.Errorf("a Deployment escalating privilege was not warned about (err %v):\n%s", err, out)
		}
	}

	// PodSecurity enforces on Pods: dry-run the Pods the workloads make.
	var gateway, workers corev1.PodTemplateSpec
	for i, k := range kinds {
		switch k {
		case "Deployment":
			var d appsv1.Deployment
			if err := yaml.UnmarshalStrict([]byte(docs[i]), &d); err != nil {
				t.Fatal(err)
			}
			gateway = d.Spec.Template
		case "StatefulSet":
			var s appsv1.StatefulSet
			if err := yaml.UnmarshalStrict([]byte(docs[i]), &s); err != nil {
				t.Fatal(err)
			}
			workers = s.Spec.Template
		}
	}
	for _, c := range []struct {
		name, ns string
		tmpl     corev1.PodTemplateSpec
		refused  bool
	}{
		{"hallmarkd-pod", "hallmark-system", gateway, false},
		{"buildkitd-pod", "hallmark-buildkit", workers, false},
		// The control: the workers' pod would break the restricted level,
		// so the gateway's namespace is seen to enforce it.
		{"buildkitd-pod", "hallmark-system", workers, true},
	} {
		t.Run(fmt.Sprintf("%s in %s", c.name, c.ns), func(t *testing.T) {
			out, err := kubectl(t, podFrom(t, c.ns, c.name, c.tmpl), "create", "--dry-run=server", "-f", "-")
			switch {
			case c.refused && err == nil:
				t.Fatalf("created, want refused by PodSecurity:\n%s", out)
			case c.refused && !strings.Contains(out, `violates PodSecurity "restricted:latest"`):
				t.Fatalf("refused, but not by PodSecurity restricted:\n%s", out)
			case !c.refused && err != nil:
				t.Fatalf("refused: %v\n%s", err, out)
			}
			if !c.refused {
				noWarnings(t, "dry-run Pod", out)
			}
			t.Logf("%s", strings.TrimSpace(out))
		})
	}
}

// serviceMonitorCRD stands in for the Prometheus Operator's CRD: the kind
// only, its schema left open, so that the example's ServiceMonitor can be
// dry-run applied.
const serviceMonitorCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

// dryRunExample renders deploy/example (the one file an operator edits:
// replicas, images, configuration, and a ServiceMonitor) and dry-run
// applies it, with zero warnings, to the namespaces TestDeployDryRun made.
func dryRunExample(t *testing.T) {
	out, err := kubectl(t, serviceMonitorCRD, "apply", "--server-side", "-f", "-")
	if err != nil {
		t.Fatalf("register the ServiceMonitor kind: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_, _ = kubectl(t, "", "delete", "crd", "servicemonitors.monitoring.coreos.com", "--wait=false")
	})
	if out, err := kubectl(t, "", "wait", "--for", "condition=established", "--timeout", "30s", "crd/servicemonitors.monitoring.coreos.com"); err != nil {
		t.Fatalf("the ServiceMonitor kind is not served: %v\n%s", err, out)
	}
	rendered, err := kubectl(t, "", "kustomize", filepath.Join(env.repo, "deploy", "example"))
	if err != nil {
		t.Fatalf("kubectl kustomize deploy/example: %v\n%s", err, rendered)
	}
	objects := strings.Count("\n"+rendered, "\nkind: ")
	out, err = kubectl(t, rendered, "apply", "--server-side", "--dry-run=server", "-f", "-")
	if err != nil {
		t.Fatalf("dry-run apply of the example: %v\n%s", err, out)
	}
	noWarnings(t, "dry-run apply of the example", out)
	if n := strings.Count(out, "serverside-applied (server dry run)"); n != objects || !strings.Contains(out, "servicemonitor.monitoring.coreos.com/hallmarkd") {
		t.Errorf("%d of the example's %d objects applied (the ServiceMonitor among them?):\n%s", n, objects, out)
	}
}
