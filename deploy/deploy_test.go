package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/internal/devstack"
	"github.com/hallmark-dev/hallmark/internal/golden"
	"github.com/hallmark-dev/hallmark/internal/kube"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// header is the first lines of install.yaml, before the rendered objects.
const header = "# Rendered from deploy/base by `kubectl kustomize deploy/base`: do not edit.\n" +
	"# Regenerate with `go test ./deploy -run TestInstallYAMLIsCurrent -update`.\n"

const (
	gatewayNS  = "hallmark-system"
	buildkitNS = "hallmark-buildkit"
	gatewayApp = "hallmarkd"
	verifyKey  = "hallmark.dev/verify"
)

// kubectl returns the kubectl to render with: $HALLMARK_KUBECTL (which
// `hallmark dev up --kubernetes` exports: the pinned v1.37.2), else the one
// on PATH. Without either the test skips, except under CI, where it uses the
// pinned kubectl of tools/kubernetes that the e2e stack uses, building it
// into the tool cache if needed (minutes, once), and fails if it cannot.
func kubectl(t *testing.T) string {
	t.Helper()
	if k := os.Getenv("HALLMARK_KUBECTL"); k != "" {
		return k
	}
	if k, err := exec.LookPath("kubectl"); err == nil {
		return k
	}
	if os.Getenv("CI") == "" {
		t.Skip("kubectl is not on PATH (nor HALLMARK_KUBECTL set): cannot render deploy/base")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	k, err := devstack.Tool(t.Context(), repo, "kubernetes", "kubectl", t.Output())
	if err != nil {
		t.Fatalf("kubectl is not on PATH in CI, and the pinned one did not build: %v", err)
	}
	return k
}

// TestInstallYAMLIsCurrent renders deploy/base with kubectl and compares
// the result with install.yaml; -update rewrites install.yaml.
func TestInstallYAMLIsCurrent(t *testing.T) {
	k := kubectl(t)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), k, "kustomize", "base")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl kustomize base: %v\n%s", err, stderr.Bytes())
	}
	t.Logf("kubectl kustomize base: %d bytes in %s", stdout.Len(), time.Since(start).Round(time.Millisecond))
	if stderr.Len() > 0 {
		t.Errorf("kubectl kustomize base wrote to stderr (a warning): %s", stderr.Bytes())
	}
	golden.Check(t, "install.yaml", append([]byte(header), stdout.Bytes()...))
}

// manifests are the objects of install.yaml, decoded strictly into their
// k8s.io/api types.
type manifests struct {
	namespaces      map[string]*corev1.Namespace
	serviceAccounts []*corev1.ServiceAccount
	configMaps      []*corev1.ConfigMap
	services        []*corev1.Service
	deployments     []*appsv1.Deployment
	statefulSets    []*appsv1.StatefulSet
	pdbs            []*policyv1.PodDisruptionBudget
	netpols         []*networkingv1.NetworkPolicy
	validating      []*admissionregistrationv1.ValidatingWebhookConfiguration
	mutating        []*admissionregistrationv1.MutatingWebhookConfiguration
	roles           []*rbacv1.Role
	clusterRoles    []*rbacv1.ClusterRole
	roleBindings    []*rbacv1.RoleBinding
	clusterBindings []*rbacv1.ClusterRoleBinding
}

// load decodes install.yaml. Every object must be of a kind listed here and
// decode without unknown fields: a typo in a field name fails, as does a
// kind nobody checks. Roles, ClusterRoles and their bindings are decoded
// for TestRBAC, which allows exactly the gateway's least-privilege rules.
func load(t *testing.T) *manifests {
	t.Helper()
	data, err := os.ReadFile("install.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, strings.Split(string(data), "\n---\n"))
}

// decode decodes rendered objects, one per document, as load does.
func decode(t *testing.T, docs []string) *manifests {
	t.Helper()
	m := &manifests{namespaces: map[string]*corev1.Namespace{}}
	for i, doc := range docs {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Namespace":
			obj = &corev1.Namespace{}
		case "v1 ServiceAccount":
			o := &corev1.ServiceAccount{}
			obj, m.serviceAccounts = o, append(m.serviceAccounts, o)
		case "v1 ConfigMap":
			o := &corev1.ConfigMap{}
			obj, m.configMaps = o, append(m.configMaps, o)
		case "v1 Service":
			o := &corev1.Service{}
			obj, m.services = o, append(m.services, o)
		case "apps/v1 Deployment":
			o := &appsv1.Deployment{}
			obj, m.deployments = o, append(m.deployments, o)
		case "apps/v1 StatefulSet":
			o := &appsv1.StatefulSet{}
			obj, m.statefulSets = o, append(m.statefulSets, o)
		case "policy/v1 PodDisruptionBudget":
			o := &policyv1.PodDisruptionBudget{}
			obj, m.pdbs = o, append(m.pdbs, o)
		case "networking.k8s.io/v1 NetworkPolicy":
			o := &networkingv1.NetworkPolicy{}
			obj, m.netpols = o, append(m.netpols, o)
		case "admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration":
			o := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			obj, m.validating = o, append(m.validating, o)
		case "admissionregistration.k8s.io/v1 MutatingWebhookConfiguration":
			o := &admissionregistrationv1.MutatingWebhookConfiguration{}
			obj, m.mutating = o, append(m.mutating, o)
		case "rbac.authorization.k8s.io/v1 Role":
			o := &rbacv1.Role{}
			obj, m.roles = o, append(m.roles, o)
		case "rbac.authorization.k8s.io/v1 ClusterRole":
			o := &rbacv1.ClusterRole{}
			obj, m.clusterRoles = o, append(m.clusterRoles, o)
		case "rbac.authorization.k8s.io/v1 RoleBinding":
			o := &rbacv1.RoleBinding{}
			obj, m.roleBindings = o, append(m.roleBindings, o)
		case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
			o := &rbacv1.ClusterRoleBinding{}
			obj, m.clusterBindings = o, append(m.clusterBindings, o)
		default:
			t.Fatalf("object %d: %s %s is not a kind this test checks; add its checks here", i, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("object %d (%s): %v", i, tm.Kind, err)
		}
		if ns, ok := obj.(*corev1.Namespace); ok {
			m.namespaces[ns.Name] = ns
		}
	}
	return m
}

// gateway returns the gateway's Deployment, its hallmarkd container and the
// configuration its ConfigMap holds.
func (m *manifests) gateway(t *testing.T) (*appsv1.Deployment, corev1.Container, config.Config, *corev1.ConfigMap) {
	t.Helper()
	var d *appsv1.Deployment
	for _, o := range m.deployments {
		if o.Namespace == gatewayNS && o.Name == gatewayApp {
			d = o
		}
	}
	if d == nil {
		t.Fatalf("no Deployment %s/%s", gatewayNS, gatewayApp)
	}
	c, ok := container(d.Spec.Template.Spec, gatewayApp)
	if !ok {
		t.Fatalf("Deployment %s has no container %s", d.Name, gatewayApp)
	}
	var cmName string
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && mountPath(c, v.Name) == "/etc/hallmark/config" {
			cmName = v.ConfigMap.Name
		}
	}
	var cm *corev1.ConfigMap
	for _, o := range m.configMaps {
		if o.Namespace == gatewayNS && o.Name == cmName {
			cm = o
		}
	}
	if cm == nil {
		t.Fatalf("the ConfigMap %q mounted at /etc/hallmark/config is not in install.yaml", cmName)
	}
	cfgPath := ""
	for i, a := range c.Args {
		if a == "--config" && i+1 < len(c.Args) {
			cfgPath = c.Args[i+1]
		}
	}
	if path.Dir(cfgPath) != "/etc/hallmark/config" {
		t.Fatalf("hallmarkd's --config is %q, not a file of the ConfigMap mounted at /etc/hallmark/config", cfgPath)
	}
	cfg, err := config.Parse([]byte(cm.Data[path.Base(cfgPath)]))
	if err != nil {
		t.Fatalf("%s in ConfigMap %s: %v", path.Base(cfgPath), cm.Name, err)
	}
	return d, c, cfg, cm
}

func container(spec corev1.PodSpec, name string) (corev1.Container, bool) {
	for _, c := range spec.Containers {
		if c.Name == name {
			return c, true
		}
	}
	return corev1.Container{}, false
}

func mountPath(c corev1.Container, volume string) string {
	for _, vm := range c.VolumeMounts {
		if vm.Name == volume {
			return vm.MountPath
		}
	}
	return ""
}

// TestGatewayPodRestricted checks every container of every workload in
// the gateway's namespace against the Pod Security Standards' restricted
// level (and the project's own admission hygiene rules), one property at a
// time.
func TestGatewayPodRestricted(t *testing.T) {
	m := load(t)
	ns := m.namespaces[gatewayNS]
	if ns == nil {
		t.Fatalf("no Namespace %s", gatewayNS)
	}
	for _, mode := range []string{"enforce", "warn", "audit"} {
		if got := ns.Labels["pod-security.kubernetes.io/"+mode]; got != "restricted" {
			t.Errorf("Namespace %s: pod-security.kubernetes.io/%s is %q, want restricted", gatewayNS, mode, got)
		}
	}
	var pods []struct {
		name string
		spec corev1.PodSpec
	}
	for _, d := range m.deployments {
		if d.Namespace == gatewayNS {
			pods = append(pods, struct {
				name string
				spec corev1.PodSpec
			}{"Deployment " + d.Name, d.Spec.Template.Spec})
		}
	}
	for _, s := range m.statefulSets {
		if s.Namespace == gatewayNS {
			pods = append(pods, struct {
				name string
				spec corev1.PodSpec
			}{"StatefulSet " + s.Name, s.Spec.Template.Spec})
		}
	}
	if len(pods) == 0 {
		t.Fatalf("no workload in %s", gatewayNS)
	}
	for _, p := range pods {
		t.Run(p.name, func(t *testing.T) {
			spec := p.spec
			if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
				t.Error("automountServiceAccountToken is not false")
			}
			if spec.HostNetwork || spec.HostPID || spec.HostIPC {
				t.Error("uses a host namespace")
			}
			psc := spec.SecurityContext
			if psc == nil {
				psc = &corev1.PodSecurityContext{}
			}
			for _, v := range spec.Volumes {
				if v.ConfigMap == nil && v.Secret == nil && v.EmptyDir == nil && v.Projected == nil {
					t.Errorf("volume %q is of a type the gateway does not need (restricted allows few; this test allows configMap, secret, emptyDir, projected)", v.Name)
				}
				if v.Projected != nil {
					for _, s := range v.Projected.Sources {
						if sat := s.ServiceAccountToken; sat != nil && sat.Audience != "sigstore" && !apiTokenVolume(spec, v) {
							t.Errorf("volume %q projects a service-account token for audience %q; the only tokens are for sigstore and, at %s, the API server's", v.Name, sat.Audience, kube.ServiceAccountDir)
						}
					}
				}
			}
			if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
				t.Error("the pod's runAsUser is 0")
			}
			all := slices.Concat(spec.InitContainers, spec.Containers)
			for _, c := range all {
				sc := c.SecurityContext
				if sc == nil {
					t.Errorf("container %s: no securityContext", c.Name)
					continue
				}
				if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
					t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
				}
				if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
				}
				if sc.Privileged != nil && *sc.Privileged {
					t.Errorf("container %s: privileged", c.Name)
				}
				if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
					t.Errorf("container %s: capabilities.drop is not [ALL]", c.Name)
				} else if len(sc.Capabilities.Add) > 0 {
					t.Errorf("container %s: adds capabilities %v", c.Name, sc.Capabilities.Add)
				}
				if !setTrue(sc.RunAsNonRoot, psc.RunAsNonRoot) {
					t.Errorf("container %s: runAsNonRoot is not true (container or pod)", c.Name)
				}
				if u := first(sc.RunAsUser, psc.RunAsUser); u == nil || *u != 65532 {
					t.Errorf("container %s: runAsUser is %v, want 65532", c.Name, deref(u))
				}
				seccomp := sc.SeccompProfile
				if seccomp == nil {
					seccomp = psc.SeccompProfile
				}
				if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
					t.Errorf("container %s: seccompProfile is not RuntimeDefault", c.Name)
				}
				checkResources(t, c)
				if !strings.Contains(c.Image, ":") && !strings.Contains(c.Image, "@") {
					t.Errorf("container %s: image %q has no tag or digest", c.Name, c.Image)
				}
			}
			// Writable paths: a read-only root needs emptyDirs for the
			// gateway's data directory and /tmp.
			for _, c := range spec.Containers {
				if mountOf(spec, c, "/tmp") == nil || mountOf(spec, c, "/tmp").EmptyDir == nil {
					t.Errorf("container %s: /tmp is not an emptyDir", c.Name)
				}
			}
		})
	}
}

func setTrue(bs ...*bool) bool {
	for _, b := range bs {
		if b != nil {
			return *b
		}
	}
	return false
}

func first(ps ...*int64) *int64 {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

func deref(p *int64) any {
	if p == nil {
		return "unset"
	}
	return *p
}

// checkResources fails unless c requests and is limited in CPU and memory.
func checkResources(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, ok := c.Resources.Requests[r]
		if !ok || req.IsZero() {
			t.Errorf("container %s: no %s request", c.Name, r)
		}
		lim, ok := c.Resources.Limits[r]
		if !ok || lim.IsZero() {
			t.Errorf("container %s: no %s limit", c.Name, r)
		} else if req.Cmp(lim) > 0 {
			t.Errorf("container %s: %s request %s is above its limit %s", c.Name, r, req.String(), lim.String())
		}
	}
}

// mountOf returns the volume mounted at dir (or at a parent of it) in c.
func mountOf(spec corev1.PodSpec, c corev1.Container, file string) *corev1.Volume {
	best := ""
	var vol *corev1.Volume
	for _, vm := range c.VolumeMounts {
		if (file == vm.MountPath || strings.HasPrefix(file, strings.TrimSuffix(vm.MountPath, "/")+"/")) && len(vm.MountPath) > len(best) {
			for i := range spec.Volumes {
				if spec.Volumes[i].Name == vm.Name {
					best, vol = vm.MountPath, &spec.Volumes[i]
				}
			}
		}
	}
	return vol
}

