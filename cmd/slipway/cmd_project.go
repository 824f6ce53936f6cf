package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/cmd/slipway/internal/client"
	"github.com/slipwayhq/slipway/cmd/slipway/internal/output"
)

type gitFlags struct{ user, remote, token string }

func (g *gitFlags) add(c *cobra.Command) {
	c.Flags().StringVarP(&g.user, "git-user", "u", "", "git user of the upstream (stored, not used: Slipway has no git upstream)")
	c.Flags().StringVarP(&g.remote, "git-remote-url", "r", "", "remote URL of the upstream (stored, not used)")
	c.Flags().StringVarP(&g.token, "git-token", "t", "", "git token (validated, never stored)")
}

func (g *gitFlags) credentials() map[string]any {
	if g.remote == "" && g.user == "" && g.token == "" {
		return nil
	}
	c := map[string]any{"remoteURL": g.remote, "user": g.user}
	if g.token != "" {
		c["https"] = map[string]any{"token": g.token}
	}
	return c
}

func (a *app) createCmd() *cobra.Command {
	c := &cobra.Command{Use: "create", Short: "Creates a project or a service"}
	var shipyardFile string
	var git gitFlags
	proj := &cobra.Command{
		Use:     "project PROJECTNAME --shipyard=FILEPATH",
		Short:   "Creates a project from a shipyard file",
		Example: "slipway create project demo --shipyard=./shipyard.yaml",
		Args:    exactArgs(1, "PROJECTNAME"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cl, err := a.api()
			if err != nil {
				return err
			}
			sy, err := readFile(shipyardFile)
			if err != nil {
				return err
			}
			body := map[string]any{"name": args[0], "shipyard": base64.StdEncoding.EncodeToString(sy)}
			if g := git.credentials(); g != nil {
				body["gitCredentials"] = g
			}
			if err := cl.Do(cmd.Context(), http.MethodPost, "/controlPlane/v1/project", nil, body, nil); err != nil {
				return err
			}
			a.printf("Project %s created\n", args[0])
			return nil
		}),
	}
	proj.Flags().StringVarP(&shipyardFile, "shipyard", "s", "", "path to the shipyard file")
	_ = proj.MarkFlagRequired("shipyard")
	git.add(proj)

	var project string
	svc := &cobra.Command{
		Use:     "service SERVICENAME --project=PROJECTNAME",
		Short:   "Creates a service in every stage of a project",
		Example: "slipway create service carts --project=demo",
		Args:    exactArgs(1, "SERVICENAME"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cl, err := a.api()
			if err != nil {
				return err
			}
			if err := cl.Do(cmd.Context(), http.MethodPost, "/controlPlane/v1/project/"+url.PathEscape(project)+"/service",
				nil, map[string]string{"serviceName": args[0]}, nil); err != nil {
				return err
			}
			a.printf("Service %s created in project %s\n", args[0], project)
			return nil
		}),
	}
	svc.Flags().StringVarP(&project, "project", "p", "", "the project")
	_ = svc.MarkFlagRequired("project")
	c.AddCommand(proj, svc)
	return c
}

func (a *app) updateCmd() *cobra.Command {
	c := &cobra.Command{Use: "update", Short: "Updates a project"}
	var shipyardFile string
	var git gitFlags
	proj := &cobra.Command{
		Use:     "project PROJECTNAME [--shipyard=FILEPATH] [--git-remote-url=URL --git-user=USER --git-token=TOKEN]",
		Short:   "Replaces a project's shipyard (stages cannot change) or its git credentials",
		Example: "slipway update project demo --shipyard=./shipyard.yaml",
		Args:    exactArgs(1, "PROJECTNAME"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"name": args[0]}
			if shipyardFile != "" {
				sy, err := readFile(shipyardFile)
				if err != nil {
					return err
				}
				body["shipyard"] = base64.StdEncoding.EncodeToString(sy)
			}
			if g := git.credentials(); g != nil {
				body["gitCredentials"] = g
			}
			if len(body) == 1 {
				return usageErrorf("nothing to update: pass --shipyard or --git-remote-url")
			}
			cl, err := a.api()
			if err != nil {
				return err
			}
			if err := cl.Do(cmd.Context(), http.MethodPut, "/controlPlane/v1/project", nil, body, nil); err != nil {
				return err
			}
			a.printf("Project %s updated\n", args[0])
			return nil
		}),
	}
	proj.Flags().StringVarP(&shipyardFile, "shipyard", "s", "", "path to the new shipyard file")
	git.add(proj)
	c.AddCommand(proj)
	return c
}

