// Package image makes OCI container images from a root directory: one
// layer of the root's files, an image config, and an SPDX SBOM of the
// packages apk's database in the root lists. No Dockerfile and no daemon
// are involved; the formats are go-containerregistry's.
//
// # Reproducibility
//
// The same root and [Options] give the same digest on any machine: the
// layer's entries are sorted by path, every time is [Options.Created]
// (SOURCE_DATE_EPOCH), owners and modes come from apk's database where it
// records the path (so a root installed without privileges still gives
// root-owned files) and from the disk otherwise, and the layer is gzipped
// with fixed settings.
//
// # Output
//
// [Build] returns an [Image]; [WriteLayout], [WriteOCIArchive],
// [WriteDockerArchive] and [Push] write one image, or several of different
// architectures as one multi-arch index. [WriteSBOM] writes the SBOM.
package image
