package inflight

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A body that would take the budget past its bound fails with ErrBusy, the answer becomes
// 503 with Retry-After whatever the handler wrote, and the bytes come back at the end of
// the request.
func TestHandlerRefusesPastBudget(t *testing.T) {
	b := New(100, 3)
	var seen error
	h := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, seen = io.ReadAll(r.Body)
		if seen != nil {
			http.Error(w, "reading body: "+seen.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 100))))
	require.Equal(t, http.StatusOK, rec.Code)
	require.NoError(t, seen)
	require.Zero(t, b.Used(), "released at the end of the request")

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 101))))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "3", rec.Header().Get("Retry-After"))
	require.True(t, errors.Is(seen, ErrBusy))
	require.NotContains(t, rec.Body.String(), "reading body", "the handler's own answer is replaced")
	require.Zero(t, b.Used())
	require.EqualValues(t, 1, b.Refused())
}

// Bytes held by one request count against the others; decoded bytes wrapped by the
// handler count too.
func TestTicketsShareTheBudget(t *testing.T) {
	b := New(1000, 1)
	t1, t2 := &Ticket{b: b}, &Ticket{b: b}
	_, err := io.ReadAll(t1.Wrap(bytes.NewReader(make([]byte, 600))))
	require.NoError(t, err)
	require.EqualValues(t, 600, b.Used())
	_, err = io.ReadAll(t2.Wrap(bytes.NewReader(make([]byte, 600))))
	require.ErrorIs(t, err, ErrBusy)
	t1.release()
	t2.release()
	require.Zero(t, b.Used())
	var nilTicket *Ticket
	r := strings.NewReader("x")
	require.Equal(t, io.Reader(r), nilTicket.Wrap(r))
}

// A streaming reader holds only its window: a body larger than the whole budget passes.
func TestStreamHoldsOnlyItsWindow(t *testing.T) {
	b := New(1000, 1)
	tk := &Ticket{b: b}
	tk.Stream(300)
	r := tk.Wrap(bytes.NewReader(make([]byte, 5000)))
	buf := make([]byte, 100)
	for {
		_, err := r.Read(buf)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.LessOrEqual(t, b.Used(), int64(300))
	}
	tk.release()
	require.Zero(t, b.Used())
}
