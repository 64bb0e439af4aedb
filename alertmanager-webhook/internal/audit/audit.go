// Package audit defines the append-only audit log's entries and its hash chain.
//
// Each entry carries the hash of the one before it, and its own hash covers its content and
// that link, so changing, removing or reordering any stored entry breaks every later hash.
// Storage lives in the store package; this package only knows how to hash and verify.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Entry is one audited change.
type Entry struct {
	Seq      int64           `json:"seq"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Object   string          `json:"object"`
	Before   json.RawMessage `json:"before,omitempty"`
	After    json.RawMessage `json:"after,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// canonical is what is hashed: every field but the hash itself, with the time as integer
// nanoseconds so that storage round trips cannot change it.
type canonical struct {
	Seq    int64           `json:"seq"`
	At     int64           `json:"at"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	Object string          `json:"object"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
	Prev   string          `json:"prev"`
}

// Sum computes the hash of e, chained to e.PrevHash.
func Sum(e Entry) string {
	c := canonical{Seq: e.Seq, At: e.At.UnixNano(), Actor: e.Actor, Action: e.Action, Object: e.Object,
		Before: nullIfEmpty(e.Before), After: nullIfEmpty(e.After), Prev: e.PrevHash}
	b, err := json.Marshal(c)
	if err != nil {
		// Only RawMessage that is not valid JSON can fail; the store only writes marshalled JSON.
		b = fmt.Appendf(nil, "%#v", c)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func nullIfEmpty(m json.RawMessage) json.RawMessage {
	if len(m) == 0 {
		return json.RawMessage("null")
	}
	return m
}

// Seal fills e's PrevHash and Hash given the previous entry's hash.
func Seal(e *Entry, prev string) {
	e.PrevHash = prev
	e.Hash = Sum(*e)
}

// Verification is the result of checking a chain.
type Verification struct {
	OK       bool   `json:"ok"`
	Entries  int64  `json:"entries"`
	FirstBad int64  `json:"first_bad_seq,omitempty"`
	Problem  string `json:"problem,omitempty"`
	Head     string `json:"head"`
}

// Verifier checks entries fed in sequence order.
type Verifier struct {
	v    Verification
	prev string
	seq  int64
}

// Add checks the next entry; after the first problem later entries are ignored.
func (vf *Verifier) Add(e Entry) {
	if vf.v.Problem != "" {
		return
	}
	vf.v.Entries++
	switch {
	case e.Seq != vf.seq+1:
		vf.fail(e.Seq, fmt.Sprintf("sequence jumps from %d to %d: entries removed or inserted", vf.seq, e.Seq))
	case e.PrevHash != vf.prev:
		vf.fail(e.Seq, "prev_hash does not match the previous entry's hash")
	case Sum(e) != e.Hash:
		vf.fail(e.Seq, "hash does not match the entry's content: entry changed")
	}
	vf.seq = e.Seq
	vf.prev = e.Hash
}

func (vf *Verifier) fail(seq int64, p string) {
	vf.v.FirstBad = seq
	vf.v.Problem = p
}

// Result finishes verification; head is the hash the store records as the chain's last,
// so truncating the tail is detected too.
func (vf *Verifier) Result(headSeq int64, head string) Verification {
	if vf.v.Problem == "" && (headSeq != vf.seq || head != vf.prev) {
		vf.fail(vf.seq+1, fmt.Sprintf("chain ends at %d but the head records %d: entries removed from the end", vf.seq, headSeq))
	}
	vf.v.OK = vf.v.Problem == ""
	vf.v.Head = vf.prev
	return vf.v
}
