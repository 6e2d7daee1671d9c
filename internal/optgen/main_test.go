package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../.."

// TestGenerated fails when server.go's option fields or options_gen.go
// differ from what the declarations in engine/config.go and loop/core.go
// give: run go generate ./... in the module's root.
func TestGenerated(t *testing.T) {
	files, err := Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./... in the module's root (first difference at line %d)", name, firstDiffLine(got, want))
		}
	}
}

func firstDiffLine(a, b []byte) int {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

// copyTree copies the generator's inputs and outputs into a temporary
// module root.
func copyTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"go.mod", serverFile, optionsFile, "engine/config.go", "loop/core.go"} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A doc, a new option and a removed marker in the declarations reach the
// Server, regenerated in a temporary copy; the check above would then
// fail on the module's own files.
func TestFollowsDeclarations(t *testing.T) {
	dir := copyTree(t)
	edit(t, filepath.Join(dir, "engine/config.go"), "Default 256, at most 65536.", "Default 256, at most 65536 (edited).")
	edit(t, filepath.Join(dir, "engine/config.go"), "\tDate func() string\n", "\t// NewOption is new.\n\tNewOption time.Duration "+marker+"\n\tDate func() string\n")
	edit(t, filepath.Join(dir, "loop/core.go"), "\tMaxConns int "+marker+"\n", "\tMaxConns int\n")
	files, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, gen := string(files[serverFile]), string(files[optionsFile])
	for _, want := range []string{"at most 65536 (edited).\n\tMaxConcurrentStreams uint32\n", "\t// NewOption is new.\n\tNewOption time.Duration\n"} {
		if !strings.Contains(srv, want) {
			t.Errorf("server.go lacks %q", want)
		}
	}
	if !strings.Contains(gen, "o.NewOption = s.NewOption\n") {
		t.Errorf("options_gen.go does not copy NewOption:\n%s", gen)
	}
	if strings.Contains(srv, "\tMaxConns int\n") || strings.Contains(gen, "MaxConns") {
		t.Error("MaxConns, no longer marked, is still generated")
	}
	// Regenerating the output is a fixed point.
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	again, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if !bytes.Equal(files[name], again[name]) {
			t.Errorf("%s changes when generated twice", name)
		}
	}
}

// Declarations the generator cannot copy are errors, not silent skips.
func TestRejects(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"package type", "\tWriteChunk int " + marker, "\tWriteChunk codec.ErrCode " + marker, "only built-in and time types"},
		{"no doc", "\t// Date, when set", "\tBare int " + marker + "\n\n\t// Date, when set", "no doc comment"},
		{"misspelt marker", "\tWriteChunk int " + marker, "\tWriteChunk int // h2loop.Server options", "the marker is exactly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTree(t)
			edit(t, filepath.Join(dir, "engine/config.go"), tc.old, tc.new)
			if _, err := Generate(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Generate: %v, want an error with %q", err, tc.want)
			}
		})
	}
	dir := copyTree(t)
	edit(t, filepath.Join(dir, serverFile), "\t// ---- end of the generated transport options ----\n", "")
	if _, err := Generate(dir); err == nil {
		t.Fatal("Generate without the region's end line: no error")
	}
}