func (a *app) deleteCmd() *cobra.Command {
	c := &cobra.Command{Use: "delete", Short: "Deletes a project or a service"}
	proj := &cobra.Command{
		Use:   "project PROJECTNAME",
		Short: "Deletes a project with its services, resources, sequences and history",
		Args:  exactArgs(1, "PROJECTNAME"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cl, err := a.api()
			if err != nil {
				return err
			}
			var out struct {
				Message string `json:"message"`
			}
			if err := cl.Do(cmd.Context(), http.MethodDelete, "/controlPlane/v1/project/"+url.PathEscape(args[0]), nil, nil, &out); err != nil {
				return err
			}
			a.printf("Project %s deleted\n", args[0])
			if out.Message != "" {
				a.printf("%s\n", out.Message)
			}
			return nil
		}),
	}
	var project string
	svc := &cobra.Command{
		Use:   "service SERVICENAME --project=PROJECTNAME",
		Short: "Deletes a service from every stage of a project",
		Args:  exactArgs(1, "SERVICENAME"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cl, err := a.api()
			if err != nil {
				return err
			}
			if err := cl.Do(cmd.Context(), http.MethodDelete, "/controlPlane/v1/project/"+url.PathEscape(project)+
				"/service/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
				return err
			}
			a.printf("Service %s deleted from project %s\n", args[0], project)
			return nil
		}),
	}
	svc.Flags().StringVarP(&project, "project", "p", "", "the project")
	_ = svc.MarkFlagRequired("project")
	c.AddCommand(proj, svc)
	return c
}

// exactArgs is cobra.ExactArgs with the argument named in the message.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s expects %s, got %d argument(s)", cmd.CommandPath(), names, len(args))
		}
		return nil
	}
}

func (a *app) addResourceCmd() *cobra.Command {
	var project, stage, service, resource, uri string
	var allStages bool
	c := &cobra.Command{
		Use:   "add-resource --project=PROJECT [--stage=STAGE|--all-stages] [--service=SERVICE] --resource=FILEPATH [--resourceUri=PATH]",
		Short: "Adds a file to a project's configuration (project, stage or service level)",
		Example: `slipway add-resource --project=demo --stage=dev --service=carts --resource=./slo.yaml --resourceUri=slo.yaml
slipway add-resource --project=demo --all-stages --service=carts --resource=./run.sh --resourceUri=generic-executor/deployment.triggered.sh`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if stage != "" && allStages {
				return usageErrorf("--stage and --all-stages cannot be used together")
			}
			if service != "" && stage == "" && !allStages {
				return usageErrorf("--service needs --stage or --all-stages")
			}
			content, err := readFile(resource)
			if err != nil {
				return err
			}
			if uri == "" {
				uri = path.Base(resource)
			}
			uri = strings.TrimPrefix(uri, "/")
			cl, err := a.api()
			if err != nil {
				return err
			}
			stages := []string{stage}
			if allStages {
				if stages, err = projectStages(cmd.Context(), cl, project); err != nil {
					return err
				}
			}
			body := map[string]any{"resources": []map[string]string{{
				"resourceURI": uri, "resourceContent": base64.StdEncoding.EncodeToString(content)}}}
			for _, st := range stages {
				p := "/resource-service/v1/project/" + url.PathEscape(project)
				where := "project " + project
				if st != "" {
					p += "/stage/" + url.PathEscape(st)
					where += " stage " + st
				}
				if service != "" {
					p += "/service/" + url.PathEscape(service)
					where += " service " + service
				}
				if err := cl.Do(cmd.Context(), http.MethodPost, p+"/resource", nil, body, nil); err != nil {
					return fmt.Errorf("add %s to %s: %w", uri, where, err)
				}
				a.printf("Resource %s added to %s\n", uri, where)
			}
			return nil
		}),
	}
	f := c.Flags()
	f.StringVarP(&project, "project", "p", "", "the project")
	f.StringVarP(&stage, "stage", "s", "", "the stage (omit for the project level)")
	f.BoolVar(&allStages, "all-stages", false, "add to every stage")
	f.StringVar(&service, "service", "", "the service (needs --stage or --all-stages)")
	f.StringVarP(&resource, "resource", "r", "", "the local file")
	f.StringVar(&uri, "resourceUri", "", "where to store it (default: the file's name)")
	_ = c.MarkFlagRequired("project")
	_ = c.MarkFlagRequired("resource")
	return c
}

