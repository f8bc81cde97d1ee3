package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/dropoff-dev/dropoff/src/auth"
	"github.com/dropoff-dev/dropoff/src/httpapi"
)

// authConfig is the token check the settings ask for; false when they ask
// for none.
func authConfig(c config) (auth.Config, bool) {
	switch {
	case c.AuthTenantID != "":
		return auth.Entra(c.AuthTenantID, c.AuthAudience), true
	case c.AuthIssuer != "":
		return auth.Config{Issuer: c.AuthIssuer, Audience: c.AuthAudience, JWKSURL: c.AuthJWKSURL}, true
	}
	return auth.Config{}, false
}

// checkAuth fails settings that do not make one token check.
func checkAuth(c config) error {
	if c.AuthTenantID != "" && (c.AuthIssuer != "" || c.AuthJWKSURL != "") {
		return errors.New("auth: set auth-tenant-id (Entra ID) or auth-issuer with auth-jwks-url, not both")
	}
	cfg, on := authConfig(c)
	if !on {
		if c.AuthAudience != "" || c.AuthJWKSURL != "" {
			return errors.New("auth: auth-audience and auth-jwks-url need auth-tenant-id or auth-issuer")
		}
		return nil
	}
	if c.AuthRoleSend == "" || c.AuthRoleRead == "" || c.AuthRoleAdmin == "" {
		return errors.New("auth: auth-role-send, auth-role-read and auth-role-admin must not be empty")
	}
	if _, err := auth.New(cfg); err != nil {
		return fmt.Errorf("%w (settings auth-tenant-id or auth-issuer, auth-audience, auth-jwks-url)", err)
	}
	return nil
}

// verifier is the token check for the HTTP API, or nil for none. The
// settings were checked by checkAuth.
func verifier(c config) (httpapi.TokenVerifier, error) {
	cfg, on := authConfig(c)
	if !on {
		return nil, nil
	}
	return auth.New(cfg)
}

// checkOpen is the secure default: with no token check, a process that
// serves commands or queries may listen only on a loopback address (the
// laptop and the devcontainer), unless --allow-anonymous says it may run open
// wherever it listens. Only the probes, /metrics and the admin routes (which
// then answer loopback clients only) are served open anyway.
func checkOpen(c config, r roles, addr net.Addr, logger *slog.Logger) error {
	if _, on := authConfig(c); on || (!r.command && !r.query) {
		return nil
	}
	tcp, ok := addr.(*net.TCPAddr)
	if ok && tcp.IP.IsLoopback() {
		return nil
	}
	if c.AllowAnonymous {
		logger.Warn("serving commands and queries with no authentication beyond loopback, as allow-anonymous asks: anyone who reaches this address may use them",
			"addr", addr.String())
		return nil
	}
	return fmt.Errorf("refusing to serve commands and queries with no authentication on %s, which is not a loopback address: "+
		"set DROPOFF_AUTH_TENANT_ID and DROPOFF_AUTH_AUDIENCE (docs/deploy.md, Authentication), "+
		"or DROPOFF_ALLOW_ANONYMOUS=true to run open on purpose", addr)
}
