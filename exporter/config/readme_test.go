package config

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// The configuration example in exporter/README.md must stay valid.
func TestReadmeExampleParses(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(data, -1)
	require.NotEmpty(t, blocks, "no yaml block in exporter/README.md")
	for _, b := range blocks {
		c, err := Parse(b[1])
		require.NoError(t, err, "%s", b[1])
		require.NotEmpty(t, c.Models)
	}
}
