// Package refapi serves the reference (baseline) of each model version over HTTP: upload one
// as CSV, as NDJSON of events or as a saved profile, export it, and list them all. Drift is
// measured against the reference, so an upload replaces the version's drift counts.
package refapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/exporter/internal/inflight"
	"github.com/opscentre/opscentre/exporter/internal/reference"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// MaxUploadBytes bounds an uploaded reference file. Files are read as a stream into a
// bounded profile, so this only stops a runaway upload.
const MaxUploadBytes = 1 << 30

// streamWindow is what a CSV or NDJSON upload holds of its body at a time, for the
// in-flight budget: a line (reference.Options.MaxLineBytes, 1 MiB) and the reader's buffers.
const streamWindow = 2 << 20

// API serves the reference endpoints.
type API struct {
	st     *state.State
	logger *slog.Logger
	// saved persists the uploaded reference of a version, so it survives a crash right after.
	// It writes that reference only: a full snapshot per upload would let uploads keep the
	// store busy for as long as the whole state takes to save.
	saved func(*state.Version) error
}

// New returns the API over st; saved (may be nil) is called after each upload.
func New(st *state.State, logger *slog.Logger, saved func(*state.Version) error) *API {
	return &API{st: st, logger: logger, saved: saved}
}

// Register adds the routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("PUT /api/v1/models/{model}/versions/{version}/reference", a.put)
	mux.HandleFunc("GET /api/v1/models/{model}/versions/{version}/reference", a.get)
	mux.HandleFunc("GET /api/v1/references", a.list)
}

// UploadResult answers an upload.
type UploadResult struct {
	state.ReferenceInfo
	// Warnings name features that are too small to be judged (their drift metrics report
	// reason reference_too_small).
	Warnings []string `json:"warnings"`
}

// ErrorBody is the answer to a failed request; a bad row names its row, line and column.
type ErrorBody struct {
	Error  string `json:"error"`
	Row    int    `json:"row,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column string `json:"column,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxNameLen bounds model and version names, as for events.
const maxNameLen = 256

// checkName validates a model or version name from the path as the events endpoint does:
// it becomes a label value, so it must be valid UTF-8 without NUL and at most 256 bytes.
func checkName(field, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s must not be empty", field)
	case len(s) > maxNameLen:
		return fmt.Errorf("%s is %d bytes long; at most %d allowed", field, len(s), maxNameLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", field)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%s contains NUL", field)
	}
	return nil
}

// pathNames reads and validates the model and version of the path.
func pathNames(w http.ResponseWriter, r *http.Request) (model, version string, ok bool) {
	model, version = r.PathValue("model"), r.PathValue("version")
	for _, c := range []struct{ field, value string }{{"model", model}, {"version", version}} {
		if err := checkName(c.field, c.value); err != nil {
			writeJSON(w, http.StatusBadRequest, ErrorBody{Error: err.Error(), Column: c.field})
			return "", "", false
		}
	}
	return model, version, true
}

