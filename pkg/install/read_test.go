package install_test

import (
	"bytes"

	"github.com/apkit-dev/apkit/pkg/apk"
)

func apkRead(data []byte) (*apk.Package, error) {
	return apk.Read(bytes.NewReader(data), nil)
}