// apiTokenVolume reports whether v is exactly what automounting the
// service-account token would give, mounted read-only where automounting
// puts it in every container that mounts it: a token of the API server's
// audience (none given) living at most 3607s, the cluster's CA from
// kube-root-ca.crt and the pod's namespace.
func apiTokenVolume(spec corev1.PodSpec, v corev1.Volume) bool {
	p := v.Projected
	if p == nil || len(p.Sources) != 3 {
		return false
	}
	sat, cm, dw := p.Sources[0].ServiceAccountToken, p.Sources[1].ConfigMap, p.Sources[2].DownwardAPI
	if sat == nil || sat.Audience != "" || sat.Path != "token" || sat.ExpirationSeconds == nil || *sat.ExpirationSeconds > 3607 {
		return false
	}
	if cm == nil || cm.Name != "kube-root-ca.crt" || len(cm.Items) != 1 || cm.Items[0].Key != "ca.crt" || cm.Items[0].Path != "ca.crt" {
		return false
	}
	if dw == nil || len(dw.Items) != 1 || dw.Items[0].Path != "namespace" || dw.Items[0].FieldRef == nil || dw.Items[0].FieldRef.FieldPath != "metadata.namespace" {
		return false
	}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		for _, vm := range c.VolumeMounts {
			if vm.Name == v.Name && (vm.MountPath != kube.ServiceAccountDir || !vm.ReadOnly) {
				return false
			}
		}
	}
	return true
}

// TestGatewayConfigMatchesPod loads the gateway's hallmarkd.yaml from its
// ConfigMap and checks it against the pod: every file it names is mounted,
// the signing token is the projected sigstore token, the listeners are the
// container's ports, the data directory is writable, the store is shared.
func TestGatewayConfigMatchesPod(t *testing.T) {
	m := load(t)
	d, c, cfg, cm := m.gateway(t)
	spec := d.Spec.Template.Spec

	files := map[string]string{
		"tls.certFile":          cfg.TLS.CertFile,
		"tls.keyFile":           cfg.TLS.KeyFile,
		"metrics.tokenFile":     cfg.Metrics.TokenFile,
		"signing.trustedRoot":   cfg.Signing.TrustedRoot,
		"signing.signingConfig": cfg.Signing.SigningConfig,
		"signing.tokenFile":     cfg.Signing.TokenFile,
		"store.passwordFile":    cfg.Store.PasswordFile,
	}
	if g := cfg.Admission.TLS.Generate; g == nil {
		files["admission.tls.certFile"] = cfg.Admission.TLS.CertFile
		files["admission.tls.keyFile"] = cfg.Admission.TLS.KeyFile
	} else {
		// The generated certificate: the Secret is in the gateway's
		// namespace, for the webhook Service, reached with the pod's
		// API-server token.
		ns, _, _ := strings.Cut(g.Secret, "/")
		if ns != gatewayNS || g.Kubeconfig != "" {
			t.Errorf("admission.tls.generate: secret %s, kubeconfig %q; want a Secret in %s and the pod's service account", g.Secret, g.Kubeconfig, gatewayNS)
		}
		if m.servicePortTarget(gatewayNS, g.Service, nil, c) == 0 {
			t.Errorf("admission.tls.generate.service %s is not a Service reaching the gateway's webhook port", g.Service)
		}
		tokenFile := path.Join(kube.ServiceAccountDir, "token")
		if v := mountOf(spec, c, tokenFile); v == nil || !apiTokenVolume(spec, *v) {
			t.Errorf("admission.tls.generate: the API-server token %s is not the projected volume automounting would make", tokenFile)
		}
	}
	for i, r := range cfg.Registries {
		if r.PasswordFile != "" {
			files[fmt.Sprintf("registries[%d].passwordFile", i)] = r.PasswordFile
		}
	}
	for i, p := range cfg.Verify.Policies {
		files[fmt.Sprintf("verify.policies[%d]", i)] = p
	}
	for field, f := range files {
		if f == "" {
			t.Errorf("%s is not set", field)
			continue
		}
		v := mountOf(spec, c, f)
		switch {
		case v == nil:
			t.Errorf("%s: %s is on no volume of the pod", field, f)
		case v.EmptyDir != nil:
			t.Errorf("%s: %s is on an emptyDir, where nothing provides it", field, f)
		}
	}

	// The policy file comes from the same ConfigMap and loads.
	for _, p := range cfg.Verify.Policies {
		if path.Dir(p) != "/etc/hallmark/config" {
			continue
		}
		data, ok := cm.Data[path.Base(p)]
		if !ok {
			t.Errorf("verify.policies: %s is not a key of ConfigMap %s", path.Base(p), cm.Name)
			continue
		}
		if _, err := policy.Load([]byte(data)); err != nil {
			t.Errorf("policy %s: %v", path.Base(p), err)
		}
	}

	// The signing token is the projected service-account token with
	// audience sigstore, at exactly the path signing.tokenFile names.
	tok := mountOf(spec, c, cfg.Signing.TokenFile)
	found := false
	if tok != nil && tok.Projected != nil {
		for _, s := range tok.Projected.Sources {
			sat := s.ServiceAccountToken
			if sat != nil && sat.Audience == "sigstore" && path.Join(mountPath(c, tok.Name), sat.Path) == cfg.Signing.TokenFile {
				found = true
				if sat.ExpirationSeconds == nil || *sat.ExpirationSeconds > 3600 {
					t.Errorf("the sigstore token lives longer than 1h (expirationSeconds %v)", deref(sat.ExpirationSeconds))
				}
			}
		}
	}
	if !found {
		t.Errorf("signing.tokenFile %s is not a projected serviceAccountToken with audience sigstore", cfg.Signing.TokenFile)
	}

	// Writable directories on a read-only root.
	if v := mountOf(spec, c, cfg.DataDir); v == nil || v.EmptyDir == nil {
		t.Errorf("dataDir %s is not on an emptyDir", cfg.DataDir)
	}

	// Listeners: TLS everywhere off loopback, on the container's ports.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if cfg.TLS.CertFile == "" || cfg.AllowInsecure {
		t.Error("the API is served without TLS")
	}
	if got := listenPort(t, cfg.Listen); got != ports["api"] {
		t.Errorf("listen %s is not the container port api (%d)", cfg.Listen, ports["api"])
	}
	if got := listenPort(t, cfg.Admission.Listen); got != ports["webhook"] {
		t.Errorf("admission.listen %s is not the container port webhook (%d)", cfg.Admission.Listen, ports["webhook"])
	}
	if cfg.Store.Driver != config.StorePostgres && *d.Spec.Replicas > 1 {
		t.Errorf("%d replicas with store.driver %s: replicas need the shared postgres store", *d.Spec.Replicas, cfg.Store.Driver)
	}
	if ann := d.Spec.Template.Annotations; ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != fmt.Sprint(ports["api"]) || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("pod annotations do not tell Prometheus to scrape /metrics on the API port: %v", ann)
	}
	if cfg.Metrics.TokenFile == "" {
		t.Error("metrics.tokenFile is not set: /metrics on the API port would be open to every caller")
	}
}

func listenPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, ok := strings.Cut(addr, ":")
	if !ok {
		return -1
	}
	var n int32
	if _, err := fmt.Sscan(p, &n); err != nil {
		t.Errorf("listen address %q: %v", addr, err)
	}
	return n
}

// TestGatewayAvailability checks what keeps a fail-closed webhook up:
// replicas, the PodDisruptionBudget, anti-affinity, a rollout that never
// drops below the replica count, and probes on the gateway's real health
// endpoint.
func TestGatewayAvailability(t *testing.T) {
	m := load(t)
	d, c, _, _ := m.gateway(t)
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas is %v, want at least 2", d.Spec.Replicas)
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Error("the rollout may take a ready replica away (rollingUpdate.maxUnavailable is not 0)")
	}
	podLabels := d.Spec.Template.Labels
	pdb := false
	for _, p := range m.pdbs {
		if p.Namespace == gatewayNS && selects(p.Spec.Selector, podLabels) {
			pdb = true
			if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.IntValue() < 1 {
				t.Errorf("PodDisruptionBudget %s: minAvailable is not at least 1", p.Name)
			}
		}
	}
	if !pdb {
		t.Error("no PodDisruptionBudget selects the gateway's pods")
	}
	aff := d.Spec.Template.Spec.Affinity
	anti := false
	if aff != nil && aff.PodAntiAffinity != nil {
		for _, w := range aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			if w.PodAffinityTerm.TopologyKey == corev1.LabelHostname && selects(w.PodAffinityTerm.LabelSelector, podLabels) {
				anti = true
			}
		}
	}
	if !anti {
		t.Error("no preferred pod anti-affinity by kubernetes.io/hostname against the gateway's own pods")
	}
	for name, p := range map[string]*corev1.Probe{"startupProbe": c.StartupProbe, "readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
		switch {
		case p == nil:
			t.Errorf("%s is not set", name)
		case p.HTTPGet == nil:
			t.Errorf("%s is not an HTTP GET", name)
		case p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "webhook" || p.HTTPGet.Scheme != corev1.URISchemeHTTPS:
			t.Errorf("%s is GET %s %s on port %s, not GET https /healthz on the webhook port (hallmarkd's health endpoint)", name, p.HTTPGet.Scheme, p.HTTPGet.Path, p.HTTPGet.Port.String())
		}
	}
}

