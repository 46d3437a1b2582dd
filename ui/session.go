package ui

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

const (
	// sessionCookie holds a signed-in viewer's identity, sealed.
	sessionCookie = "hallmark_session"
	// loginCookie holds a sign-in in progress (state, PKCE verifier,
	// nonce, where to go back), sealed.
	loginCookie = "hallmark_login"
	// maxCookieBytes is the largest cookie value browsers keep for sure.
	maxCookieBytes = 4000
	// SessionKeyBytes is the size of the key that seals cookies.
	SessionKeyBytes = 32
)

// sealer seals and opens cookie values with AES-256-GCM: a cookie can be
// neither read nor forged without the key. The cookie's name is the
// additional data, so one cookie's value is never accepted as another's.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != SessionKeyBytes {
		return nil, fmt.Errorf("session key: %d bytes, want %d", len(key), SessionKeyBytes)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal encodes v as JSON and seals it for the cookie name.
func (s *sealer) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", name, err)
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal %s: %w", name, err)
	}
	out := base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(name)))
	if len(out) > maxCookieBytes {
		return "", fmt.Errorf("seal %s: %d bytes, over the %d a cookie holds", name, len(out), maxCookieBytes)
	}
	return out, nil
}

// errBadCookie says a cookie was forged, sealed with another key, or
// damaged.
var errBadCookie = errors.New("cookie does not open")

// open opens the cookie name of r into v.
func (s *sealer) open(r *http.Request, name string, v any) error {
	c, err := r.Cookie(name)
	if err != nil {
		return err
	}
	if len(c.Value) > maxCookieBytes {
		return errBadCookie
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return errBadCookie
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], []byte(name))
	if err != nil {
		return errBadCookie
	}
	if json.Unmarshal(plain, v) != nil {
		return errBadCookie
	}
	return nil
}

// session is a signed-in viewer: the identity its ID token proved, until
// Expires.
type session struct {
	Issuer  string         `json:"iss"`
	Subject string         `json:"sub"`
	Claims  map[string]any `json:"claims,omitempty"`
	Expires time.Time      `json:"exp"`
}

// cookie is a cookie of the web view: HttpOnly, SameSite=Lax (sent on
// the issuer's redirect back, a top-level GET), Secure when the web view
// is reached over https.
func (h *handler) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.login != nil && h.login.secure,
	}
}

// clearCookie removes a cookie.
func (h *handler) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, h.cookie(name, "", -1))
}
