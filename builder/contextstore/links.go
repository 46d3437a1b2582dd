package contextstore

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"

	hallmark "github.com/hallmark-dev/hallmark"
)

// maxSymlinkHops bounds symlink resolution, like the kernel's ELOOP limit.
const maxSymlinkHops = 40

func (x *extractor) symlink(hdr *tar.Header, name string) error {
	target := hdr.Linkname
	switch {
	case target == "":
		return invalidEntry(hdr.Name, "symlink has no target")
	case strings.ContainsRune(target, 0):
		return invalidEntry(hdr.Name, "symlink target contains NUL")
	case strings.HasPrefix(target, "/"):
		return invalidEntry(hdr.Name, "symlink target %q is absolute", hallmark.Clip(target, 200))
	}
	if t := path.Join(path.Dir(name), target); t == ".." || strings.HasPrefix(t, "../") {
		return invalidEntry(hdr.Name, "symlink target %q escapes the extraction directory", hallmark.Clip(target, 200))
	}
	if x.dirs[name] {
		return invalidEntry(hdr.Name, "would replace a directory")
	}
	if err := x.clearPath(hdr.Name, name); err != nil {
		return err
	}
	if err := x.tree.Symlink(target, name); err != nil {
		return fmt.Errorf("create symlink %q: %w", name, err)
	}
	x.symlinks = append(x.symlinks, name)
	return nil
}

func (x *extractor) hardlink(hdr *tar.Header, name string) error {
	old, err := cleanName(hdr.Linkname)
	if err != nil {
		return invalidEntry(hdr.Name, "hardlink target %q is not a path inside the archive", hallmark.Clip(hdr.Linkname, 200))
	}
	// The target must be a regular file reached through real directories:
	// a hard link to a symlink would resolve relative to a different directory.
	if err := x.mkdirParents(hdr.Name, old); err != nil {
		return err
	}
	fi, err := x.tree.Lstat(old)
	if err != nil || !fi.Mode().IsRegular() {
		return invalidEntry(hdr.Name, "hardlink target %q is not a regular file extracted earlier", hallmark.Clip(hdr.Linkname, 200))
	}
	if old == name {
		return nil
	}
	if x.dirs[name] {
		return invalidEntry(hdr.Name, "would replace a directory")
	}
	if err := x.clearPath(hdr.Name, name); err != nil {
		return err
	}
	if err := x.tree.Link(old, name); err != nil {
		return fmt.Errorf("create hardlink %q: %w", name, err)
	}
	return nil
}

// checkSymlinks resolves every extracted symlink against the final tree
// and rejects any whose resolution would leave the root: a relative target
// can escape through other links even when it looks local on its own.
func (x *extractor) checkSymlinks() error {
	var first error
	for _, name := range x.symlinks {
		fi, err := x.tree.Lstat(name)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			continue // replaced by a later entry
		}
		hops := 0
		dir := strings.Split(path.Dir(name), "/")
		if dir[0] == "." {
			dir = nil
		}
		target, err := x.tree.Readlink(name)
		if err != nil {
			return fmt.Errorf("read symlink %q: %w", name, err)
		}
		if _, err := x.resolve(dir, target, &hops); err != nil {
			// Leave no bad link behind for whoever looks at dest next.
			if rerr := x.tree.Remove(name); rerr != nil {
				return fmt.Errorf("remove unsafe symlink %q: %w", name, rerr)
			}
			if first == nil {
				first = invalidEntry(name, "symlink target %q %v", hallmark.Clip(target, 200), err)
			}
		}
	}
	return first
}

var errEscapes = errors.New("escapes the extraction directory")

// resolve follows rel from the directory dir (path components below the
// root) the way the kernel would, following symlinks found in the tree and
// treating missing components lexically. It fails if the walk leaves the
// root at any point.
func (x *extractor) resolve(dir []string, rel string, hops *int) ([]string, error) {
	if strings.HasPrefix(rel, "/") {
		return nil, errEscapes
	}
	cur := slices.Clone(dir)
	for c := range strings.SplitSeq(rel, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return nil, errEscapes
			}
			cur = cur[:len(cur)-1]
			continue
		}
		p := strings.Join(append(slices.Clone(cur), c), "/")
		fi, err := x.tree.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = append(cur, c)
			continue
		}
		*hops++
		if *hops > maxSymlinkHops {
			return nil, errors.New("has too many levels of symlinks")
		}
		t, err := x.tree.Readlink(p)
		if err != nil {
			return nil, fmt.Errorf("cannot be read: %w", err)
		}
		if cur, err = x.resolve(cur, t, hops); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// rootMaxSymlinks is how many symlinks os.Root follows in one path.
const rootMaxSymlinks = 8

// errPathEscapes is os.Root's answer for a path that leaves the root.
var errPathEscapes = errors.New("path escapes from parent")

// lookup resolves name in t the way os.Root.Open does on Linux, and
// returns the path it arrives at, free of symlinks, and what is there:
// each component but the last must be a directory (following symlinks,
// at most rootMaxSymlinks in all), ".." steps back over components already
// resolved and may not leave the root, and the last component is followed
// too. Errors are *fs.PathError wrapping what os.Root's would
// (fs.ErrNotExist, syscall.ENOTDIR, syscall.ELOOP, errPathEscapes).
func lookup(t tree, name string) (string, fs.FileInfo, error) {
	parts, slash := splitPath(name, nil, nil)
	links := 0
	for i := 0; i < len(parts); {
		if parts[i] == ".." {
			end := i + 1
			for end < len(parts) && parts[end] == ".." {
				end++
			}
			if n := end - i; n <= i {
				parts = slices.Delete(parts, i-n, end)
				i = 0
				continue
			}
			return "", nil, pathErr("open", name, errPathEscapes)
		}
		p := strings.Join(parts[:i+1], "/")
		fi, err := t.Lstat(p)
		if err != nil {
			return "", nil, pathErr("open", p, fs.ErrNotExist)
		}
		last := i == len(parts)-1
		if fi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > rootMaxSymlinks {
				return "", nil, pathErr("open", name, syscall.ELOOP)
			}
			target, err := t.Readlink(p)
			if err != nil {
				return "", nil, pathErr("open", p, err)
			}
			if target == "" || strings.HasPrefix(target, "/") {
				return "", nil, pathErr("open", name, errPathEscapes)
			}
			var s bool
			parts, s = splitPath(target, parts[:i], parts[i+1:])
			slash = slash || (last && s)
			continue
		}
		if !last && !fi.IsDir() {
			return "", nil, pathErr("open", p, syscall.ENOTDIR)
		}
		i++
	}
	if len(parts) == 0 {
		parts = []string{"."}
	}
	p := strings.Join(parts, "/")
	fi, err := t.Lstat(p)
	if err != nil {
		return "", nil, pathErr("open", p, fs.ErrNotExist)
	}
	if slash && !fi.IsDir() {
		return "", nil, pathErr("open", p, syscall.ENOTDIR)
	}
	return p, fi, nil
}

// splitPath returns prefix, the components of s without empty and "."
// ones, and suffix, and whether s ends in a slash.
func splitPath(s string, prefix, suffix []string) ([]string, bool) {
	parts := slices.Clone(prefix)
	for c := range strings.SplitSeq(s, "/") {
		if c != "" && c != "." {
			parts = append(parts, c)
		}
	}
	return append(parts, suffix...), strings.HasSuffix(s, "/")
}
