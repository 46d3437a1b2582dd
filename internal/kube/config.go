package kube

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// ServiceAccountDir is where a Pod finds its service-account token, the
// cluster's CA and its namespace.
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// NewInCluster returns a Client for the API server of the cluster the
// process runs in: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, the
// CA at ServiceAccountDir/ca.crt, and the token at ServiceAccountDir/token,
// re-read before every call (the kubelet rotates it).
func NewInCluster(opts ...Option) (*Client, error) {
	return newInCluster(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT"), ServiceAccountDir, opts)
}

func newInCluster(host, port, dir string, opts []Option) (*Client, error) {
	if host == "" || port == "" {
		return nil, errors.New("not in a cluster: KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT is not set")
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("read the cluster's CA: %w", err)
	}
	tokenFile := filepath.Join(dir, "token")
	if _, err := os.Stat(tokenFile); err != nil {
		return nil, fmt.Errorf("find the service-account token: %w", err)
	}
	ns, err := os.ReadFile(filepath.Join(dir, "namespace"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the pod's namespace: %w", err)
	}
	return newClient(credentials{
		server:    "https://" + net.JoinHostPort(host, port),
		caPEM:     ca,
		tokenFile: tokenFile,
		namespace: strings.TrimSpace(string(ns)),
	}, opts)
}

// kubeconfig is the part of a kubeconfig file a Client reads.
type kubeconfig struct {
	CurrentContext string `json:"current-context"`
	Clusters       []struct {
		Name    string `json:"name"`
		Cluster struct {
			Server                   string `json:"server"`
			CertificateAuthority     string `json:"certificate-authority"`
			CertificateAuthorityData string `json:"certificate-authority-data"`
		} `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		Name string `json:"name"`
		User struct {
			Token                 string `json:"token"`
			TokenFile             string `json:"tokenFile"`
			ClientCertificate     string `json:"client-certificate"`
			ClientCertificateData string `json:"client-certificate-data"`
			ClientKey             string `json:"client-key"`
			ClientKeyData         string `json:"client-key-data"`
		} `json:"user"`
	} `json:"users"`
	Contexts []struct {
		Name    string `json:"name"`
		Context struct {
			Cluster   string `json:"cluster"`
			User      string `json:"user"`
			Namespace string `json:"namespace"`
		} `json:"context"`
	} `json:"contexts"`
}

// NewFromKubeconfig returns a Client for the current context of the
// kubeconfig file at path: its cluster's server and CA (file or data), and
// its user's bearer token (inline or tokenFile, re-read before every call)
// or client certificate. Exec and auth-provider plugins are not supported.
func NewFromKubeconfig(path string, opts ...Option) (*Client, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig: %w", err)
	}
	var kc kubeconfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return nil, fmt.Errorf("parse kubeconfig %s: %w", path, err)
	}
	c, err := kc.credentials(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return newClient(c, opts)
}

func (kc kubeconfig) credentials(dir string) (credentials, error) {
	var c credentials
	ctxName := kc.CurrentContext
	if ctxName == "" && len(kc.Contexts) == 1 {
		ctxName = kc.Contexts[0].Name
	}
	var clusterName, userName string
	found := false
	for _, x := range kc.Contexts {
		if x.Name == ctxName {
			clusterName, userName, c.namespace, found = x.Context.Cluster, x.Context.User, x.Context.Namespace, true
		}
	}
	if !found {
		return c, fmt.Errorf("no context %q", ctxName)
	}
	found = false
	for _, x := range kc.Clusters {
		if x.Name != clusterName {
			continue
		}
		found, c.server = true, x.Cluster.Server
		var err error
		if c.caPEM, err = dataOrFile(x.Cluster.CertificateAuthorityData, x.Cluster.CertificateAuthority, dir); err != nil {
			return c, fmt.Errorf("cluster %q: certificate-authority: %w", clusterName, err)
		}
	}
	if !found {
		return c, fmt.Errorf("no cluster %q", clusterName)
	}
	for _, x := range kc.Users {
		if x.Name != userName {
			continue
		}
		u := x.User
		c.token = u.Token
		if u.TokenFile != "" {
			c.tokenFile = resolve(u.TokenFile, dir)
		}
		certPEM, err := dataOrFile(u.ClientCertificateData, u.ClientCertificate, dir)
		if err != nil {
			return c, fmt.Errorf("user %q: client-certificate: %w", userName, err)
		}
		keyPEM, err := dataOrFile(u.ClientKeyData, u.ClientKey, dir)
		if err != nil {
			return c, fmt.Errorf("user %q: client-key: %w", userName, err)
		}
		if len(certPEM) > 0 || len(keyPEM) > 0 {
			cert, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				return c, fmt.Errorf("user %q: client certificate: %w", userName, err)
			}
			c.cert = &cert
		}
		return c, nil
	}
	return c, fmt.Errorf("no user %q", userName)
}

// dataOrFile returns base64 data, or the content of file (relative to dir),
// or nothing when neither is set.
func dataOrFile(data, file, dir string) ([]byte, error) {
	if data != "" {
		return base64.StdEncoding.DecodeString(data)
	}
	if file == "" {
		return nil, nil
	}
	return os.ReadFile(resolve(file, dir))
}

func resolve(file, dir string) string {
	if filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(dir, file)
}

// NewWithToken returns a Client for the API server at server (an https
// URL) that trusts the CAs of caPEM (the system's when empty) and sends
// token.
func NewWithToken(server, token string, caPEM []byte, opts ...Option) (*Client, error) {
	return newClient(credentials{server: server, caPEM: caPEM, token: token}, opts)
}
