package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/hallmark-dev/hallmark/internal/devstack"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// chunkSize is the size of one UploadContext message.
const chunkSize = 1 << 20

// newClient returns a BuildService client for the gateway at base URL
// gateway. http:// gateways are spoken to with unencrypted HTTP/2 (h2c),
// which the streaming calls need; https:// gateways negotiate HTTP/2 by ALPN.
func newClient(gateway string) hallmarkv1connect.BuildServiceClient {
	return hallmarkv1connect.NewBuildServiceClient(newHTTPClient(gateway), strings.TrimSuffix(gateway, "/"))
}

func newHTTPClient(gateway string) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if strings.HasPrefix(gateway, "http://") {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		t.Protocols = &p
	}
	return &http.Client{Transport: t}
}

// stackLoader finds the running dev stack; devstack.LoadState by default.
type stackLoader func() (devstack.State, error)

func loadDevStack() (devstack.State, error) {
	dir, err := devstack.DefaultDir()
	if err != nil {
		return devstack.State{}, err
	}
	return devstack.LoadState(dir)
}

// resolveGateway picks the gateway: the flag, else $HALLMARK_GATEWAY, else
// the running dev stack.
func resolveGateway(flag string, getenv func(string) string, stack stackLoader) (string, error) {
	gw := flag
	if gw == "" {
		gw = getenv("HALLMARK_GATEWAY")
	}
	if gw == "" {
		s, err := stack()
		switch {
		case err == nil && s.Gateway != "":
			gw = s.Gateway
		case err == nil || errors.Is(err, devstack.ErrNotRunning):
			return "", errors.New("find gateway: pass --gateway URL, set HALLMARK_GATEWAY, or start a dev stack with `hallmark dev up`")
		default:
			return "", fmt.Errorf("find gateway: %w (or pass --gateway URL, or set HALLMARK_GATEWAY)", err)
		}
	}
	u, err := url.Parse(gw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("parse gateway %q: want an http:// or https:// URL", gw)
	}
	if u.User != nil {
		return "", errors.New("parse gateway: credentials in the URL are not accepted; use --token-file or HALLMARK_TOKEN")
	}
	return gw, nil
}

// upload sends archive, whose digest is dgst, to the gateway in chunks.
// The first message names the digest, so a gateway that already holds the
// content answers at once and the rest is not sent.
func upload(ctx context.Context, cl hallmarkv1connect.BuildServiceClient, tokens tokenSource, archive io.Reader, dgst string) (*hallmarkv1.UploadContextResponse, error) {
	tok, err := tokens(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream := cl.UploadContext(ctx)
	stream.RequestHeader().Set("Authorization", bearer(tok))

	buf := make([]byte, chunkSize)
	first := true
	for {
		n, rerr := io.ReadFull(archive, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			cancel() // abort the upload rather than finish it short
			return nil, fmt.Errorf("read archive: %w", rerr)
		}
		if n > 0 || first {
			msg := &hallmarkv1.UploadContextRequest{Chunk: buf[:n]}
			if first {
				msg.ExpectedDigest = dgst
				first = false
			}
			if err := stream.Send(msg); errors.Is(err, io.EOF) {
				break // the gateway answered already; CloseAndReceive says how
			} else if err != nil {
				return nil, err
			}
		}
		if rerr != nil {
			break
		}
	}
	resp, err := stream.CloseAndReceive()
	if err != nil {
		return nil, err
	}
	if resp.Msg.GetDigest() != dgst {
		return nil, fmt.Errorf("check upload: gateway stored %s, want %s", resp.Msg.GetDigest(), dgst)
	}
	return resp.Msg, nil
}
