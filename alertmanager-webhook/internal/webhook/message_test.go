package webhook

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fastjson"
)

func decodeFile(t *testing.T, name string) *Message {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	m, err := Decode(bytes.NewReader(b))
	require.NoError(t, err)
	return m
}

func TestDecodeAlertmanagerCaptures(t *testing.T) {
	m := decodeFile(t, "firing-group.json")
	require.Equal(t, "4", m.Version)
	require.Equal(t, `{}:{alertname="FeatureDriftHigh", model="fraud-v3"}`, m.GroupKey)
	require.Equal(t, StatusFiring, m.Status)
	require.Len(t, m.Alerts, 2)
	a := m.Alerts[0]
	require.Equal(t, "d0e0c2b8bcbe0c2f", a.Fingerprint)
	require.Equal(t, time.Date(2026, 11, 29, 20, 58, 15, 0, time.UTC), a.StartsAt)
	require.True(t, a.EndsAt.IsZero(), "0001-01-01 means still firing")
	require.Equal(t, "https://runbooks.example/drift", a.Annotations["runbook_url"])
	require.Equal(t, "fraud-v3", m.CommonLabels["model"])

	p := decodeFile(t, "partly-resolved-group.json")
	require.Equal(t, StatusFiring, p.Status, "group still firing while one alert resolved")
	require.True(t, p.Alerts[0].Resolved())
	require.Equal(t, time.Date(2026, 11, 29, 20, 58, 19, 0, time.UTC), p.Alerts[0].EndsAt)
	require.False(t, p.Alerts[1].Resolved())
}

func TestDecodeGrafanaAndNewerFields(t *testing.T) {
	g := decodeFile(t, "grafana.json")
	require.Equal(t, "1", g.Version)
	require.Equal(t, int64(1), g.OrgID)
	require.Equal(t, "http://grafana/d/x", g.Alerts[0].DashboardURL)
	require.True(t, g.Alerts[0].EndsAt.IsZero(), "Grafana's expected end of a firing alert is not an end")

	n := decodeFile(t, "newer-fields.json")
	require.Equal(t, "all alerts resolved", n.NotificationReason)
	require.Equal(t, map[string]string{"team": "ml"}, n.RouteLabels)
	require.Equal(t, uint64(3), n.TruncatedAlerts)
	require.Equal(t, 123456789, n.Alerts[0].StartsAt.Nanosecond())
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	valid := `{"status":"firing","groupKey":"g","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2026-01-01T00:00:00Z","fingerprint":"f"}]}`
	cases := map[string]struct{ body, field, reason string }{
		"empty":           {"", "", "empty body"},
		"not json":        {"hello", "", "malformed JSON"},
		"array":           {"[]", "", "expected webhook.Message"},
		"bad status":      {strings.Replace(valid, `"status":"firing","groupKey"`, `"status":"burning","groupKey"`, 1), "status", "burning"},
		"alerts not list": {`{"status":"firing","alerts":{}}`, "alerts", "expected []webhook.Alert"},
		"bad time":        {strings.Replace(valid, "2026-01-01T00:00:00Z", "yesterday", 1), "", "cannot decode"},
		"no startsAt":     {strings.Replace(valid, `"startsAt":"2026-01-01T00:00:00Z",`, "", 1), "alerts[0].startsAt", "missing"},
		"resolved no end": {strings.Replace(valid, `"alerts":[{"status":"firing"`, `"alerts":[{"status":"resolved"`, 1), "alerts[0].endsAt", "end time"},
		"labels as list":  {strings.Replace(valid, `{"a":"b"}`, `["a"]`, 1), "alerts.labels", "expected map"},
		"trailing":        {valid + valid, "", "trailing data"},
		"no fingerprint":  {strings.Replace(strings.Replace(valid, `"fingerprint":"f"`, `"generatorURL":""`, 1), `{"a":"b"}`, `{}`, 1), "alerts[0].fingerprint", "missing"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(c.body))
			require.Error(t, err)
			var de *DecodeError
			require.True(t, errors.As(err, &de), "%T %v", err, err)
			require.Equal(t, c.field, de.Field)
			require.Contains(t, de.Error(), c.reason)
		})
	}
	_, err := Decode(strings.NewReader(valid))
	require.NoError(t, err)
}

