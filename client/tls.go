package client

import (
	"crypto/tls"
	"errors"
	"net"
)

// ErrNoProtocol: TLS negotiated no protocol the client can speak.
var ErrNoProtocol = errors.New("client: no supported protocol was negotiated")

// TLSConfig returns the client TLS configuration for serverName offering the
// ALPN identifiers alpn (RFC 7301), in order of preference. SNI is sent
// unless serverName is an IP address. insecure skips certificate
// verification (-k).
func TLSConfig(serverName string, alpn []string, insecure bool) *tls.Config {
	cfg := &tls.Config{NextProtos: alpn, InsecureSkipVerify: insecure, ServerName: serverName}
	if net.ParseIP(serverName) != nil && insecure {
		cfg.ServerName = ""
	}
	return cfg
}

// SelectProtocol decides what to speak after a TLS handshake: "h2" or
// "http/1.1" as negotiated; when the server selected nothing (it does not do
// ALPN, or offers no h2), HTTP/1.1 if the client offered it, with fallback
// set (h2load: "Server does not support ALPN. Falling back to HTTP/1.1.").
func SelectProtocol(negotiated string, offered []string) (proto string, fallback bool, err error) {
	switch negotiated {
	case "h2":
		return "h2", false, nil
	case "http/1.1":
		return "http/1.1", false, nil
	case "":
		for _, p := range offered {
			if p == "http/1.1" {
				return "http/1.1", true, nil
			}
		}
	}
	return "", false, ErrNoProtocol
}
