package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// buildContext is a directory sent to the gateway as a deterministic tar
// archive: entries in lexical order, uid/gid 0, no user names, mtimes
// truncated to seconds, symlinks stored as links.
type buildContext struct {
	root string
	pm   *patternmatcher.PatternMatcher // nil when nothing is ignored
	warn io.Writer                      // where skipped special files are reported
	// beforeRead, if set, is called with a regular file's path after it was
	// stat'ed and opened, before it is read (tests change files there).
	beforeRead func(rel string)
}

// maxDockerfileBytes bounds an inline Dockerfile, as the gateway does.
const maxDockerfileBytes = 1 << 20

// dockerfileSpec says where the Dockerfile is.
type dockerfileSpec struct {
	path   string // the file on disk; "" when read from stdin
	rel    string // its slash-separated path inside the context; "" when outside
	inline []byte // its content when outside the context
}

// newBuildContext prepares dir for upload. Ignore patterns come from
// <Dockerfile>.dockerignore next to the Dockerfile if it exists, else from
// dir/.dockerignore; the Dockerfile and .dockerignore are always sent, as
// docker does.
func newBuildContext(dir string, df dockerfileSpec, warn io.Writer) (*buildContext, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("open context: %w", err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("open context: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open context: %s is not a directory", dir)
	}
	candidates := []string{filepath.Join(root, ".dockerignore")}
	if df.path != "" {
		candidates = append([]string{df.path + ".dockerignore"}, candidates...)
	}
	excludes, err := readIgnoreFile(candidates)
	if err != nil {
		return nil, err
	}
	bc := &buildContext{root: root, warn: warn}
	if len(excludes) == 0 {
		return bc, nil
	}
	excludes = keepBuildFiles(excludes, df.rel)
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return nil, fmt.Errorf("parse .dockerignore: %w", err)
	}
	bc.pm = pm
	return bc, nil
}

// readIgnoreFile reads the first of files that exists.
func readIgnoreFile(files []string) ([]string, error) {
	for _, name := range files {
		data, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read ignore file: %w", err)
		}
		excludes, err := ignorefile.ReadAll(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("read ignore file %s: %w", name, err)
		}
		return excludes, nil
	}
	return nil, nil
}

// keepBuildFiles adds exceptions so that .dockerignore and the Dockerfile are
// sent even when a pattern matches them (docker's TrimBuildFilesFromExcludes).
func keepBuildFiles(excludes []string, dockerfile string) []string {
	if m, _ := patternmatcher.MatchesOrParentMatches(".dockerignore", excludes); m {
		excludes = append(excludes, "!.dockerignore")
	}
	if dockerfile != "" {
		if m, _ := patternmatcher.MatchesOrParentMatches(dockerfile, excludes); m {
			excludes = append(excludes, "!"+dockerfile)
		}
	}
	return excludes
}

// writeTar writes the archive to w.
func (bc *buildContext) writeTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	// skipped holds directories excluded by a pattern that were still walked
	// because an exception may match inside them; they are written only when
	// something inside them is.
	var skipped []string
	err := filepath.WalkDir(bc.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(bc.root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		for len(skipped) > 0 && !strings.HasPrefix(rel, skipped[len(skipped)-1]+"/") {
			skipped = skipped[:len(skipped)-1]
		}
		if bc.pm != nil {
			excluded, err := bc.pm.MatchesOrParentMatches(rel)
			if err != nil {
				return fmt.Errorf("match %s: %w", rel, err)
			}
			if excluded {
				if !d.IsDir() {
					return nil
				}
				if !bc.mayIncludeUnder(rel) {
					return filepath.SkipDir
				}
				skipped = append(skipped, rel)
				return nil
			}
		}
		for _, dir := range skipped {
			if err := bc.writeEntry(tw, dir); err != nil {
				return err
			}
		}
		skipped = skipped[:0]
		return bc.writeEntry(tw, rel)
	})
	if err != nil {
		return fmt.Errorf("archive context: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("archive context: %w", err)
	}
	return nil
}

// mayIncludeUnder reports whether an exception pattern could match something
// inside the excluded directory dir (docker's archive walk does the same).
func (bc *buildContext) mayIncludeUnder(dir string) bool {
	if !bc.pm.Exclusions() {
		return false
	}
	for _, p := range bc.pm.Patterns() {
		if !p.Exclusion() {
			continue
		}
		pat := p.String()
		if strings.HasPrefix(pat+"/", dir+"/") || strings.HasPrefix(dir+"/", pat+"/") {
			return true
		}
		// A wildcard may match anywhere; be conservative.
		if strings.ContainsAny(pat, "*?[\\") {
			return true
		}
	}
	return false
}

