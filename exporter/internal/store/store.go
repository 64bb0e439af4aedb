// Package store persists the exporter's state in an embedded bbolt file under
// --storage.path, so windows, counters and everything learnt survive a restart.
//
// Layout (one bucket each): "meta" (format version, label sets, folded and rejected
// counts, label results and labels waiting for their prediction), "models" (learnt schema
// per model version), "counters", "windows", "references" (the reference profile, its
// cumulative bin counts and the CBPE calibration) and "awaiting_labels" (predictions
// waiting for their ground truth, oldest first).
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/opscentre/opscentre/exporter/internal/performance"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// FileName is the database file inside the storage directory.
const FileName = "aiops_exporter.db"

const formatVersion = "1"

var (
	bucketMeta       = []byte("meta")
	bucketModels     = []byte("models")
	bucketCounters   = []byte("counters")
	bucketWindows    = []byte("windows")
	bucketReferences = []byte("references")
	bucketAwaiting   = []byte("awaiting_labels")
	allBuckets       = [][]byte{bucketMeta, bucketModels, bucketCounters, bucketWindows, bucketReferences, bucketAwaiting}
)

// Store is an open database.
type Store struct {
	db   *bolt.DB
	path string
}

// ErrDamaged marks a state file that cannot be read: truncated or overwritten. The exporter
// refuses to start on it rather than crash (bbolt maps the file into memory, and reading
// past a truncated end raises SIGBUS) or silently start empty: the file is left in place
// for the operator to inspect, restore from a backup, or move aside.
var ErrDamaged = errors.New("state file is damaged")

// damaged wraps the cause of a damaged file with the way out.
func damaged(path string, cause any) error {
	return fmt.Errorf("store: %w: %s: %v; nothing was changed. Restore it from a backup, or move it aside to start with empty state: mv %q %q",
		ErrDamaged, path, cause, path, path+".damaged")
}

// guard runs f, which reads the mapped file, turning a fault on the mapping (a truncated
// file) or a panic of bbolt (an overwritten page) into an ErrDamaged error instead of a
// crash.
func guard(path string, f func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = damaged(path, r)
		}
	}()
	return f()
}

