package contextstore

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// tree is what the extractor applies an archive to: a directory on disk
// (rootTree), or a tree of names in memory (memTree) when only the layout
// matters. Names are clean, slash-separated and relative; the extractor
// never names a path through a symlink, so a tree may look names up
// literally.
type tree interface {
	Lstat(name string) (fs.FileInfo, error)
	Readlink(name string) (string, error)
	Mkdir(name string, perm fs.FileMode) error
	Remove(name string) error
	Symlink(oldname, newname string) error
	Link(oldname, newname string) error
	Chmod(name string, mode fs.FileMode) error
	Chtimes(name string, atime, mtime time.Time) error
	// Create makes a new regular file, failing if name exists.
	Create(name string) (treeFile, error)
}

// treeFile is a file Create made.
type treeFile interface {
	io.Writer
	Chmod(mode fs.FileMode) error
	Close() error
}

// rootTree is a directory on disk; os.Root keeps every operation inside it.
type rootTree struct{ *os.Root }

var _ tree = rootTree{}

func (t rootTree) Create(name string) (treeFile, error) {
	return t.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

// Limits of the file system that memTree imitates (Linux), and its own
// bound on memory.
const (
	maxNameComponent = 255      // NAME_MAX
	maxLinkTarget    = 4095     // PATH_MAX less the NUL
	maxMemTreeBytes  = 64 << 20 // names and link targets kept in memory
)

// memNode is a name in a memTree.
type memNode struct {
	typ    fs.FileMode // 0 (regular), fs.ModeDir or fs.ModeSymlink
	target string      // of a symlink
	entry  int         // of a regular file: the archive entry that wrote it
}

// memTree is a tree of names in memory: what an extraction would create,
// without the contents. A regular file remembers the archive entry whose
// content it holds, which hard links share.
type memTree struct {
	nodes map[string]*memNode
	entry int // the archive entry being applied
	bytes int64
}

var _ tree = (*memTree)(nil)

func newMemTree() *memTree {
	return &memTree{nodes: map[string]*memNode{".": {typ: fs.ModeDir}}}
}

func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// add creates name, as the kernel would: its parent must be a directory.
func (t *memTree) add(op, name string, n *memNode) error {
	for c := range strings.SplitSeq(name, "/") {
		if len(c) > maxNameComponent {
			return pathErr(op, name, syscall.ENAMETOOLONG)
		}
	}
	if _, ok := t.nodes[name]; ok {
		return pathErr(op, name, fs.ErrExist)
	}
	if p, ok := t.nodes[path.Dir(name)]; !ok || p.typ != fs.ModeDir {
		return pathErr(op, name, fs.ErrNotExist)
	}
	t.bytes += int64(len(name) + len(n.target) + 64)
	if t.bytes > maxMemTreeBytes {
		return fmt.Errorf("%w: the archive's names take more than %d bytes", hallmark.ErrTooLarge, maxMemTreeBytes)
	}
	t.nodes[name] = n
	return nil
}

func (t *memTree) get(op, name string) (*memNode, error) {
	n, ok := t.nodes[name]
	if !ok {
		return nil, pathErr(op, name, fs.ErrNotExist)
	}
	return n, nil
}

func (t *memTree) Lstat(name string) (fs.FileInfo, error) {
	n, err := t.get("lstat", name)
	if err != nil {
		return nil, err
	}
	return memInfo{name: path.Base(name), typ: n.typ}, nil
}

func (t *memTree) Readlink(name string) (string, error) {
	n, err := t.get("readlink", name)
	if err != nil {
		return "", err
	}
	if n.typ != fs.ModeSymlink {
		return "", pathErr("readlink", name, syscall.EINVAL)
	}
	return n.target, nil
}

func (t *memTree) Mkdir(name string, _ fs.FileMode) error {
	return t.add("mkdir", name, &memNode{typ: fs.ModeDir})
}

func (t *memTree) Remove(name string) error {
	if _, err := t.get("remove", name); err != nil {
		return err
	}
	delete(t.nodes, name)
	return nil
}

func (t *memTree) Symlink(oldname, newname string) error {
	if len(oldname) > maxLinkTarget {
		return pathErr("symlink", newname, syscall.ENAMETOOLONG)
	}
	return t.add("symlink", newname, &memNode{typ: fs.ModeSymlink, target: oldname})
}

func (t *memTree) Link(oldname, newname string) error {
	n, err := t.get("link", oldname)
	if err != nil {
		return err
	}
	if n.typ != 0 {
		return pathErr("link", oldname, syscall.EPERM)
	}
	return t.add("link", newname, &memNode{entry: n.entry})
}

func (t *memTree) Chmod(name string, _ fs.FileMode) error {
	_, err := t.get("chmod", name)
	return err
}

func (t *memTree) Chtimes(name string, _, _ time.Time) error {
	_, err := t.get("chtimes", name)
	return err
}

func (t *memTree) Create(name string) (treeFile, error) {
	if err := t.add("open", name, &memNode{entry: t.entry}); err != nil {
		return nil, err
	}
	return discardFile{}, nil
}

// discardFile is a memTree file: its content is not kept.
type discardFile struct{}

func (discardFile) Write(p []byte) (int, error) { return len(p), nil }
func (discardFile) Chmod(fs.FileMode) error     { return nil }
func (discardFile) Close() error                { return nil }

// memInfo describes a memNode.
type memInfo struct {
	name string
	typ  fs.FileMode
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return 0 }
func (i memInfo) Mode() fs.FileMode  { return i.typ }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.typ == fs.ModeDir }
func (i memInfo) Sys() any           { return nil }
