package bridge

import (
	"net"
	"net/http"
)

// Basic-auth guessing (shared/faillimit): ten wrong passwords in a row,
// then one every two seconds per client address.
const (
	failBurst = 10
	failRate  = 0.5
)

// clientAddr is the connection's address (the Bridge trusts no forwarding
// header: behind a proxy all clients share its bucket, which errs on the
// side of slowing guesses).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