// project is the part of Keptn's ExpandedProject the CLI reads.
type project struct {
	ProjectName     string `json:"projectName"`
	CreationDate    string `json:"creationDate"`
	ShipyardVersion string `json:"shipyardVersion"`
	Stages          []struct {
		StageName string `json:"stageName"`
		Services  []struct {
			ServiceName   string `json:"serviceName"`
			DeployedImage string `json:"deployedImage"`
		} `json:"services"`
	} `json:"stages"`
}

func getProject(ctx context.Context, cl *client.Client, name string) (project, json.RawMessage, error) {
	var raw json.RawMessage
	if err := cl.Do(ctx, http.MethodGet, "/controlPlane/v1/project/"+url.PathEscape(name), nil, nil, &raw); err != nil {
		return project{}, nil, err
	}
	var p project
	if err := json.Unmarshal(raw, &p); err != nil {
		return project{}, nil, fmt.Errorf("decode project %s: %w", name, err)
	}
	return p, raw, nil
}

func projectStages(ctx context.Context, cl *client.Client, name string) ([]string, error) {
	p, _, err := getProject(ctx, cl, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range p.Stages {
		out = append(out, s.StageName)
	}
	return out, nil
}

// allProjects reads every page of GET /project.
func allProjects(ctx context.Context, cl *client.Client) ([]json.RawMessage, error) {
	var all []json.RawMessage
	q := url.Values{"pageSize": {"50"}}
	for range 1000 {
		var page struct {
			Projects    []json.RawMessage `json:"projects"`
			NextPageKey json.RawMessage   `json:"nextPageKey"`
		}
		if err := cl.Do(ctx, http.MethodGet, "/controlPlane/v1/project", q, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Projects...)
		next := strings.Trim(string(page.NextPageKey), `"`)
		if next == "" || next == "0" || len(page.Projects) == 0 {
			break
		}
		q.Set("nextPageKey", next)
	}
	return all, nil
}

func (a *app) getCmd() *cobra.Command {
	c := &cobra.Command{Use: "get", Short: "Shows projects, stages, services or events"}
	c.AddCommand(a.getProjectsCmd(), a.getStagesCmd(), a.getServicesCmd(), a.getEventCmd())
	return c
}

func (a *app) getProjectsCmd() *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:     "projects [PROJECTNAME]",
		Aliases: []string{"project"},
		Short:   "Shows all projects, or one",
		Args:    cobra.MaximumNArgs(1),
		PreRunE: checkOutput(&format),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cl, err := a.api()
			if err != nil {
				return err
			}
			var raws []json.RawMessage
			var doc any
			if len(args) == 1 {
				_, raw, err := getProject(cmd.Context(), cl, args[0])
				if err != nil {
					return err
				}
				raws, doc = []json.RawMessage{raw}, raw
			} else {
				if raws, err = allProjects(cmd.Context(), cl); err != nil {
					return err
				}
				if raws == nil {
					raws = []json.RawMessage{}
				}
				doc = raws
			}
			return a.printValue(format, doc, func() error {
				var rows [][]string
				for _, raw := range raws {
					var p project
					if err := json.Unmarshal(raw, &p); err != nil {
						return err
					}
					var stages []string
					n := 0
					for _, s := range p.Stages {
						stages = append(stages, s.StageName)
						n = max(n, len(s.Services))
					}
					rows = append(rows, []string{p.ProjectName, strings.Join(stages, ","), fmt.Sprint(n), p.ShipyardVersion})
				}
				return output.Rows(a.out, []string{"NAME", "STAGES", "SERVICES", "SHIPYARD"}, rows)
			})
		}),
	}
	addOutputFlag(c, &format)
	return c
}

