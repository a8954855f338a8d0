package server

import (
	"log/slog"
	"net/http"
)

// levelFor logs server errors as errors, refusals as warnings and the rest
// at debug level, so a busy mirror does not flood the log.
func levelFor(code int) slog.Level {
	switch {
	case code >= 500:
		return slog.LevelError
	case code == http.StatusNotFound || code == http.StatusNotModified:
		return slog.LevelDebug
	case code >= 400:
		return slog.LevelWarn
	}
	return slog.LevelDebug
}
