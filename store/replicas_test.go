package store

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/pgtest"
)

// TestReplicas opens one PostgreSQL database from four "gateways" at once
// (migrations race) and has them record builds and decisions concurrently:
// each sees the others' records and the audit chains stay intact.
func TestReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	const replicas, builds = 4, 10
	dbs := make([]*DB, replicas)
	var wg sync.WaitGroup
	errs := make(chan error, replicas*builds*2)
	for i := range dbs {
		wg.Go(func() {
			db, err := Open(t.Context(), DriverPostgres, dsn)
			if err != nil {
				errs <- err
				return
			}
			dbs[i] = db
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, db := range dbs {
		t.Cleanup(func() { db.Close() })
	}
	errs = make(chan error, replicas*builds*2)
	for i, db := range dbs {
		for j := range builds {
			wg.Go(func() {
				b := build(fmt.Sprintf("r%d-%d", i, j), fmt.Sprintf("reg.example/team-%d/app", i), "latest", digest(fmt.Sprintf("%x", i*builds+j+1)), j)
				b.Packages = pkgs(t, "pkg:deb/debian/openssl@3.0.11", fmt.Sprintf("pkg:pypi/lib-%d@1.0", j))
				if err := db.RecordBuild(t.Context(), b); err != nil {
					errs <- err
				}
				if err := db.RecordDecisions(t.Context(), []Decision{{Kind: KindVerify, At: time.Now(), Repository: b.Repository, Digest: b.Digest, Allowed: true}}); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, _, err := dbs[0].Images(t.Context(), ImageQuery{Readable: all, Package: &Package{Name: "openssl"}, Page: Page{Limit: MaxLimit}})
	if err != nil || len(got) != replicas*builds {
		t.Errorf("one replica sees %d images with openssl, want %d (%v)", len(got), replicas*builds, err)
	}
	check, err := dbs[1].VerifyAudit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(check.Problems) != 0 || check.Chains[chainEvents].Length != 2*replicas*builds || check.Chains[chainDecisions].Length != replicas*builds {
		t.Errorf("audit after concurrent writes: %+v", check)
	}
}