func (a *app) getStagesCmd() *cobra.Command {
	var format, projectName string
	c := &cobra.Command{
		Use:     "stages --project=PROJECTNAME",
		Aliases: []string{"stage"},
		Short:   "Shows the stages of a project",
		Args:    cobra.NoArgs,
		PreRunE: checkOutput(&format),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			cl, err := a.api()
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := cl.Do(cmd.Context(), http.MethodGet, "/controlPlane/v1/project/"+url.PathEscape(projectName)+"/stage",
				url.Values{"pageSize": {"1000"}}, nil, &raw); err != nil {
				return err
			}
			var out struct {
				Stages []json.RawMessage `json:"stages"`
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				return err
			}
			if out.Stages == nil {
				out.Stages = []json.RawMessage{}
			}
			return a.printValue(format, out.Stages, func() error {
				var rows [][]string
				for _, s := range out.Stages {
					var st struct {
						StageName string `json:"stageName"`
						Services  []struct {
							ServiceName string `json:"serviceName"`
						} `json:"services"`
					}
					if err := json.Unmarshal(s, &st); err != nil {
						return err
					}
					var svcs []string
					for _, x := range st.Services {
						svcs = append(svcs, x.ServiceName)
					}
					rows = append(rows, []string{st.StageName, strings.Join(svcs, ",")})
				}
				return output.Rows(a.out, []string{"STAGE", "SERVICES"}, rows)
			})
		}),
	}
	c.Flags().StringVarP(&projectName, "project", "p", "", "the project")
	_ = c.MarkFlagRequired("project")
	addOutputFlag(c, &format)
	return c
}

func (a *app) getServicesCmd() *cobra.Command {
	var format, projectName, stage string
	c := &cobra.Command{
		Use:     "services [SERVICENAME] --project=PROJECTNAME [--stage=STAGE]",
		Aliases: []string{"service"},
		Short:   "Shows the services of a project per stage",
		Args:    cobra.MaximumNArgs(1),
		PreRunE: checkOutput(&format),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cl, err := a.api()
			if err != nil {
				return err
			}
			p, raw, err := getProject(cmd.Context(), cl, projectName)
			if err != nil {
				return err
			}
			var full struct {
				Stages []struct {
					StageName string            `json:"stageName"`
					Services  []json.RawMessage `json:"services"`
				} `json:"stages"`
			}
			if err := json.Unmarshal(raw, &full); err != nil {
				return err
			}
			type item struct {
				Stage   string          `json:"stage"`
				Service json.RawMessage `json:"service"`
			}
			items := []item{}
			var rows [][]string
			found := false
			for i, s := range p.Stages {
				if stage != "" && s.StageName != stage {
					continue
				}
				found = true
				for j, svc := range s.Services {
					if len(args) == 1 && svc.ServiceName != args[0] {
						continue
					}
					items = append(items, item{Stage: s.StageName, Service: full.Stages[i].Services[j]})
					rows = append(rows, []string{svc.ServiceName, s.StageName, svc.DeployedImage})
				}
			}
			if stage != "" && !found {
				return fmt.Errorf("stage %s not found in project %s", stage, projectName)
			}
			if len(args) == 1 && len(items) == 0 {
				return fmt.Errorf("service %s not found in project %s", args[0], projectName)
			}
			return a.printValue(format, items, func() error {
				return output.Rows(a.out, []string{"SERVICE", "STAGE", "DEPLOYED IMAGE"}, rows)
			})
		}),
	}
	c.Flags().StringVarP(&projectName, "project", "p", "", "the project")
	c.Flags().StringVarP(&stage, "stage", "s", "", "only this stage")
	_ = c.MarkFlagRequired("project")
	addOutputFlag(c, &format)
	return c
}
