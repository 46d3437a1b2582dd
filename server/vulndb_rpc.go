package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// WithVulnDB serves VulnDBService from l, which imports advisories into
// the store, and matches builds against its advisories (WithVulnSource)
// unless another source is set. The default is none: VulnDBService is not
// served.
func WithVulnDB(l *VulnLoader) Option {
	return func(s *Server) error {
		s.vulndb = l
		if s.vulns == nil {
			s.vulns = l
		}
		return nil
	}
}

// maxSourceBytes bounds an import's source name.
const maxSourceBytes = 256

type vulnDBService struct{ s *Server }

var _ hallmarkv1connect.VulnDBServiceHandler = (*vulnDBService)(nil)

// Import spools one streamed file, checks it and imports it; only
// administrators may.
func (h *vulnDBService) Import(ctx context.Context, stream *connect.ClientStream[hallmarkv1.ImportRequest]) (*connect.Response[hallmarkv1.ImportResponse], error) {
	s, l := h.s, h.s.vulndb
	id, ok := IdentityFromContext(ctx)
	if !ok {
		return nil, connectError(ctx, s.log, fmt.Errorf("%w: no verified identity", hallmark.ErrUnauthenticated))
	}
	if err := s.authz.AuthorizeAdmin(id); err != nil {
		return nil, connectError(ctx, s.log, fmt.Errorf("import advisories: %w", err))
	}
	if !stream.Receive() {
		if err := stream.Err(); err != nil {
			return nil, connectError(ctx, s.log, err)
		}
		return nil, connectError(ctx, s.log, fmt.Errorf("%w: import is empty", hallmark.ErrInvalid))
	}
	first := stream.Msg()
	source, expected := first.GetSource(), first.GetExpectedSha256()
	if err := checkSource(source); err != nil {
		return nil, connectError(ctx, s.log, err)
	}
	if expected != "" && !isHexSHA256(expected) {
		return nil, connectError(ctx, s.log, fmt.Errorf("%w: expected_sha256 is not 64 lowercase hex digits", hallmark.ErrInvalid))
	}
	f, size, sum, err := spool(l.spool, l.maxBytes, &importChunks{stream: stream, buf: first.GetChunk()})
	if f != nil {
		defer os.Remove(f.Name())
		defer f.Close()
	}
	if err != nil {
		return nil, connectError(ctx, s.log, fmt.Errorf("import %s: %w", hallmark.Clip(source, 64), err))
	}
	if expected != "" && expected != sum {
		return nil, connectError(ctx, s.log, fmt.Errorf("%w: import %s: sha256 %s, expected %s", hallmark.ErrInvalid, hallmark.Clip(source, 64), sum, expected))
	}
	imp, err := l.Import(ctx, actorOf(id), source, f, size)
	if err != nil {
		return nil, connectError(ctx, s.log, err)
	}
	s.watch.prompt()
	s.log.InfoContext(ctx, "advisories imported", "source", source, "sha256", imp.SHA256, "records", imp.Records, "changed", imp.Changed)
	return connect.NewResponse(&hallmarkv1.ImportResponse{
		Source: source, Sha256: imp.SHA256, Records: int64(imp.Records), Changed: int64(imp.Changed),
		NewestModified: timestamp(imp.NewestModified), Warnings: imp.Warnings,
	}), nil
}

// Status reports the recorded imports and the loaded totals to any caller
// a rule matches.
func (h *vulnDBService) Status(ctx context.Context, _ *connect.Request[hallmarkv1.StatusRequest]) (*connect.Response[hallmarkv1.StatusResponse], error) {
	s, l := h.s, h.s.vulndb
	id, ok := IdentityFromContext(ctx)
	if !ok {
		return nil, connectError(ctx, s.log, fmt.Errorf("%w: no verified identity", hallmark.ErrUnauthenticated))
	}
	if err := s.authz.AuthorizeKnown(id); err != nil {
		return nil, connectError(ctx, s.log, fmt.Errorf("advisory status: %w", err))
	}
	imports, err := l.st.VulnImports(ctx)
	if err != nil {
		return nil, connectError(ctx, s.log, fmt.Errorf("%w: %w", hallmark.ErrUnavailable, err))
	}
	snap := l.status()
	res := &hallmarkv1.StatusResponse{Ecosystems: snap.ecosystems, NewestModified: timestamp(snap.newest)}
	if snap.db != nil {
		res.Advisories = int64(snap.db.Len())
	}
	for _, imp := range imports {
		res.Imports = append(res.Imports, &hallmarkv1.VulnImport{
			Source: imp.Source, Sha256: imp.SHA256, Records: int64(imp.Records), Changed: int64(imp.Changed),
			NewestModified: timestamp(imp.NewestModified), ImportedAt: timestamp(imp.ImportedAt), Actor: imp.Actor,
		})
		res.LastImported = timestamp(imp.ImportedAt)
	}
	return connect.NewResponse(res), nil
}

// checkSource accepts 1 to maxSourceBytes printable characters.
func checkSource(source string) error {
	if source == "" || len(source) > maxSourceBytes || strings.IndexFunc(source, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return fmt.Errorf("%w: source must be 1 to %d printable characters (set it in the first message)", hallmark.ErrInvalid, maxSourceBytes)
	}
	return nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// spool copies r to a new file in dir, at most maxBytes, and returns it
// with its size and hex sha256. The caller removes the file, also on
// error.
func spool(dir string, maxBytes int64, r io.Reader) (*os.File, int64, string, error) {
	f, err := os.CreateTemp(dir, "vulndb-import-*")
	if err != nil {
		return nil, 0, "", fmt.Errorf("%w: spool: %w", hallmark.ErrUnavailable, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, maxBytes+1))
	switch {
	case err != nil:
		return f, 0, "", fmt.Errorf("spool: %w", err)
	case n > maxBytes:
		return f, 0, "", fmt.Errorf("%w: the file is over %d bytes (vulndb.maxImportBytes)", hallmark.ErrTooLarge, maxBytes)
	}
	return f, n, hex.EncodeToString(h.Sum(nil)), nil
}

// importChunks reads the chunks of an import stream as one byte stream.
type importChunks struct {
	stream *connect.ClientStream[hallmarkv1.ImportRequest]
	buf    []byte
}

func (r *importChunks) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if !r.stream.Receive() {
			if err := r.stream.Err(); err != nil {
				return 0, fmt.Errorf("receive import: %w", err)
			}
			return 0, io.EOF
		}
		m := r.stream.Msg()
		if m.GetSource() != "" || m.GetExpectedSha256() != "" {
			return 0, fmt.Errorf("%w: source and expected_sha256 are only read from the first message", hallmark.ErrInvalid)
		}
		r.buf = m.GetChunk()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
