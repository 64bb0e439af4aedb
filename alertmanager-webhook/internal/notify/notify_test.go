package notify

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzExcerpt: whatever a failing server answers, the excerpt kept of it is short, valid
// UTF-8 without control characters, and holds none of the URL's secret parts — also when
// the answer is cut inside one.
func FuzzExcerpt(f *testing.F) {
	f.Add([]byte("no_service: /services/T0AAAA/B0BBBB/tok3nSecret"), false)
	f.Add([]byte(`{"path":"\/services\/T0AAAA\/B0BBBB\/tok3nSecret"}`), true)
	f.Add([]byte("\x1b[2J\r\n%2Fservices%2FT0AAAA"), false)
	secrets := URLSecrets("https://hooks.example/services/T0AAAA/B0BBBB/tok3nSecret?sig=qu3rySecret")
	f.Fuzz(func(t *testing.T, body []byte, truncated bool) {
		ex := Excerpt(body, truncated, secrets)
		if len(ex) > ExcerptBytes+len("…") || !utf8.ValidString(ex) || strings.ContainsAny(ex, "\x00\r\n\x1b") {
			t.Fatalf("excerpt %q", ex)
		}
		for _, s := range []string{"T0AAAA", "B0BBBB", "tok3nSecret", "qu3rySecret"} {
			if strings.Contains(string(body), s) && strings.Contains(ex, s) {
				t.Fatalf("secret %q kept in %q", s, ex)
			}
		}
	})
}
