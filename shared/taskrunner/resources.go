package taskrunner

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipwayhq/slipway/shared/executor"
)

// lookup reads uri at the service, then the stage, then the project level,
// returning the first found. The stage and service reads are pinned to the
// commit; the project level lives on another branch, so it is read at the
// latest version (like the job-executor-service). Unlike executor.Find, an
// empty file counts as found: an empty definition is invalid, not absent.
func lookup(ctx context.Context, res executor.Resources, sc executor.Scope, uri string) ([]byte, error) {
	for _, l := range sc.Levels() {
		b, err := sc.Get(ctx, res, l, uri)
		if !errors.Is(err, executor.ErrNotFound) {
			return b, err
		}
	}
	return nil, fmt.Errorf("%s in project %q (service %q, stage %q, project): %w", uri, sc.Project, sc.Service, sc.Stage, executor.ErrNotFound)
}
