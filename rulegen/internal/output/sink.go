package output

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Sink receives generated files one at a time; path is relative to the output directory,
// with forward slashes.
type Sink interface {
	File(path string, b []byte) error
}

// File keeps a file in memory.
func (f Files) File(path string, b []byte) error {
	f[path] = b
	return nil
}

// Discard counts files and keeps nothing: `rulegen check` validates without writing.
type Discard struct{}

func (Discard) File(string, []byte) error { return nil }

// Dir writes files into the output directory once the whole spec has compiled, so a run
// that fails leaves the directory as it was; Commit also removes generated files of the same
// kinds that are no longer produced (a renamed alert leaves no stale rules behind). Files are
// held in memory up to dirMemory bytes and written in place on Commit; past that, they go
// to a staging directory inside the output directory as they come and are moved into place
// on Commit, so memory stays bounded however large the spec (writing then renaming every
// file costs more system time, hence the buffer for ordinary sizes).
type Dir struct {
	dir, stage string
	held       []heldFile
	heldBytes  int
	memory     int // dirMemory; tests make it small
	paths      []string
	made       map[string]bool
}

type heldFile struct {
	path string
	b    []byte
}

// dirMemory bounds the bytes Dir holds before staging on disk: about 2,500 SLOs' rule and
// test files.
const dirMemory = 32 << 20

// stagePrefix names staging directories, which listings of generated files skip.
const stagePrefix = ".rulegen-stage-"

// NewDir prepares writing into dir; nothing is created before the first file that does not
// fit in memory, or Commit.
func NewDir(dir string) (*Dir, error) {
	return &Dir{dir: dir, memory: dirMemory, made: map[string]bool{}}, nil
}

func (d *Dir) File(path string, b []byte) error {
	d.paths = append(d.paths, path)
	if d.stage == "" && d.heldBytes+len(b) <= d.memory {
		d.held = append(d.held, heldFile{path, b})
		d.heldBytes += len(b)
		return nil
	}
	if d.stage == "" {
		if err := os.MkdirAll(d.dir, 0o755); err != nil {
			return fmt.Errorf("creating output directory: %w", err)
		}
		stage, err := os.MkdirTemp(d.dir, stagePrefix)
		if err != nil {
			return fmt.Errorf("creating staging directory: %w", err)
		}
		d.stage = stage
		for _, f := range d.held {
			if err := d.write(d.stage, f.path, f.b); err != nil {
				return err
			}
		}
		d.held, d.heldBytes = nil, 0
	}
	return d.write(d.stage, path, b)
}

func (d *Dir) write(root, path string, b []byte) error {
	full := filepath.Join(root, filepath.FromSlash(path))
	if sub := filepath.Dir(full); !d.made[sub] {
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("creating output directory: %w", err)
		}
		d.made[sub] = true
	}
	if err := os.WriteFile(full, b, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(d.dir, filepath.FromSlash(path)), err)
	}
	return nil
}

// Commit puts the files in place and removes stale ones.
func (d *Dir) Commit() error {
	defer d.Abort()
	stale, err := generatedFiles(d.dir)
	if err != nil {
		return err
	}
	if d.stage == "" {
		if err := d.writeHeld(); err != nil {
			return err
		}
		for _, f := range d.held {
			delete(stale, f.path)
		}
	}
	for _, p := range d.paths {
		if d.stage == "" {
			break
		}
		full := filepath.Join(d.dir, filepath.FromSlash(p))
		if sub := filepath.Dir(full); !d.made[sub] {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return fmt.Errorf("creating output directory: %w", err)
			}
			d.made[sub] = true
		}
		if err := os.Rename(filepath.Join(d.stage, filepath.FromSlash(p)), full); err != nil {
			return fmt.Errorf("writing %s: %w", full, err)
		}
		delete(stale, p)
	}
	for p := range stale {
		if err := os.Remove(filepath.Join(d.dir, filepath.FromSlash(p))); err != nil {
			return fmt.Errorf("removing stale %s: %w", p, err)
		}
	}
	return nil
}

