// compose-config loads a Compose file the way Docker Compose does (compose-go: the Compose
// Specification's schema, variable interpolation with ${VAR:?error}, normalisation) and
// prints the resulting project as JSON, like `docker compose config --format json`, without
// a Docker engine.
//
//	compose-config -env-file deploy/compose.env deploy/compose.yaml
//
// Only the given env file feeds interpolation (not this process's environment), so a test
// decides exactly which variables are set. Exit 1 with Compose's own message when the file
// is invalid or a required variable is missing.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	envFile := flag.String("env-file", "", "file of VAR=value lines used for interpolation")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: compose-config [-env-file FILE] compose.yaml")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	options := []cli.ProjectOptionsFn{cli.WithName("club")}
	if *envFile != "" {
		options = append(options, cli.WithEnvFiles(*envFile), cli.WithDotEnv)
	}
	projectOptions, err := cli.NewProjectOptions([]string{flag.Arg(0)}, options...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := projectOptions.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