func TestDecodeFillsIdentity(t *testing.T) {
	m, err := Decode(strings.NewReader(`{"status":"firing","groupLabels":{"alertname":"X"},"alerts":[{"status":"firing","labels":{"alertname":"X","b":"1"},"startsAt":"2026-01-01T00:00:00+02:00"}]}`))
	require.NoError(t, err)
	require.Equal(t, `{}:{alertname="X"}`, m.GroupKey)
	require.Equal(t, Fingerprint(map[string]string{"b": "1", "alertname": "X"}), m.Alerts[0].Fingerprint)
	require.Len(t, m.Alerts[0].Fingerprint, 16)
	require.Equal(t, time.UTC, m.Alerts[0].StartsAt.Location())
	require.NotEqual(t, Fingerprint(map[string]string{"alertname": "X", "b": "2"}), m.Alerts[0].Fingerprint)
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"firing-group.json", "partly-resolved-group.json", "grafana.json", "newer-fields.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"status":"resolved","alerts":[{"status":"resolved","startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","labels":{"a":"b"}}]}`))
	f.Add([]byte(`{"status":"resolved","alerts":[{"status":"resolved","startsAt":"1970-01-01T00:00:00Z","endsAt":"9999-12-31T23:59:59Z","labels":{"a":"b"}}]}`))
	f.Add([]byte(`{"status":"firing","alerts":[{"status":"firing","startsAt":"1800-01-01T00:00:00+14:00","labels":{"a":"b"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Decode(bytes.NewReader(body))
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a DecodeError: %T %v", err, err)
			}
			return
		}
		// What Decode accepts, the store can rely on.
		if m.Status != StatusFiring && m.Status != StatusResolved {
			t.Fatalf("accepted status %q", m.Status)
		}
		if m.GroupKey == "" {
			t.Fatal("accepted without group key")
		}
		for _, a := range m.Alerts {
			if a.Fingerprint == "" || a.StartsAt.IsZero() {
				t.Fatalf("accepted alert without identity: %+v", a)
			}
			if a.Resolved() == a.EndsAt.IsZero() {
				t.Fatalf("resolved=%v but endsAt=%v", a.Resolved(), a.EndsAt)
			}
			// Every time fits int64 nanoseconds, and so does any difference of two.
			if a.StartsAt.Before(MinAlertTime) || a.StartsAt.After(time.Now().Add(MaxClockSkew)) ||
				a.Resolved() && (a.EndsAt.Before(a.StartsAt) || a.EndsAt.After(time.Now().Add(MaxClockSkew))) {
				t.Fatalf("accepted alert times outside the window: %v – %v", a.StartsAt, a.EndsAt)
			}
		}
	})
}

// FuzzDecodeFast: whatever the reflection-free decoder accepts, it must decode exactly as
// encoding/json does; whatever it declines goes to encoding/json, so only agreement on
// accepted input matters.
func FuzzDecodeFast(f *testing.F) {
	for _, name := range []string{"firing-group.json", "partly-resolved-group.json", "grafana.json", "newer-fields.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"status":"firing","groupKey":"{}:{a=\"b\\c\"}","truncatedAlerts":3,"orgId":-2,"alerts":[{"status":"firing","labels":{"é":"日本"},"startsAt":"2026-01-01T00:00:00.5+02:00"}]}`))
	var pool fastjson.ParserPool
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := decodeFast(&pool, body)
		if !ok {
			return
		}
		slow, err := decodeJSON(body)
		require.NoError(t, err, "decodeFast accepted what encoding/json rejects")
		require.Equal(t, slow, fast)
	})
}