func (a *API) put(w http.ResponseWriter, r *http.Request) {
	model, version, ok := pathNames(w, r)
	if !ok {
		return
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		writeJSON(w, http.StatusUnsupportedMediaType, ErrorBody{Error: fmt.Sprintf("Content-Type %q: use text/csv, application/x-ndjson (events) or application/json (a saved profile)", ct)})
		return
	}
	lim := a.st.Config().Limits
	limits := reference.Limits{MaxFeatures: lim.MaxFeaturesPerModel, MaxCategories: lim.MaxCategoriesPerFeat}
	// The prediction is one column more than the input features.
	opts := reference.Options{Ignore: splitList(r.URL.Query().Get("ignore")), MaxFeatures: limits.MaxFeatures + 1}
	for _, c := range splitList(r.URL.Query().Get("categorical")) {
		if opts.Kinds == nil {
			opts.Kinds = map[string]drift.Kind{}
		}
		opts.Kinds[c] = drift.Categorical
	}
	body := http.MaxBytesReader(w, r.Body, MaxUploadBytes)
	// CSV and NDJSON are read row by row into a bounded profile: only the current line
	// counts against the in-flight budget. A saved profile is decoded whole, so all of it
	// counts.
	stream := inflight.FromContext(r.Context()).Stream
	var p *drift.Profile
	switch mt {
	case "text/csv", "application/csv":
		stream(streamWindow)
		p, err = reference.ReadCSV(body, opts)
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		stream(streamWindow)
		p, err = reference.ReadNDJSON(body, opts)
	case "application/json":
		p, err = reference.ReadProfile(body)
	default:
		writeJSON(w, http.StatusUnsupportedMediaType, ErrorBody{Error: fmt.Sprintf("Content-Type %q: use text/csv, application/x-ndjson (events) or application/json (a saved profile)", mt)})
		return
	}
	if err != nil {
		eb := ErrorBody{Error: "reference not loaded, nothing changed: " + err.Error()}
		var re *reference.RowError
		if errors.As(err, &re) {
			eb.Row, eb.Line, eb.Column = re.Row, re.Line, re.Column
		}
		status := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, status, eb)
		return
	}
	if len(p.Features) == 0 && p.Embedding == nil {
		writeJSON(w, http.StatusBadRequest, ErrorBody{Error: "reference not loaded: it holds no feature and no embedding"})
		return
	}
	folded, err := reference.Bound(p, limits)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorBody{Error: "reference not loaded, nothing changed: " + err.Error()})
		return
	}
	v, res := a.st.Resolve([]byte(model), []byte(version))
	switch res {
	case state.UnknownModel:
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: fmt.Sprintf("model %q is not configured and unknown_models is reject", model)})
		return
	case state.UnknownVersion:
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: fmt.Sprintf("version %q of model %q is not configured and unknown_models is reject", version, model)})
		return
	}
	if v.Model() != model || v.Name != version {
		writeJSON(w, http.StatusConflict, ErrorBody{Error: fmt.Sprintf("%s/%s is past the model or version limit (it would be %s/%s); raise limits.max_models or max_versions_per_model", model, version, v.Model(), v.Name)})
		return
	}
	small := v.SetReference(p, state.SourceUpload)
	out := UploadResult{Warnings: []string{}}
	out.ReferenceInfo, _ = v.ReferenceInfo()
	for _, f := range small {
		out.Warnings = append(out.Warnings, fmt.Sprintf("feature %q has fewer than 30 non-null rows: its drift is not judged (reason reference_too_small)", f))
	}
	if folded > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%d categories past limits.max_categories_per_feature (%d) or not valid UTF-8 were folded into bin %s", folded, limits.MaxCategories, drift.UnseenBin))
		a.st.FoldN(state.LabelBin, folded)
	}
	a.logger.Info("reference uploaded", "model", model, "version", version, "features", len(p.Features), "rows", out.Rows)
	if a.saved != nil {
		if err := a.saved(v); err != nil {
			a.logger.Error("saving state after a reference upload", "err", err)
			writeJSON(w, http.StatusInternalServerError, ErrorBody{Error: "reference loaded but not saved (it is kept until the next snapshot): " + err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) find(model, version string) *state.Version {
	for _, v := range a.st.Versions() {
		if v.Model() == model && v.Name == version {
			return v
		}
	}
	return nil
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	model, version, ok := pathNames(w, r)
	if !ok {
		return
	}
	v := a.find(model, version)
	var p *drift.Profile
	if v != nil {
		p = v.Reference()
	}
	if p == nil {
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: fmt.Sprintf("no reference for %s/%s", model, version)})
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "reference-"+model+"-"+version+".json"))
	writeJSON(w, http.StatusOK, p)
}

func (a *API) list(w http.ResponseWriter, _ *http.Request) {
	out := []state.ReferenceInfo{}
	for _, v := range a.st.Versions() {
		if info, ok := v.ReferenceInfo(); ok {
			out = append(out, info)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"references": out})
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
