package server

import (
	"crypto/subtle"
	"net/http"
)

// requireBearer serves h only to requests that carry token as their bearer
// token (read as every API token is, bearerToken); an empty token serves
// everyone.
func requireBearer(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := bearerToken(r.Header, len(want))
		if err != nil || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hallmark metrics"`)
			http.Error(w, "metrics need a bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
