package cli

// showOptions are the options of apkit show. This declaration stands in
// until the recipe half of apkit show lands; runShowArchive uses json and
// files (--json, --files).
type showOptions struct {
	json  bool
	files bool
}
