package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// TLSConfig is the TLS configuration of a client of the orchestrator: TLS 1.2 or
// later, and caPEM, when set, as the only trusted root (the server's self-signed
// certificate); without it the system's roots. The CLI and the simulated agents of
// `exechunt simulate` verify the server the same way.
func TLSConfig(caPEM []byte) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("no certificate in the CA file")
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
