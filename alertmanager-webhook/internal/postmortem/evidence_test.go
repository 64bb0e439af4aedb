package postmortem

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/evidence"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

func TestRootCause(t *testing.T) {
	for text, want := range map[string]string{
		"# Post-mortem\n\n## Root cause\n\nThe ETL switched\namounts to cents.\n\n## What went well\n\nx\n":       "The ETL switched amounts to cents.",
		"## Root cause\n\n_What in the system, its data or its process made this possible?_\n\n## Action items\n": "",
		"## Summary\n\nno root cause section\n": "",
		"## ROOT CAUSE\nA canary\n":             "A canary",
	} {
		require.Equal(t, want, RootCause(text), text)
	}
	long := RootCause("## Root cause\n" + strings.Repeat("é", 400))
	require.LessOrEqual(t, len(long), MaxRootCause+len("…"))
	require.True(t, strings.HasSuffix(long, "…"))
	require.True(t, strings.ToValidUTF8(long, "?") == long, "cut on a rune boundary")
}

func TestDraftWhatWeKnewAtDetection(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	d := &store.Detail{Incident: incidentapi.Incident{ID: 4, Title: "drift", Model: "fraud", DetectedAt: t0}}
	now, before := 0.8, 0.02
	r := &evidence.Report{Model: "fraud", At: t0, Window: "10m", Baseline: "1h", Queries: 12, Causes: []evidence.Cause{
		{Name: evidence.InputsChanged, Verdict: evidence.Supported, Reason: "drifted: amount",
			Findings: []evidence.Finding{{Name: "drifted feature amount", Now: &now, Before: &before, Query: "max by (feature) (x)"}}},
		{Name: evidence.Capacity, Verdict: evidence.NotSupported, Reason: "p95 latency steady"},
		{Name: evidence.ExternalAPI, Verdict: evidence.Unknown, Reason: "a query failed"},
	}}
	text := Draft(Input{Incident: d, Now: t0, Evidence: r})
	i := strings.Index(text, "## What we knew at detection")
	require.Positive(t, i)
	sec := text[i:strings.Index(text, "## Containment")]
	require.Contains(t, sec, "**inputs changed** supported: drifted: amount")
	require.Contains(t, sec, "drifted feature amount: now 0.8, before 0.02")
	require.Contains(t, sec, "`max by (feature) (x)`")
	require.Contains(t, sec, "capacity not supported; external api change unknown")

	text = Draft(Input{Incident: d, Now: t0})
	require.Contains(t, text, "No evidence was gathered for this incident")
}

// FuzzRootCause: any text gives a bounded line, valid UTF-8 when the text is, never a panic.
func FuzzRootCause(f *testing.F) {
	f.Add("## Root cause\n\nThe ETL switched.\n## Action items\n")
	f.Add("## root cause\n" + strings.Repeat("日本", 200))
	f.Add("# x\n## Root cause")
	f.Fuzz(func(t *testing.T, text string) {
		got := RootCause(text)
		if len(got) > MaxRootCause+len("…") {
			t.Fatalf("%d bytes", len(got))
		}
		if strings.ToValidUTF8(text, "") == text && strings.ToValidUTF8(got, "") != got {
			t.Fatalf("invalid UTF-8 from valid text: %q", got)
		}
		if strings.Contains(got, "\n") {
			t.Fatalf("not one line: %q", got)
		}
	})
}
