// Package docs tests the project's Markdown as a reader meets it: every relative link leads
// to a file in the repository, and every #anchor to a heading of the file it names.
package docs

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/test/testbin"
)

// link matches an inline Markdown link or image target: [text](target) or [text](target "title").
var link = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

func TestRelativeLinksResolve(t *testing.T) {
	root := testbin.RepoRoot(t)
	out, err := exec.Command("git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard", "*.md").Output()
	require.NoError(t, err)
	files := strings.Fields(string(out))
	require.NotEmpty(t, files)
	anchors := map[string]map[string]bool{}
	checked := 0
	for _, f := range files {
		if strings.Contains(f, "node_modules/") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		require.NoError(t, err)
		for i, line := range strings.Split(stripCode(string(b)), "\n") {
			for _, m := range link.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				checked++
				path, frag, _ := strings.Cut(target, "#")
				resolved := filepath.Join(root, f)
				if path != "" {
					resolved = filepath.Join(filepath.Dir(resolved), path)
					if _, err := os.Stat(resolved); err != nil {
						t.Errorf("%s:%d: link %q: %s does not exist", f, i+1, target, rel(root, resolved))
						continue
					}
				}
				if frag == "" || !strings.HasSuffix(resolved, ".md") {
					continue
				}
				if anchors[resolved] == nil {
					anchors[resolved] = headings(t, resolved)
				}
				if !anchors[resolved][frag] {
					t.Errorf("%s:%d: link %q: %s has no heading for #%s", f, i+1, target, rel(root, resolved), frag)
				}
			}
		}
	}
	require.Positive(t, checked, "no relative link found: is the pattern broken?")
}

func rel(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return r
}

// stripCode blanks fenced code blocks and inline code spans, where brackets are code and
// not links; line numbers stay.
func stripCode(s string) string {
	lines := strings.Split(s, "\n")
	fenced := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			lines[i] = ""
			continue
		}
		if fenced {
			lines[i] = ""
			continue
		}
		lines[i] = inlineCode.ReplaceAllString(l, "``")
	}
	return strings.Join(lines, "\n")
}

var inlineCode = regexp.MustCompile("`[^`]*`")

// headings returns the anchors GitHub gives a file's headings: lower case, punctuation
// other than '-' and '_' dropped, spaces turned into '-', repeats numbered -1, -2, ….
func headings(t *testing.T, path string) map[string]bool {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	out := map[string]bool{}
	count := map[string]int{}
	for _, l := range strings.Split(stripFences(string(b)), "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(l, "#"))
		var sb strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				sb.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 && !isPunct(r):
				sb.WriteRune(r)
			}
		}
		a := sb.String()
		if n := count[a]; n > 0 {
			out[a+"-"+itoa(n)] = true
		} else {
			out[a] = true
		}
		count[a]++
	}
	return out
}

func stripFences(s string) string {
	lines := strings.Split(s, "\n")
	fenced := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			lines[i] = ""
		} else if fenced {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// isPunct covers the non-ASCII punctuation that appears in this project's headings.
func isPunct(r rune) bool { return strings.ContainsRune("—–·→…’“”", r) }

// mention matches a Markdown file named in prose or a comment: README.md, exporter/drift/README.md.
var mention = regexp.MustCompile(`(?:^|[\s(\x60'"])((?:\.\./)*(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_-]+\.md)\b`)

// A document or a comment that names a Markdown file sends its reader there: the file must be
// in the repository (beside the one naming it, or at that path from the top), so that the
// project's docs stand alone.
func TestMentionedDocumentsExist(t *testing.T) {
	root := testbin.RepoRoot(t)
	out, err := exec.Command("git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard", "*.md", "*.go", "*.yml", "*.yaml", "*.sh").Output()
	require.NoError(t, err)
	// A bare file name (CATALOG.md, which rulegen writes into every output directory) may
	// name any file of that name in the repository.
	all, err := exec.Command("git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard").Output()
	require.NoError(t, err)
	base := map[string]bool{}
	for _, f := range strings.Fields(string(all)) {
		base[filepath.Base(f)] = true
	}
	checked := 0
	for _, f := range strings.Fields(string(out)) {
		if strings.Contains(f, "node_modules/") || strings.HasPrefix(f, "CHANGELOG") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		require.NoError(t, err)
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range mention.FindAllStringSubmatch(line, -1) {
				name := m[1]
				checked++
				if exists(filepath.Join(root, filepath.Dir(f), name)) || exists(filepath.Join(root, name)) ||
					!strings.Contains(name, "/") && base[name] {
					continue
				}
				t.Errorf("%s:%d: names %s, which is not in the repository", f, i+1, name)
			}
		}
	}
	require.Positive(t, checked)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func itoa(n int) string { return strconv.Itoa(n) }
