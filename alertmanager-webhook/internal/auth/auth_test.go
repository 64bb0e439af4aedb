package auth

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func request(authz string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/v1/incidents", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return r
}

// The SHA-256 of the empty string is what `printf %s "$TOKEN" | sha256sum` gives with
// $TOKEN unset; configured, it admitted `Bearer` followed by Unicode whitespace as an admin.
func TestEmptyTokenDigestRefused(t *testing.T) {
	empty := Hash("")
	require.Equal(t, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex.EncodeToString(empty[:]))
	_, err := New([]Token{{Subject: "root", Role: Admin, SHA256: Hash("")}}, nil, nil)
	require.ErrorContains(t, err, "empty string")
	_, err = New(nil, [][32]byte{Hash("")}, nil)
	require.ErrorContains(t, err, "empty string")
	_, err = New(nil, nil, map[string][32]byte{"am": Hash("")})
	require.ErrorContains(t, err, "empty string")
}

// Empty and whitespace-only bearer tokens, in any Unicode sense, and invisible ones are
// refused before hashing, whether or not the API is open.
func TestBlankBearerTokensRefused(t *testing.T) {
	withTokens, err := New([]Token{{Subject: "alice", Role: Admin, SHA256: Hash("s3cret")}}, [][32]byte{Hash("am-token")}, nil)
	require.NoError(t, err)
	open, err := New(nil, nil, nil)
	require.NoError(t, err)
	for _, h := range []string{
		"Bearer ", "Bearer  ", "Bearer \t", "bearer \u00a0", "Bearer \u2003\u3000", "Bearer \u2028", "Bearer \u0085",
		"Bearer \u200b", "Bearer \ufeff", "Bearer \u202e", "Bearer s3c\u200bret", "Bearer s3c ret", "Bearer \xff",
	} {
		for name, a := range map[string]*Authenticator{"tokens": withTokens, "open": open} {
			_, err := a.Authenticate(request(h))
			require.True(t, errors.Is(err, ErrUnauthenticated), "%s API, %q: %v", name, h, err)
		}
		require.False(t, withTokens.AuthorizeWebhook(request(h)), "webhook, %q", h)
	}
	p, err := withTokens.Authenticate(request("Bearer s3cret"))
	require.NoError(t, err)
	require.Equal(t, "alice", p.Subject)
	p, err = withTokens.Authenticate(request("Bearer  s3cret\u00a0"))
	require.NoError(t, err, "surrounding whitespace is still trimmed")
	require.Equal(t, "alice", p.Subject)
	p, err = open.Authenticate(request(""))
	require.NoError(t, err)
	require.Equal(t, Viewer, p.Role, "no credentials on an open API: anonymous viewer")
	require.True(t, withTokens.AuthorizeWebhook(request("Bearer am-token")))

	basic, err := New(nil, nil, map[string][32]byte{"am": Hash("pw")})
	require.NoError(t, err)
	r := request("")
	r.SetBasicAuth("am", "")
	require.False(t, basic.AuthorizeWebhook(r), "empty basic-auth password")
	r.SetBasicAuth("am", "pw")
	require.True(t, basic.AuthorizeWebhook(r))
}
