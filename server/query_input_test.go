package server

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

const sqlish = "x' OR '1'='1"

// TestQueryBadInput: malformed tokens, page sizes, unknown filters and
// SQL-looking strings are INVALID_ARGUMENT, whatever the method.
func TestQueryBadInput(t *testing.T) {
	e := newQueryEnv(t)
	c, _ := e.queryClient("team-a")
	ctx := t.Context()
	first, err := c.ListBuilds(ctx, connect.NewRequest(&hallmarkv1.ListBuildsRequest{PageSize: 1}))
	if err != nil || first.Msg.GetNextPageToken() == "" {
		t.Fatalf("a builds page with a next token: %v", err)
	}
	buildsToken := first.Msg.GetNextPageToken()
	withUnknown := &hallmarkv1.ListImagesRequest{}
	withUnknown.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1))
	images := func(m *hallmarkv1.ListImagesRequest) func(context.Context) error {
		return func(ctx context.Context) error { _, err := c.ListImages(ctx, connect.NewRequest(m)); return err }
	}
	builds := func(m *hallmarkv1.ListBuildsRequest) func(context.Context) error {
		return func(ctx context.Context) error { _, err := c.ListBuilds(ctx, connect.NewRequest(m)); return err }
	}
	audit := func(m *hallmarkv1.ListAuditRequest) func(context.Context) error {
		return func(ctx context.Context) error { _, err := c.ListAudit(ctx, connect.NewRequest(m)); return err }
	}
	tests := []struct {
		name string
		call func(context.Context) error
		want string
	}{
		{"page size 5000", images(&hallmarkv1.ListImagesRequest{PageSize: 5000}), "page_size"},
		{"negative page size", audit(&hallmarkv1.ListAuditRequest{PageSize: -1}), "page_size"},
		{"token not base64url", images(&hallmarkv1.ListImagesRequest{PageToken: "not a token!"}), "page_token"},
		{"token of garbage", images(&hallmarkv1.ListImagesRequest{PageToken: "Zm9vYmFy"}), "cursor"},
		{"token of another query", images(&hallmarkv1.ListImagesRequest{PageToken: buildsToken}), "cursor"},
		{"huge token", audit(&hallmarkv1.ListAuditRequest{PageToken: strings.Repeat("A", 5000)}), "page_token"},
		{"unknown kind", audit(&hallmarkv1.ListAuditRequest{Kinds: []string{"build", "drop"}}), "kinds"},
		{"sql kind", audit(&hallmarkv1.ListAuditRequest{Kinds: []string{sqlish}}), "kinds"},
		{"sql repository", images(&hallmarkv1.ListImagesRequest{Repository: sqlish}), "repository"},
		{"sql audit repository", audit(&hallmarkv1.ListAuditRequest{Repository: "reg.example/a; DROP TABLE audit"}), "repository"},
		{"sql base", images(&hallmarkv1.ListImagesRequest{Base: "'; DROP TABLE images; --"}), "base"},
		{"sql package", images(&hallmarkv1.ListImagesRequest{Package: "openssl' --"}), "package"},
		{"sql in a purl", images(&hallmarkv1.ListImagesRequest{Package: "pkg:deb/debian/openssl%27%20OR%201=1@1"}), "package"},
		{"not a purl", images(&hallmarkv1.ListImagesRequest{Package: "pkg:"}), "package"},
		{"empty version", images(&hallmarkv1.ListImagesRequest{Package: "openssl@"}), "package"},
		{"sql subject", builds(&hallmarkv1.ListBuildsRequest{Subject: sqlish}), "subject"},
		{"control characters", builds(&hallmarkv1.ListBuildsRequest{Subject: "a\x1b[31m"}), "subject"},
		{"bad digest", audit(&hallmarkv1.ListAuditRequest{Digest: "sha256:zz"}), "digest"},
		{"until before since", audit(&hallmarkv1.ListAuditRequest{Since: timestamppb.New(queryT0), Until: timestamppb.New(queryT0.Add(-1))}), "until"},
		{"invalid timestamp", builds(&hallmarkv1.ListBuildsRequest{Since: &timestamppb.Timestamp{Nanos: -1}}), "since"},
		{"unknown outcome", builds(&hallmarkv1.ListBuildsRequest{Outcome: "maybe"}), "outcome"},
		{"unknown field", images(withUnknown), "unknown fields"},
		{"sql build id", func(ctx context.Context) error {
			_, err := c.GetBuild(ctx, connect.NewRequest(&hallmarkv1.GetBuildRequest{Id: "1 OR 1=1"}))
			return err
		}, "id"},
		{"no image", func(ctx context.Context) error {
			_, err := c.GetImage(ctx, connect.NewRequest(&hallmarkv1.GetImageRequest{}))
			return err
		}, "image"},
		{"sql image", func(ctx context.Context) error {
			_, err := c.GetImage(ctx, connect.NewRequest(&hallmarkv1.GetImageRequest{Image: "reg.example/a:1' OR 1=1"}))
			return err
		}, "image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(t.Context())
			if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want invalid_argument naming %q", err, tt.want)
			}
		})
	}
}

// TestQueryUnknownJSONField: a misspelt filter in a JSON request is
// INVALID_ARGUMENT, not dropped (which would list everything).
func TestQueryUnknownJSONField(t *testing.T) {
	e := newQueryEnv(t)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			const msg = `{"stael":true}`
			target := e.srv.URL + hallmarkv1connect.QueryServiceListImagesProcedure
			var body io.Reader
			if method == http.MethodGet {
				target += "?" + url.Values{"encoding": {"json"}, "message": {msg}}.Encode()
			} else {
				body = strings.NewReader(msg)
			}
			req, err := http.NewRequestWithContext(t.Context(), method, target, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+e.tokens["team-a"])
			if method == http.MethodPost {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "invalid_argument") {
				t.Errorf("status %d: %s; want 400 invalid_argument", resp.StatusCode, data)
			}
		})
	}
}
