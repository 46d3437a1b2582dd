package webhookcert

import (
	"crypto/ecdsa"
	"crypto/x509"
	"slices"
	"testing"
	"time"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func mkCA(t *testing.T, at time.Time, life time.Duration) testCA {
	t.Helper()
	c, k, err := newCA(at, life)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{c, k}
}

func mkBundle(t *testing.T, cas []testCA, signer int, leafAt time.Time, leafLife time.Duration, names []string) *bundle {
	t.Helper()
	leaf, key, err := newServing(leafAt, leafLife, names, cas[signer].cert, cas[signer].key)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{caKey: cas[0].key, leaf: leaf, leafKey: key}
	for _, c := range cas {
		b.cas = append(b.cas, c.cert)
	}
	return b
}

// TestDecide is the renew decision table: a CA of 300h, serving
// certificates of 90h, a propagation delay of 2h.
func TestDecide(t *testing.T) {
	lt := lifetimes{ca: 300 * time.Hour, serving: 90 * time.Hour, propagation: 2 * time.Hour}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Hour))) }
	old := mkCA(t, t0, 300*time.Hour)
	renewed := mkCA(t, h(200), 300*time.Hour) // issued when old was due
	expiredOld := mkCA(t, t0, 210*time.Hour)  // expires 10h after renewed was issued

	fresh := mkBundle(t, []testCA{old}, 0, t0, 90*time.Hour, testNames)
	late := mkBundle(t, []testCA{old}, 0, h(190), 90*time.Hour, testNames)
	// After step 1: renewed is newest, the serving certificate is old's.
	step1 := mkBundle(t, []testCA{renewed, old}, 1, h(190), 90*time.Hour, testNames)
	// old's certificate, issued at 140h, due at 200h, expiring at 230h.
	dueFromOld := mkBundle(t, []testCA{renewed, old}, 1, h(140), 90*time.Hour, testNames)
	// old's certificate expiring at 201.5h, before renewed settles.
	expiringFromOld := mkBundle(t, []testCA{renewed, old}, 1, h(111.5), 90*time.Hour, testNames)
	// After step 2: renewed signs the serving certificate issued at 202h.
	step2 := mkBundle(t, []testCA{renewed, old}, 0, h(202), 90*time.Hour, testNames)
	withExpired := mkBundle(t, []testCA{renewed, expiredOld}, 0, h(209.5), 90*time.Hour, testNames)
	otherNames := mkBundle(t, []testCA{old}, 0, t0, 90*time.Hour, []string{"other.hallmark-system.svc"})

	for _, tt := range []struct {
		name string
		b    *bundle
		now  time.Time
		want plan
	}{
		{"no secret", nil, t0, plan{fresh: true}},
		{"fresh", fresh, h(1), plan{}},
		{"serving just before a third of its lifetime is left", fresh, h(59.9), plan{}},
		{"serving within a third of its lifetime", fresh, h(60), plan{newServing: true}},
		{"serving expired", fresh, h(91), plan{newServing: true}},
		{"serving for other names", otherNames, h(1), plan{newServing: true}},
		{"CA just before a third of its lifetime is left", late, h(199.9), plan{}},
		{"CA within a third of its lifetime: a new CA joins, the serving certificate stays", late, h(200), plan{newCA: true}},
		{"CA expired: all new", late, h(300), plan{fresh: true}},
		{"new CA not yet propagated: nothing", step1, h(201.9), plan{}},
		{"new CA propagated: the serving certificate moves to it", step1, h(202), plan{newServing: true}},
		{"serving due but the new CA not propagated: wait", dueFromOld, h(201), plan{}},
		{"serving expires before the new CA propagates: renew now", expiringFromOld, h(201), plan{newServing: true}},
		{"new serving certificate not yet propagated: both CAs stay", step2, h(203.9), plan{}},
		{"new serving certificate propagated: the old CA leaves", step2, h(204), plan{drop: []int{1}}},
		{"an expired old CA leaves at once", withExpired, h(210), plan{drop: []int{1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(tt.now, tt.b, lt, testNames)
			if got.fresh != tt.want.fresh || got.newCA != tt.want.newCA || got.newServing != tt.want.newServing || !slices.Equal(got.drop, tt.want.drop) {
				t.Errorf("decide = %+v, want %+v", got, tt.want)
			}
			if got.changes() && got.why == "" {
				t.Error("a change without a reason for the log")
			}
			if !got.changes() {
				return
			}
			// apply does what was decided, and the result needs nothing more.
			next, err := apply(tt.now, tt.b, got, lt, testNames)
			if err != nil {
				t.Fatal(err)
			}
			if again := decide(tt.now, next, lt, testNames); again.fresh || again.newCA || again.newServing {
				t.Errorf("after apply, decide = %+v, want nothing new", again)
			}
			if next.issuerOf(next.leaf) < 0 || !next.caKey.PublicKey.Equal(next.cas[0].PublicKey) {
				t.Error("after apply the serving certificate is of no CA of the bundle, or ca.key is not the newest CA's")
			}
			wantCAs := 1
			if tt.b != nil && !got.fresh {
				wantCAs = len(tt.b.cas) - len(got.drop)
				if got.newCA {
					wantCAs++
				}
			}
			if len(next.cas) != wantCAs {
				t.Errorf("after apply %d CAs, want %d", len(next.cas), wantCAs)
			}
			if got.newServing && tt.b != nil && next.issuerOf(next.leaf) != 0 {
				t.Error("a new serving certificate not signed by the newest CA")
			}
		})
	}
}
