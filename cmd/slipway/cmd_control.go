package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/cmd/slipway/internal/client"
	"github.com/slipwayhq/slipway/cmd/slipway/internal/watch"
)

// controlCmd is abort, pause or resume. `slipway abort sequence …` works
// too, as Keptn's CLI spelled it.
func (a *app) controlCmd(state string) *cobra.Command {
	var projectName, kctx, stage string
	c := &cobra.Command{
		Use:     state + " [sequence] --project=PROJECT --keptn-context=CTX [--stage=STAGE]",
		Short:   map[string]string{"abort": "Aborts", "pause": "Pauses", "resume": "Resumes"}[state] + " the sequences of a keptn context (in one stage with --stage)",
		Example: fmt.Sprintf("slipway %s --project=demo --keptn-context=$CTX", state),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || (len(args) == 1 && args[0] != "sequence") {
				return usageErrorf("%s takes no arguments besides the word sequence", cmd.CommandPath())
			}
			return nil
		},
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			cl, err := a.api()
			if err != nil {
				return err
			}
			// The control endpoint answers 200 for anything (as Keptn's);
			// reading the project and the context first turns typos into errors.
			if err := cl.Do(cmd.Context(), http.MethodGet, "/controlPlane/v1/project/"+url.PathEscape(projectName), nil, nil, nil); err != nil {
				return err
			}
			if err := contextExists(cmd.Context(), cl, projectName, kctx); err != nil {
				return err
			}
			body := map[string]string{"state": state}
			if stage != "" {
				body["stage"] = stage
			}
			if err := cl.Do(cmd.Context(), http.MethodPost, "/controlPlane/v1/sequence/"+url.PathEscape(projectName)+"/"+
				url.PathEscape(kctx)+"/control", nil, body, nil); err != nil {
				return err
			}
			where := ""
			if stage != "" {
				where = " in stage " + stage
			}
			a.printf("Sent %s to keptn context %s%s\n", state, kctx, where)
			return nil
		}),
	}
	f := c.Flags()
	f.StringVarP(&projectName, "project", "p", "", "the project")
	f.StringVarP(&kctx, "keptn-context", "c", "", "the keptn context")
	f.StringVarP(&stage, "stage", "s", "", "only this stage")
	_ = c.MarkFlagRequired("project")
	_ = c.MarkFlagRequired("keptn-context")
	return c
}

func contextExists(ctx context.Context, cl *client.Client, projectName, kctx string) error {
	var out struct {
		States []struct{} `json:"states"`
	}
	if err := cl.Do(ctx, http.MethodGet, "/controlPlane/v1/sequence/"+url.PathEscape(projectName),
		url.Values{"keptnContext": {kctx}}, nil, &out); err != nil {
		return err
	}
	if len(out.States) == 0 {
		return fmt.Errorf("keptn context %s not found in project %s", kctx, projectName)
	}
	return nil
}

func (a *app) watchCmd() *cobra.Command {
	var projectName, kctx string
	var wf watchFlags
	c := &cobra.Command{
		Use:   "watch --keptn-context=CTX [--project=PROJECT] [--watch-timeout=30m]",
		Short: "Follows a keptn context until its sequences end; the exit code tells the result",
		Long: `Shows the stages and tasks of a keptn context with their progress and elapsed
times until every sequence ended. On a terminal the view is redrawn in place; on a pipe
each change is one plain line (no control codes).

Exit code: 0 pass, 1 fail (or an error), 2 warning, 3 aborted, timed out, or
--watch-timeout reached.`,
		Example: "slipway watch --keptn-context=$CTX --watch-timeout=30m && echo released",
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			cl, err := a.api()
			if err != nil {
				return err
			}
			if projectName == "" {
				if projectName, err = cl.ContextProject(cmd.Context(), kctx); err != nil {
					return err
				}
			} else if err := cl.Do(cmd.Context(), http.MethodGet, "/controlPlane/v1/project/"+url.PathEscape(projectName), nil, nil, nil); err != nil {
				return err
			}
			return a.follow(cmd.Context(), cl, projectName, kctx, wf)
		}),
	}
	c.Flags().StringVar(&kctx, "keptn-context", "", "the keptn context")
	c.Flags().StringVar(&projectName, "project", "", "the project (default: found from the context's events)")
	wf.add(c, false)
	_ = c.MarkFlagRequired("keptn-context")
	return c
}

// follow runs the watch view and turns its result into the exit code.
func (a *app) follow(ctx context.Context, cl *client.Client, projectName, kctx string, wf watchFlags) error {
	code, err := watch.Follow(ctx, &watch.APISource{API: cl, Project: projectName, Context: kctx}, watch.Options{
		Out: a.out, TTY: a.env.tty, Width: a.env.width, Interval: wf.interval, Timeout: wf.timeout, Now: time.Now,
	})
	if err != nil {
		return err
	}
	if code != 0 {
		return &codeError{code: code}
	}
	return nil
}
