package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	st := state.New(config.Default(), state.Options{Now: func() time.Time { return now }})
	for _, mv := range [][2]string{{"a", "v1"}, {"a", "v2"}, {"b", ""}} {
		v, _ := st.Resolve([]byte(mv[0]), []byte(mv[1]))
		v.Apply(&state.Event{Time: now, Outcome: 0, Feedback: -1, HasLatency: true, Latency: 0.2, ErrorType: []byte("boom"),
			Features: []state.FeatureValue{{Name: []byte("x"), Type: config.Numeric, Num: 1}, {Name: []byte("c"), Type: config.Categorical, Str: []byte("red")}}}, nil)
	}
	st.Reject(state.Unknown, state.Unknown, "invalid_json")
	snap, err := st.Snapshot()
	require.NoError(t, err)

	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, s.Save(snap))
	// A second save replaces rather than adds.
	require.NoError(t, s.Save(snap))
	require.NoError(t, s.Close())

	s, err = Open(dir)
	require.NoError(t, err)
	defer s.Close()
	back, err := s.Load()
	require.NoError(t, err)
	require.Equal(t, snap.Labels, back.Labels)
	require.Equal(t, snap.Folded, back.Folded)
	require.ElementsMatch(t, snap.Rejected, back.Rejected)
	require.Len(t, back.Versions, 3)

	st2 := state.New(config.Default(), state.Options{Now: func() time.Time { return now }})
	require.NoError(t, st2.Restore(back))
	for i, v := range st2.Versions() {
		require.Equal(t, st.Versions()[i].Read(now), v.Read(now))
	}

	// The reserved buckets exist for the next features.
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			require.NotNil(t, tx.Bucket(b), string(b))
		}
		return nil
	}))
}

func TestEmptyAndBadStores(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	snap, err := s.Load()
	require.NoError(t, err)
	require.Empty(t, snap.Versions)

	// Corrupt records are reported with what they are, not loaded half-way.
	require.NoError(t, s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketModels).Put(key("m", "v"), []byte("{not json"))
	}))
	_, err = s.Load()
	require.ErrorContains(t, err, "models m/v")

	require.NoError(t, s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte("format"), []byte("99"))
	}))
	require.NoError(t, s.Close())
	_, err = Open(dir)
	require.ErrorContains(t, err, `store format "99", this exporter reads "1"`)
}
