package index

import (
	"slices"

	"github.com/apkit-dev/apkit/pkg/apk"
)

// FromPackage returns the index record of a package read by pkg/apk, as apk
// index makes it: C: is the identity of the control segment ([Identity] of
// p.ControlSHA1), S: is fileSize, the size of the package file, and the other
// fields come from .PKGINFO (I: from size, D: from every depend line in
// file order, declared then automatically detected, p: likewise from
// provides, i: from install_if). packager, replaces, replaces_priority,
// triggers and datahash are not indexed. An empty arch, origin or commit is
// kept as a bare line ([Record.Empty]), as apk 2.14 does for the lines
// abuild and pkg/apk always write.
func FromPackage(p *apk.Package, fileSize int64) *Record {
	info := p.Info
	if info == nil {
		info = &apk.PkgInfo{}
	}
	empty := ""
	for _, f := range []struct {
		key byte
		v   string
	}{{'A', info.Arch}, {'o', info.Origin}, {'c', info.Commit}} {
		if f.v == "" {
			empty += string(f.key)
		}
	}
	return &Record{
		Empty:            empty,
		Checksum:         Identity(p.ControlSHA1[:]),
		Name:             info.Name,
		Version:          info.Version,
		Arch:             info.Arch,
		Size:             fileSize,
		InstalledSize:    clampInt64(info.Size),
		Description:      info.Description,
		URL:              info.URL,
		License:          info.License,
		Origin:           info.Origin,
		Maintainer:       info.Maintainer,
		BuildTime:        info.BuildDate,
		Commit:           info.Commit,
		ProviderPriority: clampInt64(info.ProviderPriority),
		Depends:          items(info.AllDepends()),
		Provides:         items(info.AllProvides()),
		InstallIf:        items(info.InstallIf),
	}
}

// items splits list elements that hold several space-separated items (a
// .PKGINFO line may) and returns nil for an empty list.
func items(list []string) []string {
	var out []string
	for _, v := range list {
		out = appendItems(out, v)
	}
	return slices.Clip(out)
}

func clampInt64(v uint64) int64 {
	if v > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(v)
}