func selects(sel *metav1.LabelSelector, labels map[string]string) bool {
	if sel == nil || len(sel.MatchLabels) == 0 {
		return false
	}
	for k, v := range sel.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// webhook is the part of a validating or mutating webhook this test checks.
type webhook struct {
	kind, name, path string
	failurePolicy    *admissionregistrationv1.FailurePolicyType
	sideEffects      *admissionregistrationv1.SideEffectClass
	timeout          *int32
	versions         []string
	selector         *metav1.LabelSelector
	client           admissionregistrationv1.WebhookClientConfig
}

// TestWebhooks checks both webhook configurations: they exist, fail
// closed, time out within 10s and above the gateway's own admission
// timeout, are opt-in by namespace label and exclude kube-system and
// Hallmark's namespaces, and call the gateway's webhook Service on the
// paths it serves.
func TestWebhooks(t *testing.T) {
	m := load(t)
	_, c, cfg, _ := m.gateway(t)
	var hooks []webhook
	for _, v := range m.validating {
		for _, w := range v.Webhooks {
			hooks = append(hooks, webhook{"ValidatingWebhookConfiguration", w.Name, "/admission/validate", w.FailurePolicy, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.NamespaceSelector, w.ClientConfig})
		}
	}
	for _, v := range m.mutating {
		for _, w := range v.Webhooks {
			hooks = append(hooks, webhook{"MutatingWebhookConfiguration", w.Name, "/admission/mutate", w.FailurePolicy, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.NamespaceSelector, w.ClientConfig})
		}
	}
	if len(m.validating) != 1 || len(m.mutating) != 1 {
		t.Errorf("%d validating and %d mutating webhook configurations, want one each (hallmarkd serves both)", len(m.validating), len(m.mutating))
	}
	// The caBundle: with admission.tls.generate the gateway patches it
	// into every webhook of the configurations it names, so those are
	// exactly the configurations here, and none sets a caBundle by hand.
	if g := cfg.Admission.TLS.Generate; g != nil {
		var validating, mutating []string
		for _, v := range m.validating {
			validating = append(validating, v.Name)
			for _, w := range v.Webhooks {
				if len(w.ClientConfig.CABundle) > 0 {
					t.Errorf("ValidatingWebhookConfiguration %s: webhook %s sets a caBundle by hand", v.Name, w.Name)
				}
			}
		}
		for _, v := range m.mutating {
			mutating = append(mutating, v.Name)
			for _, w := range v.Webhooks {
				if len(w.ClientConfig.CABundle) > 0 {
					t.Errorf("MutatingWebhookConfiguration %s: webhook %s sets a caBundle by hand", v.Name, w.Name)
				}
			}
		}
		if !slices.Equal(validating, g.ValidatingWebhookConfigurations) || !slices.Equal(mutating, g.MutatingWebhookConfigurations) {
			t.Errorf("admission.tls.generate patches validating %v and mutating %v, install.yaml has %v and %v", g.ValidatingWebhookConfigurations, g.MutatingWebhookConfigurations, validating, mutating)
		}
	}
	webhookPort := int32(0)
	for _, p := range c.Ports {
		if p.Name == "webhook" {
			webhookPort = p.ContainerPort
		}
	}
	for _, h := range hooks {
		t.Run(h.kind+"/"+h.name, func(t *testing.T) {
			if h.failurePolicy == nil || *h.failurePolicy != admissionregistrationv1.Fail {
				t.Error("failurePolicy is not Fail")
			}
			if h.sideEffects == nil || *h.sideEffects != admissionregistrationv1.SideEffectClassNone {
				t.Error("sideEffects is not None")
			}
			if h.timeout == nil || *h.timeout > 10 {
				t.Errorf("timeoutSeconds is %v, want at most 10", h.timeout)
			} else if time.Duration(*h.timeout)*time.Second <= time.Duration(cfg.Admission.Timeout) {
				t.Errorf("timeoutSeconds %d is not above admission.timeout %s: the API server would give up first", *h.timeout, time.Duration(cfg.Admission.Timeout))
			}
			if !slices.Equal(h.versions, []string{"v1"}) {
				t.Errorf("admissionReviewVersions is %v, want [v1]", h.versions)
			}
			sel := h.selector
			if sel == nil || sel.MatchLabels[verifyKey] != "enabled" {
				t.Errorf("namespaceSelector does not require %s=enabled (opt-in)", verifyKey)
			}
			excluded := map[string]bool{}
			if sel != nil {
				for _, e := range sel.MatchExpressions {
					if e.Key == corev1.LabelMetadataName && e.Operator == metav1.LabelSelectorOpNotIn {
						for _, v := range e.Values {
							excluded[v] = true
						}
					}
				}
			}
			for _, ns := range []string{"kube-system", gatewayNS, buildkitNS} {
				if !excluded[ns] {
					t.Errorf("namespaceSelector does not exclude %s", ns)
				}
			}
			svc := h.client.Service
			if svc == nil || h.client.URL != nil {
				t.Fatal("clientConfig is not a Service reference")
			}
			if svc.Path == nil || *svc.Path != h.path {
				t.Errorf("clientConfig.service.path is %v, want %s", svc.Path, h.path)
			}
			if got := m.servicePortTarget(svc.Namespace, svc.Name, svc.Port, c); got != webhookPort {
				t.Errorf("Service %s/%s port %v does not reach the gateway's webhook port %d", svc.Namespace, svc.Name, svc.Port, webhookPort)
			}
		})
	}
}

// servicePortTarget returns the container port that port of the Service
// namespace/name reaches in c, or 0.
func (m *manifests) servicePortTarget(namespace, name string, port *int32, c corev1.Container) int32 {
	want := int32(443)
	if port != nil {
		want = *port
	}
	for _, s := range m.services {
		if s.Namespace != namespace || s.Name != name {
			continue
		}
		for _, p := range s.Spec.Ports {
			if p.Port != want {
				continue
			}
			for _, cp := range c.Ports {
				if (p.TargetPort.String() == cp.Name) || p.TargetPort.IntValue() == int(cp.ContainerPort) {
					return cp.ContainerPort
				}
			}
		}
	}
	return 0
}

// TestNetworkPolicies checks that each namespace denies all traffic by
// default and that only the gateway reaches the BuildKit workers.
func TestNetworkPolicies(t *testing.T) {
	m := load(t)
	for _, ns := range []string{gatewayNS, buildkitNS} {
		deny := false
		for _, p := range m.netpols {
			if p.Namespace == ns && len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 &&
				slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) &&
				len(p.Spec.Ingress) == 0 && len(p.Spec.Egress) == 0 {
				deny = true
			}
		}
		if !deny {
			t.Errorf("%s has no default-deny NetworkPolicy (all pods, Ingress and Egress, no rules)", ns)
		}
	}
	// Egress of the gateway: DNS, BuildKit, PostgreSQL, HTTPS, and no
	// rule that allows every port.
	egress := map[int]bool{}
	for _, p := range m.netpols {
		if p.Namespace != gatewayNS || p.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] != gatewayApp {
			continue
		}
		for _, r := range p.Spec.Egress {
			if len(r.Ports) == 0 {
				t.Errorf("NetworkPolicy %s allows egress on every port", p.Name)
			}
			for _, port := range r.Ports {
				egress[port.Port.IntValue()] = true
			}
		}
		for _, r := range p.Spec.Ingress {
			if len(r.Ports) == 0 {
				t.Errorf("NetworkPolicy %s allows ingress on every port", p.Name)
			}
		}
	}
	for _, port := range []int{53, 1234, 5432, 443} {
		if !egress[port] {
			t.Errorf("the gateway may not reach port %d (DNS, BuildKit, PostgreSQL, HTTPS)", port)
		}
	}
	// Ingress of the workers: from the gateway's pods only.
	for _, p := range m.netpols {
		if p.Namespace != buildkitNS {
			continue
		}
		for _, r := range p.Spec.Ingress {
			if len(r.From) == 0 {
				t.Errorf("NetworkPolicy %s lets anyone reach the BuildKit workers", p.Name)
			}
			for _, f := range r.From {
				if f.NamespaceSelector == nil || f.NamespaceSelector.MatchLabels[corev1.LabelMetadataName] != gatewayNS ||
					f.PodSelector == nil || f.PodSelector.MatchLabels["app.kubernetes.io/name"] != gatewayApp {
					t.Errorf("NetworkPolicy %s lets something other than the gateway's pods reach the workers", p.Name)
				}
			}
		}
	}
}

