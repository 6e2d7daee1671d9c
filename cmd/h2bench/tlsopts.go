//go:build linux

package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/h2loop/h2loop/client"
)

// tlsConfig returns the TLS configuration of every connection of the run.
// As h2load, h2bench does not verify the server's certificate unless asked
// to (--verify).
func (c *config) tlsConfig() *tls.Config {
	return client.TLSConfig(c.host, c.alpn, !c.verify)
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
