package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/hallmark-dev/hallmark/verify/policy"
)

// render renders a kustomization directory with kubectl.
func render(t *testing.T, dir string) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), kubectl(t), "kustomize", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.Bytes())
	}
	if stderr.Len() > 0 {
		t.Errorf("kubectl kustomize %s wrote to stderr (a warning): %s", dir, stderr.Bytes())
	}
	return strings.Split(strings.TrimPrefix(stdout.String(), "---\n"), "\n---\n")
}

// serviceMonitor is the part of a monitoring.coreos.com/v1 ServiceMonitor
// checked here (the CRD's Go types are not a dependency).
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port              string `json:"port"`
			Scheme            string `json:"scheme"`
			Path              string `json:"path"`
			Interval          string `json:"interval"`
			BearerTokenSecret struct {
				Name string `json:"name"`
				Key  string `json:"key"`
			} `json:"bearerTokenSecret"`
			TLSConfig struct {
				ServerName string `json:"serverName"`
				CA         struct {
					ConfigMap struct {
						Name string `json:"name"`
						Key  string `json:"key"`
					} `json:"configMap"`
				} `json:"ca"`
			} `json:"tlsConfig"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// TestExampleOverlay renders deploy/example, the one file an operator
// edits, and checks that it changes the base only where it says: the
// replica counts, the images, the configuration (which loads) and the
// ServiceMonitor it adds. Every other object is the base's, so the base's
// hardening tests hold for it.
func TestExampleOverlay(t *testing.T) {
	var monitors []serviceMonitor
	var rest []string
	for _, doc := range render(t, "example") {
		var sm serviceMonitor
		if err := yaml.Unmarshal([]byte(doc), &sm); err != nil {
			t.Fatal(err)
		}
		if sm.Kind == "ServiceMonitor" {
			if err := yaml.UnmarshalStrict([]byte(doc), &sm); err != nil {
				t.Fatalf("ServiceMonitor: %v", err)
			}
			monitors = append(monitors, sm)
			continue
		}
		rest = append(rest, doc)
	}
	ex, base := decode(t, rest), load(t)

	d, c, cfg, cm := ex.gateway(t)
	bd, bc, _, bcm := base.gateway(t)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 || !strings.HasPrefix(c.Image, "registry.example.com/hallmark/hallmarkd@sha256:") {
		t.Errorf("gateway: %v replicas of %s, want the example's 3 of its own image", d.Spec.Replicas, c.Image)
	}
	if _, err := policy.Load([]byte(cm.Data["policy.yaml"])); err != nil {
		t.Errorf("the example's policy.yaml: %v", err)
	}
	if cfg.Contexts.SharedRepository == "" || cfg.BuildKit.Discover == "" {
		t.Errorf("the example's config shares no contexts (%q) or lists its workers (%q)", cfg.Contexts.SharedRepository, cfg.BuildKit.Discover)
	}
	var sts, bsts *appsv1.StatefulSet
	for i, s := range ex.statefulSets {
		if s.Name == "buildkitd" {
			sts, bsts = s, base.statefulSets[i]
		}
	}
	if sts == nil || sts.Spec.Replicas == nil || *sts.Spec.Replicas != 3 || !strings.Contains(sts.Spec.Template.Spec.Containers[0].Image, "@sha256:") {
		t.Fatalf("BuildKit workers: %+v", sts)
	}

	// Undo what the example may change; then every object must be the
	// base's.
	d.Spec.Replicas, sts.Spec.Replicas = bd.Spec.Replicas, bsts.Spec.Replicas
	for i := range d.Spec.Template.Spec.Containers {
		if d.Spec.Template.Spec.Containers[i].Name == bc.Name {
			d.Spec.Template.Spec.Containers[i].Image = bc.Image
		}
	}
	sts.Spec.Template.Spec.Containers[0].Image = bsts.Spec.Template.Spec.Containers[0].Image
	for i, v := range d.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
			d.Spec.Template.Spec.Volumes[i].ConfigMap.Name = bcm.Name
		}
	}
	cm.Name, cm.Data = bcm.Name, bcm.Data
	same(t, "Deployments", ex.deployments, base.deployments)
	same(t, "StatefulSets", ex.statefulSets, base.statefulSets)
	same(t, "ConfigMaps", ex.configMaps, base.configMaps)
	same(t, "Services", ex.services, base.services)
	same(t, "ServiceAccounts", ex.serviceAccounts, base.serviceAccounts)
	same(t, "PodDisruptionBudgets", ex.pdbs, base.pdbs)
	same(t, "NetworkPolicies", ex.netpols, base.netpols)
	same(t, "ValidatingWebhookConfigurations", ex.validating, base.validating)
	same(t, "MutatingWebhookConfigurations", ex.mutating, base.mutating)
	same(t, "Roles", ex.roles, base.roles)
	same(t, "ClusterRoles", ex.clusterRoles, base.clusterRoles)
	same(t, "RoleBindings", ex.roleBindings, base.roleBindings)
	same(t, "ClusterRoleBindings", ex.clusterBindings, base.clusterBindings)
	same(t, "Namespaces", []any{ex.namespaces}, []any{base.namespaces})

	checkServiceMonitors(t, monitors, base, c)
}

// same fails unless got and want marshal alike.
func same[T any](t *testing.T, what string, got, want []T) {
	t.Helper()
	g, err := yaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := yaml.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("the example changes the base's %s beyond replicas, images and configuration:\n%s\nbase:\n%s", what, g, w)
	}
}

// checkServiceMonitors checks that the one ServiceMonitor scrapes the
// API Service's port with the metrics token the gateway mounts, over TLS
// to the Service's name.
func checkServiceMonitors(t *testing.T, monitors []serviceMonitor, m *manifests, c corev1.Container) {
	t.Helper()
	if len(monitors) != 1 {
		t.Fatalf("%d ServiceMonitors, want 1", len(monitors))
	}
	sm := monitors[0]
	if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Metadata.Namespace != gatewayNS || len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor %+v", sm)
	}
	ep := sm.Spec.Endpoints[0]
	var api *corev1.Service
	for _, s := range m.services {
		if s.Namespace == gatewayNS && selects(&metav1.LabelSelector{MatchLabels: sm.Spec.Selector.MatchLabels}, s.Labels) {
			for _, p := range s.Spec.Ports {
				if p.Name == ep.Port {
					api = s
				}
			}
		}
	}
	if api == nil {
		t.Fatalf("no Service in %s with the port %q the ServiceMonitor scrapes", gatewayNS, ep.Port)
	}
	if ep.Scheme != "https" || ep.Path != "/metrics" || ep.TLSConfig.ServerName != api.Name+"."+api.Namespace+".svc" || ep.TLSConfig.CA.ConfigMap.Name == "" {
		t.Errorf("endpoint %+v: want https /metrics, verifying %s.%s.svc against a CA", ep, api.Name, api.Namespace)
	}
	mounted := ""
	for _, v := range m.deployments[0].Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == ep.BearerTokenSecret.Name {
			mounted = path.Join(mountPath(c, v.Name), ep.BearerTokenSecret.Key)
		}
	}
	_, _, cfg, _ := m.gateway(t)
	if mounted == "" || mounted != cfg.Metrics.TokenFile {
		t.Errorf("the ServiceMonitor sends the token of Secret %s key %s (mounted at %q), but the gateway checks %q",
			ep.BearerTokenSecret.Name, ep.BearerTokenSecret.Key, mounted, cfg.Metrics.TokenFile)
	}
}

// TestPrivilegedWorkers renders the base with the component
// privileged-buildkit: the workers run BuildKit's root image privileged,
// in a namespace whose Pod Security admits it, and nothing else changes.
func TestPrivilegedWorkers(t *testing.T) {
	dir, err := os.MkdirTemp(".", ".privileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	k := "resources:\n  - ../base\ncomponents:\n  - ../components/privileged-buildkit\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	got, base := decode(t, render(t, dir)), load(t)
	s, bs := got.statefulSets[0], base.statefulSets[0]
	c := s.Spec.Template.Spec.Containers[0]
	if sc := c.SecurityContext; sc == nil || sc.Privileged == nil || !*sc.Privileged || c.Image != "moby/buildkit:v0.34.2" ||
		slices.Contains(c.Args, "--oci-worker-no-process-sandbox") || c.VolumeMounts[0].MountPath != "/var/lib/buildkit" {
		t.Fatalf("privileged worker container: %+v", c)
	}
	if ns := got.namespaces[s.Namespace]; ns == nil || ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
		t.Errorf("namespace %s does not admit privileged pods: %+v", s.Namespace, ns)
	}
	// Only the worker container differs from the base.
	s.Spec.Template.Spec.Containers[0] = bs.Spec.Template.Spec.Containers[0]
	same(t, "StatefulSets", got.statefulSets, base.statefulSets)
	same(t, "Deployments", got.deployments, base.deployments)
	same(t, "NetworkPolicies", got.netpols, base.netpols)
	same(t, "Services", got.services, base.services)
}
