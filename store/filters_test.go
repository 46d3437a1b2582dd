package store

import (
	"errors"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestParsePackageFilter(t *testing.T) {
	tests := []struct {
		in      string
		want    Package
		wantErr bool
	}{
		{in: "openssl", want: Package{Name: "openssl"}},
		{in: "openssl@3.0.11", want: Package{Name: "openssl", Version: "3.0.11"}},
		{in: "@types/node@20.1.0", want: Package{Name: "@types/node", Version: "20.1.0"}},
		{in: "@types/node", want: Package{Name: "@types/node"}},
		{in: "pkg:deb/debian/openssl@3.0.11?arch=amd64&upstream=openssl", want: Package{Type: "deb", Namespace: "debian", Name: "openssl", Version: "3.0.11"}},
		{in: "openssl@", wantErr: true},
		{in: "pkg:", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParsePackageFilter(tt.in)
		if tt.wantErr {
			if !errors.Is(err, hallmark.ErrInvalid) {
				t.Errorf("ParsePackageFilter(%q) = %+v, %v; want ErrInvalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParsePackageFilter(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseBaseFilter(t *testing.T) {
	d := hallmark.SHA256([]byte("base"))
	tests := []struct {
		in      string
		digest  hallmark.Digest
		ref     string
		wantErr bool
	}{
		{in: string(d), digest: d},
		{in: "reg.example/base@" + string(d), digest: d},
		{in: "reg.example/base:12", ref: "reg.example/base:12"},
		{in: "alpine:3.20", ref: "index.docker.io/library/alpine:3.20"},
		{in: "not a reference", wantErr: true},
	}
	for _, tt := range tests {
		digest, ref, err := ParseBaseFilter(tt.in)
		if tt.wantErr {
			if !errors.Is(err, hallmark.ErrInvalid) {
				t.Errorf("ParseBaseFilter(%q) = %q, %q, %v; want ErrInvalid", tt.in, digest, ref, err)
			}
			continue
		}
		if err != nil || digest != tt.digest || ref != tt.ref {
			t.Errorf("ParseBaseFilter(%q) = %q, %q, %v; want %q, %q", tt.in, digest, ref, err, tt.digest, tt.ref)
		}
	}
}
