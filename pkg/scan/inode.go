package scan

import (
	"io/fs"
	"syscall"
)

// inodeOf returns a (device, inode) key for fi when the platform has one.
func inodeOf(fi fs.FileInfo) (struct{ dev, ino uint64 }, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return struct{ dev, ino uint64 }{}, false
	}
	return struct{ dev, ino uint64 }{uint64(st.Dev), uint64(st.Ino)}, true
}
