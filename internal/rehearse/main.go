// Command rehearse builds what a release publishes, so that scripts/rehearse-release can try
// it the way a user gets it: a module proxy on disk, in the layout the go command reads from
// GOPROXY=file:///DIR.
//
//	rehearse copy -repo DIR -to DIR
//	rehearse publish -proxy DIR -version vX.Y.Z MODULEDIR...
//
// copy copies the files a release tag would hold (tracked, or new and not ignored by git) as
// they are in the working tree, so that a rehearsal of uncommitted work needs no commit and
// stray files (logs, binaries) never reach a zip. publish serves each module directory at the
// version: @v/list, .info, .mod and a .zip made by golang.org/x/mod/zip, the same code the
// go command uses to check a downloaded zip, so a zip it accepts here is one the go command
// accepts from a real proxy.
//
// This is a module of its own, outside the repository's go.work, so that golang.org/x/mod is
// never in a go.mod users resolve. Run it with GOWORK=off.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/zip"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "copy":
		fs := flag.NewFlagSet("copy", flag.ExitOnError)
		repo := fs.String("repo", ".", "the git checkout to copy from")
		to := fs.String("to", "", "the directory to copy into (created)")
		_ = fs.Parse(os.Args[2:])
		if *to == "" || fs.NArg() != 0 {
			usage()
		}
		err = copyRelease(*repo, *to)
	case "publish":
		fs := flag.NewFlagSet("publish", flag.ExitOnError)
		proxy := fs.String("proxy", "", "the module proxy directory (created)")
		version := fs.String("version", "", "the version to serve every module at")
		_ = fs.Parse(os.Args[2:])
		if *proxy == "" || *version == "" || fs.NArg() == 0 {
			usage()
		}
		for _, dir := range fs.Args() {
			if err = publish(*proxy, *version, dir); err != nil {
				break
			}
		}
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: rehearse copy -repo DIR -to DIR\n       rehearse publish -proxy DIR -version vX.Y.Z MODULEDIR...")
	os.Exit(2)
}

// copyRelease copies the files of repo that a tag made now would hold into to. A file git
// tracks but that was deleted from the working tree is left out, as a commit of the working
// tree would leave it out.
func copyRelease(repo, to string) error {
	cmd := exec.Command("git", "-C", repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("listing the files of %s: %w", repo, err)
	}
	names := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	slices.Sort(names)
	names = slices.Compact(names) // a file with a merge conflict is listed once per stage
	for _, name := range names {
		if name == "" {
			continue
		}
		src := filepath.Join(repo, name)
		info, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			continue // a module zip holds regular files only (zip.CreateFromDir skips the rest too)
		}
		if err := copyFile(src, filepath.Join(to, name), info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// publish serves the module in dir at version from the proxy directory: it writes
// PATH/@v/VERSION.{info,mod,zip} and adds the version to PATH/@v/list, PATH escaped the way
// the go command asks for it (upper-case letters as !lower).
func publish(proxy, version, dir string) error {
	if !semver.IsValid(version) || semver.Canonical(version) != version {
		return fmt.Errorf("version %q is not a canonical semantic version (vX.Y.Z[-pre])", version)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	path := modfile.ModulePath(gomod)
	if path == "" {
		return fmt.Errorf("%s/go.mod names no module", dir)
	}
	m := module.Version{Path: path, Version: version}
	escaped, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	vdir := filepath.Join(proxy, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}

	// The zip goes to a temporary name first: a failed zip must not be served half-written.
	zipName := filepath.Join(vdir, version+".zip")
	tmp, err := os.CreateTemp(vdir, "zip-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := zip.CreateFromDir(tmp, m, dir); err != nil {
		tmp.Close()
		return fmt.Errorf("zip of %s: %w", m, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), zipName); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vdir, version+".mod"), gomod, 0o644); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vdir, version+".info"), info, 0o644); err != nil {
		return err
	}
	list, err := os.ReadFile(filepath.Join(vdir, "list"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if !slices.Contains(strings.Fields(string(list)), version) {
		list = append(list, version+"\n"...)
	}
	if err := os.WriteFile(filepath.Join(vdir, "list"), list, 0o644); err != nil {
		return err
	}
	st, err := os.Stat(zipName)
	if err != nil {
		return err
	}
	fmt.Printf("published %s from %s (%d KiB)\n", m, dir, st.Size()/1024)
	return nil
}
