//go:build linux

package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/h2loop/h2loop/client"
)

// tlsConfig returns the TLS configuration of every connection of the run.
// As h2load, h2bench does not verify the server's certificate unless asked
// to (--verify).
func (c *config) tlsConfig() *tls.Config {
	cfg := client.TLSConfig(c.host, c.alpn, !c.verify)
	cfg.CipherSuites = c.cipherSuites
	cfg.CurvePreferences = c.curves
	return cfg
}

// handshakeError says why a TLS handshake failed and which flag changes
// the outcome; the report prints it once (the first cause of its row).
func handshakeError(c *config, err error) error {
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) || strings.Contains(err.Error(), "x509:") {
		return fmt.Errorf("%v (the certificate was verified because of --verify; without it h2bench, as h2load, does not verify)", err)
	}
	hint := "--ciphers, --tls13-ciphers and --groups choose what is offered"
	if c.verify {
		hint += "; --verify is on"
	}
	return fmt.Errorf("%v (server name %q, ALPN offered %s; %s)", err, c.host, strings.Join(c.alpn, ","), hint)
}

// alpnError says what ALPN negotiated when it is nothing h2bench can speak.
func alpnError(c *config, negotiated string) error {
	if negotiated == "" {
		negotiated = "none"
	} else {
		negotiated = "\"" + negotiated + "\""
	}
	return fmt.Errorf("ALPN: the server selected %s of %s offered, and no protocol h2bench speaks (--npn-list or --h1 change the offer)",
		negotiated, strings.Join(c.alpn, ","))
}

// opensslSuites maps OpenSSL's names of TLS 1.2 cipher suites (ciphers(1))
// to Go's; IANA names are accepted too.
var opensslSuites = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"ECDHE-ECDSA-RC4-SHA":           tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
	"ECDHE-RSA-RC4-SHA":             tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
	"RC4-SHA":                       tls.TLS_RSA_WITH_RC4_128_SHA,
}

// parseCiphers parses --ciphers: OpenSSL (or IANA) names of TLS 1.2 and
// earlier suites, separated by colons. Suites Go's crypto/tls does not
// implement (DHE, CCM, ARIA, ...) are skipped with one warning; OpenSSL's
// cipher expressions (HIGH, !aNULL, ...) are not understood.
func (c *config) parseCiphers(v string) error {
	iana := map[string]uint16{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		iana[s.Name] = s.ID
	}
	var ids []uint16
	var skipped []string
	for _, name := range strings.Split(v, ":") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		id, ok := opensslSuites[name]
		if !ok {
			id, ok = iana[name]
		}
		switch {
		case ok:
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		case strings.ContainsAny(name, "!+@=") || strings.ToUpper(name) == name && !strings.Contains(name, "-"):
			return fmt.Errorf("--ciphers: %q: OpenSSL cipher expressions are not supported; list suite names", name)
		default:
			skipped = append(skipped, name)
		}
	}
	if len(ids) == 0 {
		return fmt.Errorf("--ciphers: none of %q is a suite Go's crypto/tls implements", v)
	}
	if len(skipped) > 0 {
		c.warnings = append(c.warnings, "--ciphers: Go's crypto/tls does not implement "+strings.Join(skipped, ":")+": skipped")
	}
	c.cipherSuites = ids
	return nil
}

// h2load's default --tls13-ciphers.
const defaultTLS13Ciphers = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256"

// parseTLS13Ciphers checks --tls13-ciphers. Go's crypto/tls does not let a
// client choose its TLS 1.3 suites: any list other than h2load's default
// gets one line saying what Go offers instead.
func (c *config) parseTLS13Ciphers(v string) error {
	known := []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
		"TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"}
	for _, name := range strings.Split(v, ":") {
		if !slices.Contains(known, strings.TrimSpace(name)) {
			return fmt.Errorf("--tls13-ciphers: unknown TLS 1.3 suite %q", name)
		}
	}
	if v != defaultTLS13Ciphers {
		c.warnings = append(c.warnings, "--tls13-ciphers: Go's crypto/tls does not let a client choose TLS 1.3 suites: "+
			"it offers TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256 whatever the list (--ciphers applies to TLS 1.2)")
	}
	return nil
}

// groupNames maps --groups names (h2load's, OpenSSL's aliases) to Go's.
var groupNames = map[string]tls.CurveID{
	"x25519": tls.X25519, "p-256": tls.CurveP256, "prime256v1": tls.CurveP256, "secp256r1": tls.CurveP256,
	"p-384": tls.CurveP384, "secp384r1": tls.CurveP384, "p-521": tls.CurveP521, "secp521r1": tls.CurveP521,
	"x25519mlkem768": tls.X25519MLKEM768,
}

// parseGroups parses --groups: key exchange groups separated by colons, in
// order of preference.
func (c *config) parseGroups(v string) error {
	var ids []tls.CurveID
	for _, name := range strings.Split(v, ":") {
		id, ok := groupNames[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return fmt.Errorf("--groups: unknown or unsupported group %q (X25519, P-256, P-384, P-521, X25519MLKEM768)", name)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	c.curves = ids
	return nil
}
