package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/test/stack"
	"github.com/opscentre/opscentre/test/testbin"
)

// selfSigned writes a certificate and key for 127.0.0.1 and returns a pool trusting it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "opscentre test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestWebConfigSecuresTheExporter starts the real aiops_exporter with deploy/web.yml — its
// certificate paths and password hash replaced by the test's own, every other setting as
// shipped — and checks that /metrics refuses plain HTTP and a missing or wrong password, and
// answers over TLS with the right one, with the configured headers.
func TestWebConfigSecuresTheExporter(t *testing.T) {
	exporter := testbin.Project(t, "aiops_exporter")
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(deployDir(t), "web.yml"))
	require.NoError(t, err)
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal(b, &cfg))
	certFile, keyFile, pool := selfSigned(t, dir)
	tlsCfg := cfg["tls_server_config"].(map[string]any)
	require.Equal(t, "TLS12", tlsCfg["min_version"])
	tlsCfg["cert_file"], tlsCfg["key_file"] = certFile, keyFile
	users := cfg["basic_auth_users"].(map[string]any)
	require.Contains(t, users, "prometheus")
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	users["prometheus"] = string(hash)
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	webFile := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webFile, out, 0o600))

	port, err := stack.FreePort()
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + addr

	// The ready endpoint needs the password too.
	readyURL := fmt.Sprintf("https://prometheus:s3cret@%s/-/ready", addr)
	startProcess(t, dir, "aiops_exporter", exporter, client, readyURL,
		"--web.listen-address="+addr, "--storage.path="+filepath.Join(dir, "state"), "--web.config.file="+webFile)

	get := func(user, pass string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
		require.NoError(t, err)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	require.Equal(t, http.StatusUnauthorized, get("", "").StatusCode)
	require.Equal(t, http.StatusUnauthorized, get("prometheus", "wrong").StatusCode)
	ok := get("prometheus", "s3cret")
	require.Equal(t, http.StatusOK, ok.StatusCode)
	require.Equal(t, "nosniff", ok.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "deny", ok.Header.Get("X-Frame-Options"))

	// Plain HTTP gets no metrics.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
	if err == nil {
		resp.Body.Close()
		require.NotEqual(t, http.StatusOK, resp.StatusCode)
	}
	// TLS below 1.2 is refused.
	old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	_, err = old.Get(base + "/metrics")
	require.Error(t, err)
}
