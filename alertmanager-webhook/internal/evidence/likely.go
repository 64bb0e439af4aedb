package evidence

import (
	"strings"
	"unicode/utf8"
)

// MaxLikelyCauses bounds the "likely causes" line a notification carries.
const MaxLikelyCauses = 300

// LikelyCauses is the one line a first page carries: the supported causes with their
// reasons, most telling first (report order), cut to MaxLikelyCauses bytes; "" when no
// cause is supported. It holds only cause names, feature and version names and numbers.
func LikelyCauses(r Report) string {
	var parts []string
	for _, c := range r.Causes {
		if c.Verdict == Supported {
			parts = append(parts, strings.ReplaceAll(c.Name, "_", " ")+" ("+strings.Join(strings.Fields(c.Reason), " ")+")")
		}
	}
	s := strings.Join(parts, "; ")
	if len(s) > MaxLikelyCauses {
		cut := MaxLikelyCauses - len("…")
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
