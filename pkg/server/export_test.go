package server

import (
	"io"
	"os"
)

// SetStageWriter makes staged uploads be written through wrap(file) until
// restore is called; tests inject write errors with it.
func SetStageWriter(wrap func(*os.File) io.Writer) (restore func()) {
	old := stageWriterHook
	stageWriterHook = wrap
	return func() { stageWriterHook = old }
}