// TestServiceAccounts checks that every workload runs as its own
// ServiceAccount and none has its API token automounted (the gateway
// projects its own, checked by apiTokenVolume; TestRBAC checks what it
// may do with it).
func TestServiceAccounts(t *testing.T) {
	m := load(t)
	sas := map[string]bool{}
	for _, sa := range m.serviceAccounts {
		sas[sa.Namespace+"/"+sa.Name] = true
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			t.Errorf("ServiceAccount %s/%s: automountServiceAccountToken is not false", sa.Namespace, sa.Name)
		}
	}
	used := map[string]string{}
	check := func(kind, ns, name string, spec corev1.PodSpec) {
		sa := ns + "/" + spec.ServiceAccountName
		if spec.ServiceAccountName == "" || spec.ServiceAccountName == "default" || !sas[sa] {
			t.Errorf("%s %s/%s runs as ServiceAccount %q, not one of install.yaml's own", kind, ns, name, spec.ServiceAccountName)
		}
		if other, ok := used[sa]; ok {
			t.Errorf("%s %s/%s shares ServiceAccount %s with %s", kind, ns, name, sa, other)
		}
		used[sa] = kind + " " + name
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s %s/%s: automountServiceAccountToken is not false", kind, ns, name)
		}
	}
	for _, d := range m.deployments {
		check("Deployment", d.Namespace, d.Name, d.Spec.Template.Spec)
	}
	for _, s := range m.statefulSets {
		check("StatefulSet", s.Namespace, s.Name, s.Spec.Template.Spec)
	}
}