// writeHeld writes the held files in place from a few goroutines: the writes, not the
// compiler, are most of the wall time of a large generate.
func (d *Dir) writeHeld() error {
	for _, f := range d.held {
		full := filepath.Join(d.dir, filepath.FromSlash(f.path))
		if sub := filepath.Dir(full); !d.made[sub] {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return fmt.Errorf("creating output directory: %w", err)
			}
			d.made[sub] = true
		}
	}
	workers := min(4, len(d.held))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(d.held); i += workers {
				f := d.held[i]
				full := filepath.Join(d.dir, filepath.FromSlash(f.path))
				if err := os.WriteFile(full, f.b, 0o644); err != nil {
					errs[w] = fmt.Errorf("writing %s: %w", full, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Abort drops what was held and removes the staging directory.
func (d *Dir) Abort() {
	d.held = nil
	if d.stage != "" {
		_ = os.RemoveAll(d.stage)
	}
}

// Paths lists the files given to d, in the order they came.
func (d *Dir) Paths() []string { return d.paths }

// Write writes files under dir (see Dir).
func Write(dir string, files Files) error {
	d, err := NewDir(dir)
	if err != nil {
		return err
	}
	for _, p := range files.Paths() {
		if err := d.File(p, files[p]); err != nil {
			d.Abort()
			return err
		}
	}
	return d.Commit()
}

// Compare checks each file against what is in a directory, reading one file at a time:
// `generate --check`, CI's stale-output check.
type Compare struct {
	dir      string
	existing map[string]bool
	diffs    map[string]string
}

// NewCompare lists the generated files in dir; a missing dir holds none.
func NewCompare(dir string) (*Compare, error) {
	existing, err := generatedFiles(dir)
	if err != nil {
		return nil, err
	}
	return &Compare{dir: dir, existing: existing, diffs: map[string]string{}}, nil
}

func (c *Compare) File(path string, b []byte) error {
	delete(c.existing, path)
	old, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(path)))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.diffs[path] = "missing: " + path
	case err != nil:
		return fmt.Errorf("reading %s: %w", path, err)
	case !bytes.Equal(old, b):
		c.diffs[path] = "changed: " + path + firstDiff(old, b)
	}
	return nil
}

// Diffs describes each difference (changed, missing, then stale), sorted by path; empty
// means up to date.
func (c *Compare) Diffs() []string {
	paths := make([]string, 0, len(c.diffs))
	for p := range c.diffs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	out := make([]string, 0, len(paths)+len(c.existing))
	for _, p := range paths {
		out = append(out, c.diffs[p])
	}
	stale := make([]string, 0, len(c.existing))
	for p := range c.existing {
		stale = append(stale, "stale: "+p)
	}
	sort.Strings(stale)
	return append(out, stale...)
}

// Diff compares files with what is in dir (see Compare).
func Diff(dir string, files Files) ([]string, error) {
	c, err := NewCompare(dir)
	if err != nil {
		return nil, err
	}
	for _, p := range files.Paths() {
		if err := c.File(p, files[p]); err != nil {
			return nil, err
		}
	}
	return c.Diffs(), nil
}

// generatedFiles lists files under dir that carry the generated header, reading only the
// start of each file.
func generatedFiles(dir string) (map[string]bool, error) {
	out := map[string]bool{}
	head := make([]byte, 300)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), stagePrefix) {
				return filepath.SkipDir
			}
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		n, err := io.ReadFull(f, head)
		f.Close()
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return err
		}
		if bytes.Contains(head[:n], []byte(Header)) {
			rel, _ := filepath.Rel(dir, path)
			out[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	return out, nil
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf(" (line %d: committed %q, generated %q)", i+1, x, y)
		}
	}
	return ""
}
