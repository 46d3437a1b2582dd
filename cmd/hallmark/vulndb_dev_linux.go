package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/hallmark-dev/hallmark/internal/devstack"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// importDevVulnDB imports the files and directories of list (a
// colon-separated path list, $HALLMARK_VULNDB) into the dev stack's
// gateway with the dev token, printing one line per file to w. An empty
// list imports nothing.
func importDevVulnDB(ctx context.Context, st devstack.State, list string, w io.Writer) error {
	var paths []string
	for _, p := range filepath.SplitList(list) {
		if strings.TrimSpace(p) != "" {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil
	}
	files, err := vulnFiles(paths)
	if err != nil {
		return fmt.Errorf("HALLMARK_VULNDB: %w", err)
	}
	cl := hallmarkv1connect.NewVulnDBServiceClient(newHTTPClient(st.Gateway), strings.TrimSuffix(st.Gateway, "/"))
	for _, vf := range files {
		tok, err := devstack.FetchToken(ctx, st.Issuer, devSubject, nil)
		if err != nil {
			return err
		}
		res, err := importVulnFile(ctx, cl, tok, vf)
		if err != nil {
			return fmt.Errorf("HALLMARK_VULNDB: import %s: %w", vf.path, err)
		}
		fmt.Fprintf(w, "hallmark: HALLMARK_VULNDB: imported %s: %d records, %d changed\n", oneLine(res.GetSource()), res.GetRecords(), res.GetChanged())
	}
	return nil
}
