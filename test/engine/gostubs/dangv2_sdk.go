// Build overlay (build-dagger.sh): replaces the files of github.com/dagger/dagger/core/sdk/dang/v2.
// That package needs github.com/vito/dang/v2, which the Go module proxy reachable on our CI machines
// does not serve. Our own code: modules written in Dang v2 are refused with a clear error; every other
// SDK (and Dang v1) is untouched.
package dangv2

import (
	"context"
	"errors"

	"github.com/dagger/dagger/core"
	"github.com/dagger/dagger/dagql"
)

var errUnavailable = errors.New("the Dang v2 SDK is not included in this Dagger engine build")

type Impl struct{}

func (Impl) ModuleTypes(
	context.Context, *core.SchemaBuilder,
	dagql.ObjectResult[*core.ModuleSource], dagql.ObjectResult[*core.Module],
) (inst dagql.ObjectResult[*core.Module], _ error) {
	return inst, errUnavailable
}

func (Impl) Runtime(context.Context, *core.SchemaBuilder, dagql.ObjectResult[*core.ModuleSource]) (core.ModuleRuntime, error) {
	return nil, errUnavailable
}
