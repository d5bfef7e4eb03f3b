// Package version reports what build of patchday is running.
package version

import "runtime/debug"

// Version is set at build time with -ldflags "-X github.com/patchday/patchday/internal/version.Version=v1.2.3".
var Version = ""

// String returns the build's version, falling back to the module version
// or the VCS revision recorded by the Go toolchain.
func String() string {
	if Version != "" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}
