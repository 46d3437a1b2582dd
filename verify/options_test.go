package verify_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/verify"
)

// TestOptionTypes pins which constructor each option configures: giving an
// option to a constructor it does not configure does not compile.
func TestOptionTypes(t *testing.T) {
	var (
		verifier  = reflect.TypeFor[verify.Option]()
		evaluator = reflect.TypeFor[verify.EvaluatorOption]()
		bundle    = reflect.TypeFor[verify.BundleOption]()
	)
	tests := []struct {
		name                       string
		opt                        any
		verifier, evaluator, bndle bool
	}{
		{"WithIdentities", verify.WithIdentities(), true, false, true},
		{"WithAnyIdentityUnsafe", verify.WithAnyIdentityUnsafe(), true, false, false},
		{"WithoutTransparencyLogUnsafe", verify.WithoutTransparencyLogUnsafe(), true, true, false},
		{"WithRegistry", verify.WithRegistry(nil), true, true, false},
		{"WithLogger", verify.WithLogger(nil), true, true, false},
		{"WithMaxBundles", verify.WithMaxBundles(1), true, true, false},
		{"WithMaxBundleSize", verify.WithMaxBundleSize(1), true, true, true},
		{"WithDefaultPolicy", verify.WithDefaultPolicy("p"), false, true, false},
		{"WithVerdictTTL", verify.WithVerdictTTL(time.Minute, time.Minute), false, true, false},
		{"WithVerdictCacheSize", verify.WithVerdictCacheSize(1), false, true, false},
		{"WithVerifyTimeout", verify.WithVerifyTimeout(time.Second), false, true, false},
		{"WithVSASigner", verify.WithVSASigner(nil, ""), false, true, false},
		{"WithClock", verify.WithClock(time.Now), false, true, false},
		{"WithBundleKey", verify.WithBundleKey(nil), false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := reflect.TypeOf(tt.opt)
			for _, c := range []struct {
				iface reflect.Type
				want  bool
			}{{verifier, tt.verifier}, {evaluator, tt.evaluator}, {bundle, tt.bndle}} {
				if got := typ.Implements(c.iface); got != c.want {
					t.Errorf("%s is a %s: %v, want %v", tt.name, c.iface, got, c.want)
				}
			}
		})
	}
}
