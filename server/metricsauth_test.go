package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRequireBearer(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("metrics")) })
	tests := []struct {
		name, token, header string
		want                int
	}{
		{name: "no token configured", want: http.StatusOK},
		{name: "no token configured, any header", header: "Bearer x", want: http.StatusOK},
		{name: "right token", token: "s3cret", header: "Bearer s3cret", want: http.StatusOK},
		{name: "missing", token: "s3cret", want: http.StatusUnauthorized},
		{name: "wrong", token: "s3cret", header: "Bearer s3cre", want: http.StatusUnauthorized},
		{name: "not bearer", token: "s3cret", header: "Basic s3cret", want: http.StatusUnauthorized},
		{name: "longer", token: "s3cret", header: "Bearer s3cret2", want: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			requireBearer(tt.token, ok).ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("status %d, want %d", w.Code, tt.want)
			}
			if w.Code == http.StatusUnauthorized && w.Body.String() == "metrics" {
				t.Error("metrics served without the token")
			}
		})
	}
}

func TestWithMetricsTokenRejects(t *testing.T) {
	for _, tok := range []string{"", "has space", "bang!"} {
		if err := WithMetricsToken(tok)(&Server{}); err == nil {
			t.Errorf("WithMetricsToken(%q) accepted", tok)
		}
	}
	if err := WithMetricsToken("s3cret-Token_1=")(&Server{}); err != nil {
		t.Errorf("WithMetricsToken of a valid token: %v", err)
	}
}
