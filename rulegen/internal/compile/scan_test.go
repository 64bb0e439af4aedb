package compile

import (
	"fmt"
	"strings"
)

func splitFields(s string) []string { return strings.Fields(s) }

// scan matches tok against format exactly (fmt.Sscanf alone accepts trailing text).
func scan(tok, format string, args ...any) bool {
	n, err := fmt.Sscanf(tok, format, args...)
	if err != nil || n != len(args) {
		return false
	}
	return fmt.Sprintf(strings.NewReplacer("%g", "%v").Replace(format), derefAll(args)...) == tok
}

func derefAll(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch p := a.(type) {
		case *float64:
			out[i] = *p
		case *int:
			out[i] = *p
		}
	}
	return out
}
