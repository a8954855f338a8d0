package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// noRecipeError reports a path that is not a recipe: it does not exist,
// or it is a directory without an APKBUILD. Every verb that takes recipe
// paths reports it the same way (exit code 1).
type noRecipeError struct {
	path    string
	missing bool // the path itself does not exist
}

func (e *noRecipeError) Error() string {
	const hint = "not a recipe directory: give one, or run apkit in one"
	switch {
	case e.missing:
		return fmt.Sprintf("%s: no such file or directory (%s)", e.path, hint)
	case filepath.Clean(e.path) == ".":
		return fmt.Sprintf("no APKBUILD here (%s)", hint)
	}
	return fmt.Sprintf("%s: no APKBUILD (%s)", e.path, hint)
}

// Unwrap makes the error match [fs.ErrNotExist].
func (e *noRecipeError) Unwrap() error { return fs.ErrNotExist }

// checkRecipe returns a *noRecipeError when path (a recipe directory or
// its APKBUILD, as the recipe verbs take them) has no APKBUILD, and nil
// otherwise: other problems are left to the code that reads the recipe.
func checkRecipe(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if filepath.Base(path) == "APKBUILD" {
			if _, derr := os.Stat(filepath.Dir(path)); derr == nil {
				return &noRecipeError{path: filepath.Dir(path)}
			}
		}
		return &noRecipeError{path: path, missing: true}
	case err != nil || !fi.IsDir():
		return nil
	}
	if _, err := os.Stat(filepath.Join(path, "APKBUILD")); errors.Is(err, fs.ErrNotExist) {
		return &noRecipeError{path: path}
	}
	return nil
}

// noRecipeHint turns an error reading the recipe at path into a
// *noRecipeError when the recipe is not there.
func noRecipeHint(path string, err error) error {
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if nr := checkRecipe(path); nr != nil {
		return nr
	}
	return err
}