// TestDecodeFastTakesAlertmanagersShape: the captures of real Alertmanager notifications
// (escaped quotes in the group key included) take the fast path; fields it does not know
// (newer-fields.json) are left to encoding/json.
func TestDecodeFastTakesAlertmanagersShape(t *testing.T) {
	var pool fastjson.ParserPool
	for _, name := range []string{"firing-group.json", "partly-resolved-group.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		fast, ok := decodeFast(&pool, b)
		require.True(t, ok, name)
		slow, err := decodeJSON(b)
		require.NoError(t, err)
		require.Equal(t, slow, fast, name)
	}
}

// BenchmarkDecode compares, side by side, the reflection-free path with encoding/json on a
// real Alertmanager capture.
func BenchmarkDecode(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "firing-group.json"))
	require.NoError(b, err)
	var pool fastjson.ParserPool
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, ok := decodeFast(&pool, body); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeJSON(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Alert times outside [MinAlertTime, now+MaxClockSkew] are refused naming the field:
// year 9999 wrapped around int64 nanoseconds, 1800 overflowed the metrics, a year ahead
// pinned an incident to the top of every list. 0001-01-01 and the Unix epoch mean unset.
func TestAlertTimesWindow(t *testing.T) {
	now := time.Now().UTC()
	body := func(status, starts, ends string) string {
		return `{"version":"4","status":"` + status + `","groupKey":"g","alerts":[{"status":"` + status + `","labels":{"alertname":"X"},"startsAt":"` + starts + `","endsAt":"` + ends + `"}]}`
	}
	ts := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	zero, epoch := "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z"
	for name, c := range map[string]struct{ status, starts, ends, field, reason string }{
		"year 9999":          {"firing", "9999-12-31T23:59:59Z", zero, "alerts[0].startsAt", "after incidentd's clock"},
		"year 2263":          {"firing", "2263-01-01T00:00:00Z", zero, "alerts[0].startsAt", "after incidentd's clock"},
		"a year ahead":       {"firing", ts(now.AddDate(1, 0, 0)), zero, "alerts[0].startsAt", "after incidentd's clock"},
		"1800":               {"firing", "1800-01-01T00:00:00Z", zero, "alerts[0].startsAt", "before 2000-01-01"},
		"epoch start":        {"firing", epoch, zero, "alerts[0].startsAt", "missing"},
		"epoch start +02:00": {"firing", "1970-01-01T02:00:00+02:00", zero, "alerts[0].startsAt", "missing"},
		"zero start":         {"firing", zero, zero, "alerts[0].startsAt", "missing"},
		"resolved epoch end": {"resolved", ts(now.Add(-time.Hour)), epoch, "alerts[0].endsAt", "needs its end time"},
		"resolved far end":   {"resolved", ts(now.Add(-time.Hour)), "9999-01-01T00:00:00Z", "alerts[0].endsAt", "after incidentd's clock"},
		"end before start":   {"resolved", ts(now.Add(-time.Hour)), ts(now.Add(-2 * time.Hour)), "alerts[0].endsAt", "before startsAt"},
	} {
		_, err := Decode(strings.NewReader(body(c.status, c.starts, c.ends)))
		var de *DecodeError
		require.ErrorAs(t, err, &de, name)
		require.Equal(t, c.field, de.Field, name)
		require.Contains(t, de.Reason, c.reason, name)
	}
	// Inside the window: a little clock skew, long-running alerts, epoch endsAt on a firing alert.
	for name, c := range map[string]struct{ status, starts, ends string }{
		"skew":          {"firing", ts(now.Add(30 * time.Minute)), zero},
		"epoch end":     {"firing", ts(now.Add(-time.Hour)), epoch},
		"expected end":  {"firing", ts(now.Add(-time.Hour)), ts(now.Add(4 * time.Hour))},
		"since 2001":    {"firing", "2001-01-01T00:00:00Z", zero},
		"resolved":      {"resolved", ts(now.Add(-time.Hour)), ts(now)},
		"instant alert": {"resolved", ts(now), ts(now)},
	} {
		m, err := Decode(strings.NewReader(body(c.status, c.starts, c.ends)))
		require.NoError(t, err, name)
		require.Equal(t, c.status == StatusFiring, m.Alerts[0].EndsAt.IsZero(), name)
	}
}
