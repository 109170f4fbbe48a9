// Compile-only stand-in for github.com/vito/tuist (the Dagger CLI's interactive TUI toolkit), whose
// versions the Go module proxy reachable on our CI machines does not serve. Our own code: it declares
// only the API that github.com/dagger/dagger v0.21.x uses, and its TUI refuses to start, so the CLI
// must run with a non-interactive frontend (--progress=plain, or no TTY as under the SDKs).
module github.com/vito/tuist

go 1.22

require (
	charm.land/lipgloss/v2 v2.0.2
	github.com/charmbracelet/ultraviolet v0.0.0-20260309091805-903bfd0cf188
)