// Open opens (creating if needed) the database in dir. bbolt locks the file, so a second
// exporter on the same directory fails here instead of corrupting it. A damaged file gives
// an error wrapping ErrDamaged.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: creating --storage.path %q: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	var db *bolt.DB
	err := guard(path, func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
		// Anything but the lock held elsewhere or the file system refusing is the file's
		// content: invalid or mismatched meta pages, a file too small to be a database.
		var pathErr *fs.PathError
		if err != nil && !errors.Is(err, bolterrors.ErrTimeout) && !errors.As(err, &pathErr) {
			return damaged(path, err)
		}
		return err
	})
	if err != nil {
		if errors.Is(err, ErrDamaged) {
			if db != nil {
				db.Close()
			}
			return nil, err
		}
		return nil, fmt.Errorf("store: opening %s (is another exporter using it?): %w", path, err)
	}
	err = guard(path, func() error {
		return db.Update(func(tx *bolt.Tx) error {
			// The file must hold every page the last transaction counted: a shorter file
			// was truncated, and reading the missing pages would fault.
			info, err := os.Stat(path)
			if err != nil {
				return err
			}
			if tx.Size() > info.Size() {
				return damaged(path, fmt.Errorf("truncated: %d bytes, its last transaction needs %d", info.Size(), tx.Size()))
			}
			for _, b := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			meta := tx.Bucket(bucketMeta)
			if v := meta.Get([]byte("format")); v != nil && string(v) != formatVersion {
				return fmt.Errorf("store format %q, this exporter reads %q", v, formatVersion)
			}
			return meta.Put([]byte("format"), []byte(formatVersion))
		})
	})
	if err != nil {
		db.Close()
		if errors.Is(err, ErrDamaged) {
			return nil, err
		}
		return nil, fmt.Errorf("store: initialising %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

type meta struct {
	Labels       map[string][]string   `json:"labels"`
	Folded       map[string]uint64     `json:"folded"`
	Rejected     []state.RejectedCount `json:"rejected"`
	LabelResults []state.LabelCount    `json:"label_results,omitempty"`
	Early        []state.EarlyLabels   `json:"early_labels,omitempty"`
}

// refRecord is a version's value in the references bucket.
type refRecord struct {
	Reference         *state.ReferenceSnapshot  `json:"reference,omitempty"`
	Calibration       *state.Calibration        `json:"calibration,omitempty"`
	CBPE              *performance.AccuracyCBPE `json:"cbpe,omitempty"`
	BinaryCalibration *state.BinaryCalibration  `json:"binary_calibration,omitempty"`
	BinaryCBPE        *performance.BinaryCBPE   `json:"binary_cbpe,omitempty"`
}

// key is model NUL version: neither may contain NUL in practice, and it sorts by model.
func key(model, version string) []byte { return []byte(model + "\x00" + version) }

// Save replaces the stored state with snap in one transaction.
func (s *Store) Save(snap *state.Snapshot) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketModels, bucketCounters, bucketWindows, bucketReferences, bucketAwaiting} {
			if err := tx.DeleteBucket(b); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return err
			}
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		m, err := json.Marshal(meta{Labels: snap.Labels, Folded: snap.Folded, Rejected: snap.Rejected, LabelResults: snap.LabelResults, Early: snap.Early})
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Put([]byte("state"), m); err != nil {
			return err
		}
		for _, v := range snap.Versions {
			k := key(v.Model, v.Version)
			if err := putJSON(tx.Bucket(bucketModels), k, v.Features); err != nil {
				return err
			}
			if err := putJSON(tx.Bucket(bucketCounters), k, v.Counters); err != nil {
				return err
			}
			if err := tx.Bucket(bucketWindows).Put(k, v.Window); err != nil {
				return err
			}
			if v.Reference != nil || v.Calibration != nil || v.BinaryCalibration != nil {
				rec := refRecord{v.Reference, v.Calibration, v.CBPE, v.BinaryCalibration, v.BinaryCBPE}
				if err := putJSON(tx.Bucket(bucketReferences), k, rec); err != nil {
					return err
				}
			}
			if len(v.Awaiting) > 0 {
				if err := tx.Bucket(bucketAwaiting).Put(k, encodeAwaiting(v.Awaiting)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: saving snapshot: %w", err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

// Load reads the stored state; an empty store gives an empty snapshot. A damaged file
// gives an error wrapping ErrDamaged.
func (s *Store) Load() (snap *state.Snapshot, err error) {
	err = guard(s.path, func() error {
		snap, err = s.load()
		return err
	})
	return snap, err
}

func (s *Store) load() (*state.Snapshot, error) {
	snap := &state.Snapshot{}
	err := s.db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bucketMeta).Get([]byte("state")); m != nil {
			var md meta
			if err := json.Unmarshal(m, &md); err != nil {
				return fmt.Errorf("meta: %w", err)
			}
			snap.Labels, snap.Folded, snap.Rejected = md.Labels, md.Folded, md.Rejected
			snap.LabelResults, snap.Early = md.LabelResults, md.Early
		}
		counters, windows := tx.Bucket(bucketCounters), tx.Bucket(bucketWindows)
		refs, awaiting := tx.Bucket(bucketReferences), tx.Bucket(bucketAwaiting)
		return tx.Bucket(bucketModels).ForEach(func(k, data []byte) error {
			model, version, ok := splitKey(k)
			if !ok {
				return fmt.Errorf("bad key %q", k)
			}
			vs := state.VersionSnapshot{Model: model, Version: version}
			if err := json.Unmarshal(data, &vs.Features); err != nil {
				return fmt.Errorf("models %s/%s: %w", model, version, err)
			}
			if c := counters.Get(k); c != nil {
				if err := json.Unmarshal(c, &vs.Counters); err != nil {
					return fmt.Errorf("counters %s/%s: %w", model, version, err)
				}
			}
			if w := windows.Get(k); w != nil {
				vs.Window = append(json.RawMessage(nil), w...)
			}
			if r := refs.Get(k); r != nil {
				var rec refRecord
				if err := json.Unmarshal(r, &rec); err != nil {
					return fmt.Errorf("references %s/%s: %w", model, version, err)
				}
				vs.Reference, vs.Calibration, vs.CBPE = rec.Reference, rec.Calibration, rec.CBPE
				vs.BinaryCalibration, vs.BinaryCBPE = rec.BinaryCalibration, rec.BinaryCBPE
			}
			if a := awaiting.Get(k); a != nil {
				var err error
				if vs.Awaiting, err = decodeAwaiting(a); err != nil {
					return fmt.Errorf("awaiting_labels %s/%s: %w", model, version, err)
				}
			}
			snap.Versions = append(snap.Versions, vs)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: loading: %w", err)
	}
	return snap, nil
}

func splitKey(k []byte) (string, string, bool) {
	for i, c := range k {
		if c == 0 {
			return string(k[:i]), string(k[i+1:]), true
		}
	}
	return "", "", false
}

// SaveReference stores a version's newly uploaded reference on its own, in a transaction as
// small as the reference: the calibration already stored is kept, and the version's learnt
// features are written only when the store does not know the version yet (the next
// snapshot writes the rest).
func (s *Store) SaveReference(model, version string, ref *state.ReferenceSnapshot, features []state.FeatureSnapshot) error {
	k := key(model, version)
	err := s.db.Update(func(tx *bolt.Tx) error {
		var rec refRecord
		if old := tx.Bucket(bucketReferences).Get(k); old != nil {
			if err := json.Unmarshal(old, &rec); err != nil {
				return fmt.Errorf("references %s/%s: %w", model, version, err)
			}
		}
		rec.Reference = ref
		if err := putJSON(tx.Bucket(bucketReferences), k, rec); err != nil {
			return err
		}
		if tx.Bucket(bucketModels).Get(k) == nil {
			if features == nil {
				features = []state.FeatureSnapshot{}
			}
			return putJSON(tx.Bucket(bucketModels), k, features)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: saving the reference of %s/%s: %w", model, version, err)
	}
	return nil
}
