// dockerfile-check lints Dockerfiles with BuildKit's own rules (the checks behind
// `docker build --check`), without a Docker engine or a registry, and can describe a
// Dockerfile's stages as JSON so tests can assert properties of the image it builds.
//
//	dockerfile-check services/*/Dockerfile              lint; exit 1 on any warning or error
//	dockerfile-check -describe services/booking/Dockerfile
//
// Base images are not pulled: the linter is given an empty image config for every FROM,
// which is all its rules need.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	digest "github.com/opencontainers/go-digest"
)

// offlineImages answers every base-image lookup with a minimal config instead of asking a
// registry: the lint rules look at the Dockerfile, not at the image's layers.
type offlineImages struct{}

func (offlineImages) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"},` +
		`"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}}`)
	return ref, digest.FromBytes(config), config, nil
}

type finding struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

func lint(path string, dt []byte) ([]finding, error) {
	source := llb.NewSourceMap(nil, path, "Dockerfile", dt)
	source.Definition = &llb.Definition{}
	results, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
		SourceMap:    source,
		MetaResolver: offlineImages{},
	})
	if err != nil {
		return nil, err
	}
	var found []finding
	for _, w := range results.Warnings {
		line := 0
		if len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		found = append(found, finding{File: path, Line: line, Rule: w.RuleName, Message: w.Detail})
	}
	if results.Error != nil {
		line := 0
		if len(results.Error.Location.Ranges) > 0 {
			line = int(results.Error.Location.Ranges[0].Start.Line)
		}
		found = append(found, finding{File: path, Line: line, Rule: "BuildError", Message: results.Error.Message})
	}
	return found, nil
}

type command struct {
	Instruction string          `json:"instruction"`
	Line        int             `json:"line"`
	Source      string          `json:"source"`
	Detail      json.RawMessage `json:"detail"`
}

type stage struct {
	Name     string    `json:"name"`
	Base     string    `json:"base"`
	Line     int       `json:"line"`
	Commands []command `json:"commands"`
}

type description struct {
	File       string            `json:"file"`
	Directives map[string]string `json:"directives"`
	MetaArgs   json.RawMessage   `json:"meta_args"`
	Stages     []stage           `json:"stages"`
	Findings   []finding         `json:"findings"`
}

func firstLine(ranges []parser.Range) int {
	if len(ranges) == 0 {
		return 0
	}
	return ranges[0].Start.Line
}

func describe(path string, dt []byte, found []finding) (*description, error) {
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return nil, err
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return nil, err
	}
	out := &description{File: path, Directives: map[string]string{}, Findings: found}
	for _, name := range []string{"syntax", "check", "escape"} {
		if value, _, _, ok := parser.ParseDirective(name, dt); ok {
			out.Directives[name] = value
		}
	}
	if out.MetaArgs, err = json.Marshal(metaArgs); err != nil {
		return nil, err
	}
	for _, s := range stages {
		st := stage{Name: s.Name, Base: s.BaseName, Line: firstLine(s.Location), Commands: []command{}}
		for _, c := range s.Commands {
			detail, err := json.Marshal(c)
			if err != nil {
				return nil, err
			}
			source := ""
			if stringer, ok := c.(fmt.Stringer); ok {
				source = stringer.String()
			}
			st.Commands = append(st.Commands, command{
				Instruction: strings.ToUpper(c.Name()),
				Line:        firstLine(c.Location()),
				Source:      source,
				Detail:      detail,
			})
		}
		out.Stages = append(out.Stages, st)
	}
	return out, nil
}

func main() {
	describeFlag := flag.Bool("describe", false, "print each Dockerfile's stages and findings as JSON (exit 0 unless it cannot be parsed)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: dockerfile-check [-describe] Dockerfile...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	failed := false
	var described []*description
	for _, path := range flag.Args() {
		dt, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		found, err := lint(path, dt)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			os.Exit(2)
		}
		if *describeFlag {
			d, err := describe(path, dt, found)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
				os.Exit(2)
			}
			described = append(described, d)
			continue
		}
		for _, f := range found {
			fmt.Printf("%s:%d: %s: %s\n", f.File, f.Line, f.Rule, f.Message)
			failed = true
		}
	}
	if *describeFlag {
		encoder := json.NewEncoder(os.Stdout)
		encoder.SetIndent("", "  ")
		if err := encoder.Encode(described); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		return
	}
	if failed {
		os.Exit(1)
	}
	fmt.Printf("%d Dockerfile(s): no findings\n", flag.NArg())
}
