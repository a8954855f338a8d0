//go:build unix

package server

import (
	"fmt"
	"io/fs"
	"syscall"
)

// etag identifies one version of a file: its inode, size and modification
// time. Files in the tree are replaced by rename, never rewritten in place,
// so a new version always has a new inode even when written within the
// file system's timestamp granularity.
func etag(fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf(`"%x-%x-%x"`, st.Ino, fi.Size(), fi.ModTime().UnixNano())
	}
	return fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano())
}
