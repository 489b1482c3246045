package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Version and Commit, when set at link time, win over what the build info
// says:
//
//	go build -ldflags "-X github.com/eventwire/eventwire/internal/cli.Version=v1.2.0 -X github.com/eventwire/eventwire/internal/cli.Commit=5c4ef10" ./cmd/eventwire
var (
	Version string
	Commit  string
)

// versionInfo is what `eventwire version` prints.
type versionInfo struct {
	Version  string // module version: v1.2.0, or devel for a local build
	Commit   string // VCS revision, "" if unknown
	Modified bool   // built from a tree with uncommitted changes
	Go       string // toolchain and platform
}

func (v versionInfo) String() string {
	s := "eventwire " + v.Version
	var extra []string
	if v.Commit != "" {
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if v.Modified {
			c += "-dirty"
		}
		extra = append(extra, "commit "+c)
	}
	extra = append(extra, v.Go)
	return fmt.Sprintf("%s (%s)", s, strings.Join(extra, ", "))
}

// readVersion reads the running binary's build info, with the link-time
// overrides applied.
func readVersion() versionInfo {
	bi, _ := debug.ReadBuildInfo()
	return versionFrom(bi, Version, Commit)
}

// versionFrom is readVersion's logic over a given build info (nil when the
// binary has none).
func versionFrom(bi *debug.BuildInfo, version, commit string) versionInfo {
	v := versionInfo{Version: "devel", Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		v.Version = version
	}
	if commit != "" {
		v.Commit, v.Modified = commit, false
	}
	return v
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print eventwire's version",
		Long: `Prints the version of eventwire: the module version (v1.2.0 for a
release or a 'go install' of a tag, devel for a local build), the VCS
commit it was built from when known ("-dirty" if the tree had
uncommitted changes), and the Go toolchain and platform. Same as
'eventwire --version'.`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(a.env.Stdout, readVersion())
			return nil
		},
	}
}
