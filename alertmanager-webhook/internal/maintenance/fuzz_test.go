package maintenance

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/matchers"
)

// FuzzNormalize feeds arbitrary matchers to a window as posted: it is refused with an
// error naming matchers, or accepted and then never covers every incident, and reads back
// from its JSON covering the same incidents.
func FuzzNormalize(f *testing.F) {
	f.Add(`{"team":"risk"}`)
	f.Add(`["team=\"risk\"", "severity=~\"P2|P3\""]`)
	f.Add(`["{model!~\"fraud-.*\",env!=\"\"}"]`)
	f.Add(`["team=~\".*\""]`)
	f.Fuzz(func(t *testing.T, ms string) {
		var in Input
		body := `{"matchers":` + ms + `,"ends_at":"` + now.Add(time.Hour).Format(time.RFC3339) + `","reason":"r"}`
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		w, err := Normalize(in, "fuzz", now)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "matchers") {
				t.Fatalf("error does not name matchers: %v", err)
			}
			return
		}
		if matchers.MatchesAll(w.Matchers.ms) {
			t.Fatalf("window %s covers every incident", w.Matchers)
		}
		b, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		var back Window
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s does not read back: %v", b, err)
		}
		probe := map[string]string{"team": "risk", "severity": "P2"}
		if back.Covers(probe, now) != w.Covers(probe, now) {
			t.Fatalf("%s covers differently after reading back", b)
		}
	})
}
