package devstack

import (
	"errors"
	"os"
	"reflect"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadState(dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("LoadState of an empty dir = %v, want ErrNotRunning", err)
	}
	want := State{PID: os.Getpid(), Gateway: "http://127.0.0.1:1", Registry: "127.0.0.1:2", BaseImage: "r/b@sha256:00",
		BuildKit: "unix:///a.sock", Workers: []string{"unix:///a.sock", "unix:///b.sock"}}
	if err := writeState(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadState = %+v, want %+v", got, want)
	}
	if n := got.WorkerCount(); n != 2 {
		t.Errorf("WorkerCount = %d, want 2", n)
	}
	// A state whose supervisor is gone is stale.
	want.PID = 1 << 30
	if err := writeState(dir, want); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadState(dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("LoadState with a dead pid = %v, want ErrNotRunning", err)
	}
}

func TestEnvHasTheDocumentedKeys(t *testing.T) {
	keys := map[string]bool{}
	for _, kv := range (State{}).Env() {
		keys[kv[0]] = true
	}
	for _, k := range []string{"HALLMARK_GATEWAY", "HALLMARK_REGISTRY", "HALLMARK_BASE_IMAGE"} {
		if !keys[k] {
			t.Errorf("Env lacks %s", k)
		}
	}
}

func TestDefaultDirHonoursEnv(t *testing.T) {
	t.Setenv("HALLMARK_DEV_DIR", "/x/y")
	if d, _ := DefaultDir(); d != "/x/y" {
		t.Fatalf("DefaultDir = %q", d)
	}
}

func TestEnvNamesTheWebView(t *testing.T) {
	for _, tt := range []struct {
		ui   string
		want bool
	}{{"", false}, {"http://127.0.0.1:7433/ui/", true}} {
		found := false
		for _, kv := range (State{UI: tt.ui}).Env() {
			if kv[0] == "HALLMARK_UI" {
				found = kv[1] == tt.ui
			}
		}
		if found != tt.want {
			t.Errorf("UI %q: HALLMARK_UI set %v, want %v", tt.ui, found, tt.want)
		}
	}
}
