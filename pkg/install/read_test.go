package install_test

import (
	"bytes"
	"encoding/hex"

	"github.com/apkit-dev/apkit/pkg/apk"
)

func apkRead(data []byte) (*apk.Package, error) {
	return apk.Read(bytes.NewReader(data), nil)
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }
