package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/textquality"
)

// TestPrometheusComputesCorpusBLEU posts answers with reference answers to the exporter
// binary, has the real Prometheus 2 and 3 scrape it, and checks that the documented PromQL
// of corpus BLEU over the exporter's counters equals NLTK's corpus_bleu on the same answers
// (textquality/testdata/bleu-vectors.json, computed by NLTK 3.8).
func TestPrometheusComputesCorpusBLEU(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "textquality", "testdata", "bleu-vectors.json"))
	require.NoError(t, err)
	var v struct {
		Corpus struct {
			Candidates [][]string   `json:"candidates"`
			References [][][]string `json:"references"`
			BLEU       float64      `json:"bleu"`
		} `json:"corpus_single_reference"`
	}
	require.NoError(t, json.Unmarshal(raw, &v))
	require.NotEmpty(t, v.Corpus.Candidates)

	e := startExporter(t, "--storage.path="+filepath.Join(t.TempDir(), "data"))
	var events []string
	for i, cand := range v.Corpus.Candidates {
		ev, err := json.Marshal(map[string]string{"model": "assistant", "output_text": strings.Join(cand, " "),
			"reference_answer": strings.Join(v.Corpus.References[i][0], " ")})
		require.NoError(t, err)
		events = append(events, string(ev))
	}
	status, body := e.post(t, []byte("["+strings.Join(events, ",")+"]"), nil)
	require.Equal(t, http.StatusOK, status, body)

	for _, major := range []int{2, 3} {
		t.Run(fmt.Sprintf("prometheus%d", major), func(t *testing.T) {
			addr := startPrometheus(t, major, e.url)
			q := textquality.PromQLCorpusBLEU("", "model, version", "")
			var got map[string]float64
			require.Eventually(t, func() bool {
				got = promVector(addr, q)
				return len(got) == 1
			}, 60*time.Second, 500*time.Millisecond, "Prometheus never returned corpus BLEU: %v", got)
			for _, bleu := range got {
				require.InDelta(t, v.Corpus.BLEU, bleu, 1e-9, "PromQL %s", q)
			}
		})
	}
}
