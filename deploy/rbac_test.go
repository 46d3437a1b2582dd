package deploy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/hallmark-dev/hallmark/internal/config"
)

// grant is one atom of an RBAC rule: a verb on a resource of an API group,
// limited to one object name or, with name "", to none.
type grant struct{ group, resource, verb, name string }

func (g grant) String() string {
	n := g.name
	if n == "" {
		n = "(any name)"
	}
	return fmt.Sprintf("%s %s/%s %s", g.verb, g.group, g.resource, n)
}

// grants expands rules into their atoms; a rule with nonResourceURLs, or
// no group, resource or verb, gives an atom that matches nothing wanted.
func grants(rules []rbacv1.PolicyRule) map[grant]bool {
	out := map[grant]bool{}
	for _, r := range rules {
		if len(r.NonResourceURLs) > 0 || len(r.APIGroups) == 0 || len(r.Resources) == 0 || len(r.Verbs) == 0 {
			out[grant{verb: fmt.Sprintf("unusable rule %+v", r)}] = true
		}
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					for _, n := range names {
						out[grant{g, res, v, n}] = true
					}
				}
			}
		}
	}
	return out
}

// wantGrants is the gateway's least privilege for admission.tls.generate:
// get and update on its one Secret by name, create on Secrets (create
// cannot be limited by name) in its namespace; get and patch on the named
// webhook configurations. Nothing without generate.
func wantGrants(cfg config.Config) (namespaced, cluster map[grant]bool) {
	namespaced, cluster = map[grant]bool{}, map[grant]bool{}
	g := cfg.Admission.TLS.Generate
	if g == nil {
		return namespaced, cluster
	}
	_, secret, _ := strings.Cut(g.Secret, "/")
	for _, v := range []string{"get", "update"} {
		namespaced[grant{"", "secrets", v, secret}] = true
	}
	namespaced[grant{"", "secrets", "create", ""}] = true
	for _, l := range []struct {
		resource string
		names    []string
	}{{"validatingwebhookconfigurations", g.ValidatingWebhookConfigurations}, {"mutatingwebhookconfigurations", g.MutatingWebhookConfigurations}} {
		for _, n := range l.names {
			for _, v := range []string{"get", "patch"} {
				cluster[grant{"admissionregistration.k8s.io", l.resource, v, n}] = true
			}
		}
	}
	return namespaced, cluster
}

// compareGrants reports every atom granted but not wanted, and wanted but
// not granted.
func compareGrants(t *testing.T, what string, got, want map[grant]bool) {
	t.Helper()
	for _, g := range slices.SortedFunc(maps.Keys(got), cmpGrant) {
		if !want[g] {
			t.Errorf("%s grants %s, beyond the gateway's least privilege", what, g)
		}
	}
	for _, g := range slices.SortedFunc(maps.Keys(want), cmpGrant) {
		if !got[g] {
			t.Errorf("%s does not grant %s, which the gateway needs", what, g)
		}
	}
}

func cmpGrant(a, b grant) int { return strings.Compare(a.String(), b.String()) }

