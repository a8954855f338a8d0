package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// ReadDatabase reads apk's database in root: the installed packages with
// their files, scripts (scripts.tar) and triggers, and the world. A root
// without a database gives an empty one.
func ReadDatabase(root string) (*Database, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("read database: %w", err)
	}
	defer r.Close()
	return readDatabase(r)
}

func readDatabase(r *os.Root) (*Database, error) {
	db := &Database{}
	data, err := readRootFile(r, InstalledFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if db.Packages, err = ReadInstalled(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%s: %w", InstalledFile, err)
	}
	if data, err = readRootFile(r, ScriptsFile); err == nil {
		if err := readScripts(bytes.NewReader(data), db.Packages); err != nil {
			return nil, fmt.Errorf("%s: %w", ScriptsFile, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if data, err = readRootFile(r, TriggersFile); err == nil {
		readTriggers(data, db.Packages)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if data, err = readRootFile(r, WorldFile); err == nil {
		db.World = strings.Fields(string(data))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return db, nil
}

func readRootFile(r *os.Root, name string) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDatabaseSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxDatabaseSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxDatabaseSize)
	}
	return data, nil
}

// writeDatabase writes every database file of db and opts into r, each
// through a temporary file, fsync and rename.
func writeDatabase(r *os.Root, db *Database, opts *Options) error {
	var b bytes.Buffer
	for _, k := range opts.Keys {
		if k.Name == "" || strings.ContainsAny(k.Name, "/\x00") || k.Name[0] == '.' {
			return fmt.Errorf("write %s: bad key name %q", keysDir, k.Name)
		}
		if err := atomicWrite(r, path.Join(keysDir, k.Name), k.Data); err != nil {
			return err
		}
	}
	if err := atomicWrite(r, ArchFile, []byte(opts.Arch+"\n")); err != nil {
		return err
	}
	if opts.Repositories != nil {
		b.Reset()
		for _, u := range opts.Repositories {
			b.WriteString(u)
			b.WriteByte('\n')
		}
		if err := atomicWrite(r, RepositoriesFile, b.Bytes()); err != nil {
			return err
		}
	}
	// The installed file last but one: scripts and triggers belong to it,
	// and world names what it holds.
	b.Reset()
	if err := WriteScripts(&b, db.Packages); err != nil {
		return err
	}
	if err := atomicWrite(r, ScriptsFile, b.Bytes()); err != nil {
		return err
	}
	b.Reset()
	if err := WriteTriggers(&b, db.Packages); err != nil {
		return err
	}
	if err := atomicWrite(r, TriggersFile, b.Bytes()); err != nil {
		return err
	}
	b.Reset()
	if err := WriteInstalled(&b, db.Packages); err != nil {
		return err
	}
	if err := atomicWrite(r, InstalledFile, b.Bytes()); err != nil {
		return err
	}
	b.Reset()
	b.WriteString(strings.Join(db.World, "\n"))
	b.WriteByte('\n')
	return atomicWrite(r, WorldFile, b.Bytes())
}

// atomicWrite replaces name in r by data: a temporary file in the same
// directory, synced, then renamed over it, and the directory synced.
func atomicWrite(r *os.Root, name string, data []byte) error {
	tmp := name + ".new"
	r.Remove(tmp)
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.Rename(tmp, name)
	}
	if err != nil {
		r.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	if d, err := r.Open(path.Dir(name)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// lockDatabase takes apk's lock on the database (lib/apk/db/lock), waiting
// for another apk or apkit to let go of it.
func lockDatabase(r *os.Root) (func(), error) {
	f, err := r.OpenFile(LockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock database: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock database: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
