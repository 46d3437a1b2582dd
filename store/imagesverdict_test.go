package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestImagesByVerdict(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		fixture(t, db)
		decide := func(repo string, d hallmark.Digest, policy string, allowed bool, at time.Duration) Decision {
			return Decision{Kind: KindVerify, At: t0.Add(at), Caller: "https://ci.example release", Ref: repo + "@" + string(d),
				Repository: repo, Digest: d, Policy: policy, Allowed: allowed}
		}
		err := db.RecordDecisions(t.Context(), []Decision{
			decide("reg.example/team-a/app", digest("a"), "prod", true, time.Hour),
			decide("reg.example/team-a/app", digest("a"), "prod", false, 2*time.Hour), // newest: denied
			decide("reg.example/team-a/worker", digest("b"), "prod", false, time.Hour),
			decide("reg.example/team-a/worker", digest("b"), "strict", true, 2*time.Hour), // newest: allowed
			{Kind: KindAdmission, At: t0.Add(3 * time.Hour), Caller: "k8s", Namespace: "n", Object: "Pod/p", Ref: "reg.example/team-c/svc:v3",
				Repository: "reg.example/team-c/svc", Digest: digest("c"), Policy: "prod", Allowed: false}, // admission: not a verdict
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			verdict string
			want    []string
		}{
			{OutcomeDenied, []string{"reg.example/team-a/app"}},
			{OutcomeAllowed, []string{"reg.example/team-a/worker"}},
		} {
			got, _, err := db.Images(t.Context(), ImageQuery{Readable: all, Verdict: tt.verdict})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(repos(got), tt.want) {
				t.Errorf("verdict %s: %q, want %q", tt.verdict, repos(got), tt.want)
			}
		}
		if _, _, err := db.Images(t.Context(), ImageQuery{Readable: all, Verdict: "maybe"}); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("verdict maybe: %v, want ErrInvalid", err)
		}
	})
}