// TestRBAC allows Roles and ClusterRoles with exactly the gateway's rules,
// bound to exactly its ServiceAccount: the Role in its namespace with get
// and update on the webhook certificate's Secret by name and create on
// Secrets; the ClusterRole with get and patch on the named webhook
// configurations. Any broader rule, another role, a wildcard, an
// aggregation or another subject fails.
func TestRBAC(t *testing.T) {
	m := load(t)
	_, _, cfg, _ := m.gateway(t)
	wantNS, wantCluster := wantGrants(cfg)
	if cfg.Admission.TLS.Generate == nil {
		t.Error("admission.tls.generate is not set in the base (the RBAC below is for it)")
	}

	gotNS := map[grant]bool{}
	roles := map[string]bool{}
	for _, r := range m.roles {
		if r.Namespace != gatewayNS {
			t.Errorf("Role %s/%s: outside %s", r.Namespace, r.Name, gatewayNS)
		}
		roles["Role "+r.Namespace+"/"+r.Name] = true
		maps.Copy(gotNS, grants(r.Rules))
	}
	compareGrants(t, "the Roles", gotNS, wantNS)

	gotCluster := map[grant]bool{}
	for _, r := range m.clusterRoles {
		if r.AggregationRule != nil {
			t.Errorf("ClusterRole %s aggregates other roles", r.Name)
		}
		roles["ClusterRole "+r.Name] = true
		maps.Copy(gotCluster, grants(r.Rules))
	}
	compareGrants(t, "the ClusterRoles", gotCluster, wantCluster)

	// Bindings: each names one of these roles (a RoleBinding its
	// namespace's Role) and only the gateway's ServiceAccount; every role
	// is bound.
	bound := map[string]bool{}
	checkSubjects := func(binding string, subjects []rbacv1.Subject) {
		if len(subjects) != 1 || subjects[0].Kind != rbacv1.ServiceAccountKind || subjects[0].Namespace != gatewayNS || subjects[0].Name != gatewayApp {
			t.Errorf("%s binds %+v, want only ServiceAccount %s/%s", binding, subjects, gatewayNS, gatewayApp)
		}
	}
	for _, b := range m.roleBindings {
		ref := b.RoleRef.Kind + " " + b.Namespace + "/" + b.RoleRef.Name
		if b.RoleRef.Kind != "Role" || b.RoleRef.APIGroup != rbacv1.GroupName || !roles[ref] {
			t.Errorf("RoleBinding %s/%s binds %s, not a Role of install.yaml in its namespace", b.Namespace, b.Name, ref)
		}
		bound[ref] = true
		checkSubjects("RoleBinding "+b.Namespace+"/"+b.Name, b.Subjects)
	}
	for _, b := range m.clusterBindings {
		ref := b.RoleRef.Kind + " " + b.RoleRef.Name
		if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.APIGroup != rbacv1.GroupName || !roles[ref] {
			t.Errorf("ClusterRoleBinding %s binds %s, not a ClusterRole of install.yaml", b.Name, ref)
		}
		bound[ref] = true
		checkSubjects("ClusterRoleBinding "+b.Name, b.Subjects)
	}
	for r := range roles {
		if !bound[r] {
			t.Errorf("%s is bound to nobody", r)
		}
	}
}

// TestGrantsCatchBroaderRules is the control of TestRBAC: the broader
// rules an edit might bring in are seen as grants beyond the wanted ones.
func TestGrantsCatchBroaderRules(t *testing.T) {
	cfg := config.Config{}
	cfg.Admission.TLS.Generate = &config.GenerateTLSConfig{Secret: "hallmark-system/certs", ValidatingWebhookConfigurations: []string{"hallmark"}}
	wantNS, wantCluster := wantGrants(cfg)
	for _, tt := range []struct {
		name    string
		rule    rbacv1.PolicyRule
		cluster bool
	}{
		{"get on every Secret", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}, false},
		{"list on the Secret", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"certs"}, Verbs: []string{"list"}}, false},
		{"a wildcard verb", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"certs"}, Verbs: []string{"*"}}, false},
		{"patch on every webhook configuration", rbacv1.PolicyRule{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingwebhookconfigurations"}, Verbs: []string{"patch"}}, true},
		{"another configuration", rbacv1.PolicyRule{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations"}, ResourceNames: []string{"other"}, Verbs: []string{"get"}}, true},
		{"a non-resource URL", rbacv1.PolicyRule{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := wantNS
			if tt.cluster {
				want = wantCluster
			}
			extra := 0
			for g := range grants([]rbacv1.PolicyRule{tt.rule}) {
				if !want[g] {
					extra++
				}
			}
			if extra == 0 {
				t.Errorf("%+v is not seen as broader than %v", tt.rule, want)
			}
		})
	}
}
