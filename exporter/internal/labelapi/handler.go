package labelapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/opscentre/opscentre/exporter/internal/inflight"
	"github.com/opscentre/opscentre/exporter/internal/ingest"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// Handler serves POST /api/v1/labels.
type Handler struct {
	st     *state.State
	logger *slog.Logger
}

// New returns a handler joining labels into st.
func New(st *state.State, logger *slog.Logger) *Handler {
	return &Handler{st: st, logger: logger}
}

// Apply joins decoded labels into the state and adds the rejections of labels the state
// refuses (an unknown model under unknown_models: reject, a value label for a class
// prediction) to res.
func (h *Handler) Apply(items []Item, res *ingest.Result) {
	for _, it := range items {
		_, resolution, err := h.st.ApplyLabel(it.Model, it.Version, &it.Label)
		var rej *ingest.Rejection
		switch {
		case resolution == state.UnknownModel:
			rej = &ingest.Rejection{Field: "model", Reason: ingest.ReasonUnknownModel, Message: fmt.Sprintf("model %q is not configured and unknown_models is reject", truncate(it.Model))}
		case resolution == state.UnknownVersion:
			rej = &ingest.Rejection{Field: "version", Reason: ingest.ReasonUnknownVersion, Message: fmt.Sprintf("version %q of model %q is not configured and unknown_models is reject", truncate(it.Version), truncate(it.Model))}
		case errors.Is(err, state.ErrLabelKind):
			rej = &ingest.Rejection{Field: "value", Reason: ingest.ReasonTypeMismatch, Message: err.Error()}
		case err != nil:
			rej = &ingest.Rejection{Field: "id", Reason: ingest.ReasonInvalidValue, Message: err.Error()}
		}
		if rej != nil {
			rej.Index = it.Index
			h.st.CountLabel(state.Unknown, state.Unknown, state.LabelRejected)
			res.Rejected = append(res.Rejected, *rej)
			continue
		}
		res.Accepted++
	}
}

// ServeHTTP handles POST /api/v1/labels.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{"use POST to send labels"})
		return
	}
	ndjson, status, err := contentType(r.Header.Get("Content-Type"))
	if err != nil {
		writeJSON(w, status, errorBody{err.Error()})
		return
	}
	cfg := h.st.Config()
	var body inflight.Body
	if _, _, err := body.Read(r, int64(cfg.Limits.MaxBodyBytes)); err != nil {
		msg := err.Error()
		if errors.Is(err, inflight.ErrTooLarge) {
			msg += "; split the batch"
		}
		writeJSON(w, inflight.Status(err), errorBody{msg})
		return
	}
	data := body.Buf.Bytes()
	items, rejected, err := Decode(data, ndjson, Limits{Now: h.st.Now(), MaxClockSkew: time.Duration(cfg.Limits.MaxClockSkew)})
	if err != nil {
		h.st.CountLabel(state.Unknown, state.Unknown, state.LabelRejected)
		writeJSON(w, http.StatusBadRequest, errorBody{err.Error()})
		return
	}
	for range rejected {
		h.st.CountLabel(state.Unknown, state.Unknown, state.LabelRejected)
	}
	res := ingest.Result{Rejected: rejected}
	h.Apply(items, &res)
	if res.Rejected == nil {
		res.Rejected = []ingest.Rejection{}
	}
	writeJSON(w, http.StatusOK, res)
}

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func contentType(ct string) (ndjson bool, status int, err error) {
	if ct == "" {
		return false, 0, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false, http.StatusUnsupportedMediaType, fmt.Errorf("bad Content-Type %q: %w", ct, err)
	}
	switch mt {
	case "application/json", "text/plain", "application/x-www-form-urlencoded":
		return false, 0, nil
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		return true, 0, nil
	}
	return false, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Type %q is not supported; use application/json or application/x-ndjson", mt)
}
