// Command patchday-agent runs on each endpoint: it checks in with a
// patchday server and installs approved updates. This build has only the
// version subcommand; the agent itself comes with its own issue.
package main

import (
	"fmt"
	"os"

	"github.com/patchday/patchday/internal/version"
)

const usage = `usage: patchday-agent <command>

commands:
  version   print the version
`

func main() {
	if len(os.Args) == 2 && os.Args[1] == "version" {
		fmt.Println("patchday-agent", version.String())
		return
	}
	if len(os.Args) == 2 && (os.Args[1] == "--help" || os.Args[1] == "-h" || os.Args[1] == "help") {
		fmt.Print(usage)
		return
	}
	fmt.Fprint(os.Stderr, usage)
	os.Exit(2)
}
