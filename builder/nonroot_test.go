package builder

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

func TestIsRoot(t *testing.T) {
	tests := map[string]bool{
		"": true, "root": true, "0": true, "0:0": true, "root:root": true, "00": true, " 0 ": true,
		"65532": false, "65532:65532": false, "nonroot": false, "nonroot:root": false, "1000:0": false, "10": false,
	}
	for user, want := range tests {
		if got := isRoot(user); got != want {
			t.Errorf("isRoot(%q) = %v, want %v", user, got, want)
		}
	}
}

func TestCheckNonRoot(t *testing.T) {
	reg := registrytest.New(t)
	host := reg.Host
	store, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	push := func(t *testing.T, user string) hallmark.Digest {
		t.Helper()
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.Config(img, v1.Config{User: user})
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := reg.Push(t, "app", "", img)
		return hallmark.Digest(ref.DigestStr())
	}
	info := &DockerfileInfo{Target: 0, Stages: []Stage{{Name: "final", Line: 3}}}
	for _, tt := range []struct {
		user      string
		allowRoot bool // the gateway allows root
		ruleAllow bool // the caller's authorization rule does
		wantErr   bool
	}{
		{"", false, false, true}, {"0:0", false, false, true}, {"65532:65532", false, false, false},
		{"", true, false, false}, {"0", false, true, false},
	} {
		t.Run(fmt.Sprintf("%q/%v/%v", tt.user, tt.allowRoot, tt.ruleAllow), func(t *testing.T) {
			opts := []Option{WithRegistry(registrytest.Client(t))}
			if tt.allowRoot {
				opts = append(opts, WithRootAllowed())
			}
			b, err := New([]string{"unix:///nonexistent.sock"}, store, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			err = b.checkNonRoot(t.Context(), b.pushed(host+"/app", push(t, tt.user)), info, tt.ruleAllow)
			if (err != nil) != tt.wantErr {
				t.Fatalf("checkNonRoot(User %q, allowRoot %v) = %v, want error %v", tt.user, tt.allowRoot, err, tt.wantErr)
			}
			if err != nil && (!errors.Is(err, hallmark.ErrInvalid) || !strings.Contains(err.Error(), `stage "final" (FROM at line 3)`)) {
				t.Errorf("error %q does not name the stage or is not ErrInvalid", err)
			}
		})
	}
}
