// Stand-in for github.com/dagger/dagger/engine/distconsts, a separate module of the dagger repo that
// the Go module proxy reachable on our CI machines does not serve (neither tags nor pseudo-versions).
module github.com/dagger/dagger/engine/distconsts

go 1.22