// TestBuildKitWorkers checks the workers: rootless at the BuildKit
// version tools/buildkit pins, never privileged, reachable by a headless
// Service, with resources and probes.
func TestBuildKitWorkers(t *testing.T) {
	m := load(t)
	if ns := m.namespaces[buildkitNS]; ns == nil || ns.Labels["pod-security.kubernetes.io/enforce"] == "" {
		t.Errorf("Namespace %s is missing or enforces no Pod Security level", buildkitNS)
	}
	data, err := os.ReadFile("../tools/buildkit/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	version := ""
	for _, r := range mf.Require {
		if r.Mod.Path == "github.com/moby/buildkit" {
			version = r.Mod.Version
		}
	}
	if len(m.statefulSets) == 0 {
		t.Fatal("no StatefulSet of BuildKit workers")
	}
	for _, s := range m.statefulSets {
		if s.Namespace != buildkitNS {
			continue
		}
		spec := s.Spec.Template.Spec
		c, ok := container(spec, "buildkitd")
		if !ok {
			t.Fatalf("StatefulSet %s has no container buildkitd", s.Name)
		}
		if want := "moby/buildkit:" + version + "-rootless"; c.Image != want {
			t.Errorf("image is %q, want %q (tools/buildkit/go.mod pins %s)", c.Image, want, version)
		}
		if !slices.Contains(c.Args, "--oci-worker-no-process-sandbox") {
			t.Error("rootless BuildKit in a pod needs --oci-worker-no-process-sandbox")
		}
		sc := c.SecurityContext
		if sc == nil || !setTrue(sc.RunAsNonRoot) || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			t.Error("buildkitd does not run as a non-root user")
		}
		if sc != nil && sc.Privileged != nil && *sc.Privileged {
			t.Error("buildkitd is privileged (rootless needs no privileged flag)")
		}
		if sc != nil && sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
			t.Errorf("buildkitd adds capabilities %v", sc.Capabilities.Add)
		}
		if spec.HostNetwork || spec.HostPID || spec.HostIPC {
			t.Error("buildkitd uses a host namespace")
		}
		checkResources(t, c)
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Error("buildkitd has no readiness or liveness probe")
		}
		headless := false
		for _, svc := range m.services {
			if svc.Namespace == s.Namespace && svc.Name == s.Spec.ServiceName && svc.Spec.ClusterIP == corev1.ClusterIPNone {
				headless = true
			}
		}
		if !headless {
			t.Errorf("no headless Service %s for the StatefulSet's stable names", s.Spec.ServiceName)
		}
	}
	// The gateway finds every replica of this StatefulSet by the SRV
	// records of its headless Service's port, and lists no other worker.
	_, _, cfg, _ := m.gateway(t)
	s := m.statefulSets[0]
	if s.Spec.Replicas == nil || *s.Spec.Replicas < 2 {
		t.Errorf("StatefulSet %s has %v replicas, want a pool of at least 2", s.Name, s.Spec.Replicas)
	}
	var port string
	for _, svc := range m.services {
		if svc.Namespace == s.Namespace && svc.Name == s.Spec.ServiceName && len(svc.Spec.Ports) == 1 {
			port = svc.Spec.Ports[0].Name
		}
	}
	want := fmt.Sprintf("_%s._tcp.%s.%s.svc.cluster.local", port, s.Spec.ServiceName, s.Namespace)
	if host, p, err := cfg.BuildKit.DiscoverHostPort(); err != nil || host != want || p != "" || len(cfg.BuildKit.WorkerAddresses()) != 0 {
		t.Errorf("buildkit.discover is %q (workers %q), want the SRV records %s of the StatefulSet's headless Service", cfg.BuildKit.Discover, cfg.BuildKit.WorkerAddresses(), want)
	}
}
