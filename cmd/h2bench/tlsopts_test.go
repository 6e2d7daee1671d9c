//go:build linux

package main

import (
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"
)

// tlsServerWith serves hello over TLS with h2, with the server's TLS
// configuration set by conf.
func tlsServerWith(t *testing.T, conf *tls.Config) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(hello)
	srv.EnableHTTP2 = true
	srv.TLS = conf
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestCiphersAndGroups checks that --ciphers and --groups decide what the
// handshake offers, against servers that accept only one suite or one group.
func TestCiphersAndGroups(t *testing.T) {
	tls12 := tlsServerWith(t, &tls.Config{MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}})
	cfg, err := parseArgs([]string{"--ciphers", "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256", tls12}, nil)
	if err != nil || len(cfg.cipherSuites) != 2 || len(cfg.warnings) != 1 || !strings.Contains(cfg.warnings[0], "DHE-RSA-AES128-GCM-SHA256") {
		t.Fatalf("%v %v %q", err, cfg.cipherSuites, cfg.warnings)
	}
	r, report := runBench(t, "-n", "10", "-c", "1", "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384", tls12+"/")
	if r.Requests.Succeeded != 10 || !strings.Contains(report, "TLS 1.2, TLS_ECDHE_") || !strings.Contains(report, "_WITH_AES_256_GCM_SHA384") {
		t.Fatalf("%+v\n%s", r.Requests, report)
	}
	r, report = runBench(t, "-n", "2", "-c", "1", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256:TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", tls12+"/")
	if r.Requests.Succeeded != 0 || r.Errors["tls handshake"] != 1 || !strings.Contains(r.ErrorCauses["tls handshake"], "--ciphers") {
		t.Fatalf("%v %v\n%s", r.Errors, r.ErrorCauses, report)
	}

	p384 := tlsServerWith(t, &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP384}})
	r, report = runBench(t, "-n", "10", "-c", "1", "--groups", "P-384:P-256", p384+"/")
	if r.Requests.Succeeded != 10 || !strings.Contains(report, "TLS 1.3, TLS_AES_128_GCM_SHA256, CurveP384") {
		t.Fatalf("%+v\n%s", r.Requests, report)
	}
	r, report = runBench(t, "-n", "2", "-c", "1", "--groups", "x25519:prime256v1", p384+"/")
	if r.Requests.Succeeded != 0 || r.Errors["tls handshake"] != 1 || !strings.Contains(r.ErrorCauses["tls handshake"], "--groups") {
		t.Fatalf("%v %v\n%s", r.Errors, r.ErrorCauses, report)
	}

	cfg, err = parseArgs([]string{"--tls13-ciphers", defaultTLS13Ciphers, "https://h/"}, nil)
	if err != nil || len(cfg.warnings) != 0 {
		t.Fatalf("h2load's default --tls13-ciphers: %v %q", err, cfg.warnings)
	}
	cfg, err = parseArgs([]string{"--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256", "https://h/"}, nil)
	if err != nil || len(cfg.warnings) != 1 || !strings.Contains(cfg.warnings[0], "does not let a client choose TLS 1.3 suites") {
		t.Fatalf("%v %q", err, cfg.warnings)
	}
	for _, bad := range [][]string{{"--ciphers", "HIGH:!aNULL"}, {"--ciphers", "DHE-RSA-AES128-GCM-SHA256"},
		{"--tls13-ciphers", "TLS_AES_129_GCM_SHA256"}, {"--groups", "P-192"}} {
		if _, err := parseArgs(append(bad, "https://h/"), nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
