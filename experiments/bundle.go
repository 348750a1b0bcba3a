package experiments

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"time"
)

// Bundle is a config with the files it reads (its data files and a
// profiles file), so that another machine compiles the same studies from
// it: a distributed run's workers (`experiment worker`) get the
// coordinator's bundle instead of reading their own disks.
type Bundle struct {
	// File is the config's path on the machine that made the bundle; the
	// config's relative paths resolve against it, as they did there.
	File string `json:"file"`
	// Config is the config's YAML.
	Config []byte `json:"config"`
	// Name is the experiment's name, which Rename may have changed since
	// the YAML was read.
	Name string `json:"name"`
	// Files are the files the config reads, by resolved path
	// (Config.DataPath, Config.ProfilesPath).
	Files map[string][]byte `json:"files"`
}

// Bundle returns the config with the files it reads. It fails on a config
// not made by Load or Parse, or on a file that cannot be read.
func (c *Config) Bundle() (*Bundle, error) {
	if c.source == nil {
		return nil, errors.New("experiments: bundle: the config was not read by Load or Parse")
	}
	b := &Bundle{File: c.File, Config: c.source, Name: c.Name, Files: map[string][]byte{}}
	var paths []string
	for i := range c.Datasets {
		if p := c.DataPath(&c.Datasets[i]); p != "" {
			paths = append(paths, p)
		}
	}
	if p := c.ProfilesPath(); p != "" {
		paths = append(paths, p)
	}
	for _, p := range paths {
		data, err := c.readFile(p)
		if err != nil {
			return nil, fmt.Errorf("experiments: bundle: %w", err)
		}
		b.Files[p] = data
	}
	return b, nil
}

// ParseBundle reads a Bundle's config as Parse does, with its files taken
// from the bundle only: a path the bundle lacks is a missing file, even if
// this machine has one of that name.
func ParseBundle(b *Bundle) (*Config, error) {
	files := b.Files
	if files == nil {
		files = map[string][]byte{}
	}
	c, err := parse(b.Config, b.File, files)
	if err != nil {
		return nil, err
	}
	if b.Name != "" && b.Name != c.Name {
		if err := c.Rename(b.Name); err != nil {
			return nil, &ConfigError{File: b.File, Field: "name", Msg: err.Error(), Err: err}
		}
	}
	return c, nil
}

// readFile reads a file the config names: from the bundle's files for a
// config made by ParseBundle, else from the disk.
func (c *Config) readFile(path string) ([]byte, error) {
	if c.files == nil {
		return os.ReadFile(path)
	}
	data, ok := c.files[path]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("not in the config's bundle (it holds %v): %w", slices.Sorted(maps.Keys(c.files)), fs.ErrNotExist)}
	}
	return data, nil
}

// statFile is os.Stat on the files readFile reads.
func (c *Config) statFile(path string) (fs.FileInfo, error) {
	if c.files == nil {
		return os.Stat(path)
	}
	data, err := c.readFile(path)
	if err != nil {
		return nil, err
	}
	return bundledFile{name: path, size: int64(len(data))}, nil
}

// bundledFile describes a file of a bundle.
type bundledFile struct {
	name string
	size int64
}

func (f bundledFile) Name() string       { return f.name }
func (f bundledFile) Size() int64        { return f.size }
func (f bundledFile) Mode() fs.FileMode  { return 0o444 }
func (f bundledFile) ModTime() time.Time { return time.Time{} }
func (f bundledFile) IsDir() bool        { return false }
func (f bundledFile) Sys() any           { return nil }
