package audit

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func chain(n int) []Entry {
	var out []Entry
	prev := ""
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		e := Entry{Seq: int64(i), At: t0.Add(time.Duration(i) * time.Second), Actor: "alice", Action: "incident.ack", Object: "incident/1",
			Before: json.RawMessage(`{"state":"detected"}`), After: json.RawMessage(`{"state":"triaged"}`)}
		Seal(&e, prev)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func verify(es []Entry, headSeq int64, head string) Verification {
	var v Verifier
	for _, e := range es {
		v.Add(e)
	}
	return v.Result(headSeq, head)
}

func TestVerifyDetectsTampering(t *testing.T) {
	es := chain(5)
	ok := verify(es, 5, es[4].Hash)
	require.True(t, ok.OK, ok.Problem)
	require.Equal(t, int64(5), ok.Entries)

	changed := append([]Entry(nil), es...)
	changed[2].Actor = "mallory"
	v := verify(changed, 5, es[4].Hash)
	require.False(t, v.OK)
	require.Equal(t, int64(3), v.FirstBad)

	removed := append(append([]Entry(nil), es[:2]...), es[3:]...)
	v = verify(removed, 5, es[4].Hash)
	require.False(t, v.OK)
	require.Equal(t, int64(4), v.FirstBad)

	v = verify(es[:4], 5, es[4].Hash)
	require.False(t, v.OK, "truncated tail")

	resealed := append([]Entry(nil), es...)
	resealed[1].After = json.RawMessage(`{"state":"resolved"}`)
	resealed[1].Hash = Sum(resealed[1]) // attacker recomputes this hash but cannot fix the links after it
	v = verify(resealed, 5, es[4].Hash)
	require.False(t, v.OK)
	require.Equal(t, int64(3), v.FirstBad)
}