func (bc *buildContext) writeEntry(tw *tar.Writer, rel string) error {
	full := filepath.Join(bc.root, filepath.FromSlash(rel))
	fi, err := os.Lstat(full)
	if err != nil {
		return err
	}
	hdr := &tar.Header{
		Name:    rel,
		Mode:    int64(fi.Mode().Perm()),
		ModTime: fi.ModTime().Truncate(time.Second),
	}
	if fi.Mode()&fs.ModeSetuid != 0 {
		hdr.Mode |= 0o4000
	}
	if fi.Mode()&fs.ModeSetgid != 0 {
		hdr.Mode |= 0o2000
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		hdr.Mode |= 0o1000
	}
	switch {
	case fi.Mode().IsRegular():
		hdr.Typeflag = tar.TypeReg
		hdr.Size = fi.Size()
	case fi.IsDir():
		hdr.Typeflag = tar.TypeDir
		hdr.Name = rel + "/"
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = target
	default:
		if bc.warn != nil {
			fmt.Fprintf(bc.warn, "warning: skipping %s: %s is not supported in a build context\n", rel, fileKind(fi.Mode()))
		}
		return nil
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	defer f.Close()
	if bc.beforeRead != nil {
		bc.beforeRead(rel)
	}
	// CopyN so that a file growing between Lstat and read cannot corrupt the
	// archive; a shrinking one ends early.
	n, err := io.CopyN(tw, f, hdr.Size)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	after, serr := f.Stat()
	if serr != nil {
		return fmt.Errorf("read %s: %w", rel, serr)
	}
	if n != hdr.Size || after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime()) {
		return &changedError{rel: rel, size: fi.Size(), sizeAfter: after.Size(), mtime: fi.ModTime(), mtimeAfter: after.ModTime()}
	}
	return nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "special file"
	}
}

// stdinDockerfile reads the Dockerfile of -f - from stdin, to send inline.
func stdinDockerfile(stdin io.Reader) (dockerfileSpec, error) {
	data, err := readBounded(stdin, maxDockerfileBytes)
	if err != nil {
		return dockerfileSpec{}, fmt.Errorf("read Dockerfile from stdin: %w", err)
	}
	return dockerfileSpec{inline: data}, nil
}

// findDockerfile locates the Dockerfile: file ("" for CONTEXT_DIR/Dockerfile,
// "-" for stdin). One inside the context is named by its path; one outside is
// sent inline.
func findDockerfile(file, contextDir string, stdin io.Reader) (dockerfileSpec, error) {
	if file == "-" {
		return stdinDockerfile(stdin)
	}
	if file == "" {
		file = filepath.Join(contextDir, "Dockerfile")
	}
	fi, err := os.Stat(file)
	if err != nil {
		return dockerfileSpec{}, fmt.Errorf("find Dockerfile: %w", err)
	}
	if fi.IsDir() {
		return dockerfileSpec{}, fmt.Errorf("find Dockerfile: %s is a directory", file)
	}
	if rel, ok := relInside(contextDir, file); ok {
		return dockerfileSpec{path: file, rel: rel}, nil
	}
	fh, err := os.Open(file)
	if err != nil {
		return dockerfileSpec{}, fmt.Errorf("read Dockerfile: %w", err)
	}
	defer fh.Close()
	data, err := readBounded(fh, maxDockerfileBytes)
	if err != nil {
		return dockerfileSpec{}, fmt.Errorf("read Dockerfile %s: %w", file, err)
	}
	return dockerfileSpec{path: file, inline: data}, nil
}

// readBounded reads r whole, failing beyond limit bytes.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %s", units.BytesSize(float64(limit)))
	}
	return data, nil
}

// relInside returns target's slash-separated path relative to dir, or
// ok=false when target lies outside dir. Both are resolved through symlinks
// of their parent directories.
func relInside(dir, target string) (string, bool) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	if d, err = filepath.EvalSymlinks(d); err != nil {
		return "", false
	}
	t, err := filepath.Abs(target)
	if err != nil {
		return "", false
	}
	if parent, err := filepath.EvalSymlinks(filepath.Dir(t)); err == nil {
		t = filepath.Join(parent, filepath.Base(t))
	}
	rel, err := filepath.Rel(d, t)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return path.Clean(filepath.ToSlash(rel)), true
}
