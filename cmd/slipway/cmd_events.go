package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/cmd/slipway/internal/client"
	"github.com/slipwayhq/slipway/cmd/slipway/internal/output"
)

// cliSource is the CloudEvents source of events the CLI sends.
const cliSource = "https://github.com/slipwayhq/slipway/cmd/slipway"

// newEvent builds a Keptn CloudEvent for POST /v1/event.
func newEvent(typ, keptnContext, triggeredID string, data any) map[string]any {
	ev := map[string]any{"id": uuid.NewString(), "type": typ, "source": cliSource, "specversion": "1.0",
		"contenttype": "application/json", "shkeptnspecversion": "0.2.4", "data": data}
	if keptnContext != "" {
		ev["shkeptncontext"] = keptnContext
	}
	if triggeredID != "" {
		ev["triggeredid"] = triggeredID
	}
	return ev
}

func (a *app) triggerCmd() *cobra.Command {
	c := &cobra.Command{Use: "trigger", Short: "Triggers a delivery, an evaluation or any sequence"}
	c.AddCommand(a.triggerDeliveryCmd(), a.triggerEvaluationCmd(), a.triggerSequenceCmd())
	return c
}

// watchFlags are trigger's --watch options.
type watchFlags struct {
	watch    bool
	timeout  time.Duration
	interval time.Duration
}

func (w *watchFlags) add(c *cobra.Command, withSwitch bool) {
	if withSwitch {
		c.Flags().BoolVarP(&w.watch, "watch", "w", false, "watch the sequence until it ends (exit code as slipway watch)")
	}
	c.Flags().DurationVar(&w.timeout, "watch-timeout", 0, "stop watching after this long, exit 3 (0: no limit)")
	c.Flags().DurationVar(&w.interval, "watch-interval", time.Second, "how often the view reads the API")
}

func (a *app) triggerDeliveryCmd() *cobra.Command {
	var projectName, service, stage, image, tag, sequence string
	var labels map[string]string
	var wf watchFlags
	c := &cobra.Command{
		Use:     "delivery --project=PROJECT --service=SERVICE [--stage=STAGE] --image=IMAGE [--tag=TAG] [--labels=k=v,...]",
		Short:   "Triggers the delivery of a new artifact (first stage of the shipyard unless --stage)",
		Example: "slipway trigger delivery --project=demo --service=carts --image=docker.io/keptnexamples/carts --tag=0.13.1",
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if tag != "" {
				if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
					return usageErrorf("--image %s already has a tag; drop --tag or the tag", image)
				}
				image += ":" + tag
			}
			cl, err := a.api()
			if err != nil {
				return err
			}
			p, _, err := getProject(cmd.Context(), cl, projectName)
			if err != nil {
				return err
			}
			if stage == "" {
				if len(p.Stages) == 0 {
					return fmt.Errorf("project %s has no stages", projectName)
				}
				stage = p.Stages[0].StageName
			}
			if err := serviceInStage(p, stage, service); err != nil {
				return err
			}
			data := map[string]any{"project": projectName, "stage": stage, "service": service,
				"configurationChange": map[string]any{"values": map[string]any{"image": image}}}
			if len(labels) > 0 {
				data["labels"] = labels
			}
			kctx, err := cl.SendEvent(cmd.Context(), newEvent("sh.keptn.event."+stage+"."+sequence+".triggered", "", "", data))
			if err != nil {
				return err
			}
			a.printf("Triggered %s of %s in %s/%s with image %s\nID of Keptn context: %s\n", sequence, service, projectName, stage, image, kctx)
			if wf.watch {
				return a.follow(cmd.Context(), cl, projectName, kctx, wf)
			}
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&projectName, "project", "", "the project")
	f.StringVar(&service, "service", "", "the service")
	f.StringVar(&stage, "stage", "", "the stage (default: the first stage of the shipyard)")
	f.StringVar(&image, "image", "", "the image, e.g. docker.io/org/app or docker.io/org/app:1.2")
	f.StringVar(&tag, "tag", "", "the image tag (appended as :TAG)")
	f.StringToStringVarP(&labels, "labels", "l", nil, "labels of the event, e.g. --labels=buildId=42,owner=me")
	f.StringVar(&sequence, "sequence", "delivery", "the sequence to trigger")
	wf.add(c, true)
	for _, n := range []string{"project", "service", "image"} {
		_ = c.MarkFlagRequired(n)
	}
	return c
}

func serviceInStage(p project, stage, service string) error {
	for _, s := range p.Stages {
		if s.StageName != stage {
			continue
		}
		for _, svc := range s.Services {
			if svc.ServiceName == service {
				return nil
			}
		}
		return fmt.Errorf("service %s not found in stage %s of project %s", service, stage, p.ProjectName)
	}
	return fmt.Errorf("stage %s not found in project %s", stage, p.ProjectName)
}

func (a *app) triggerEvaluationCmd() *cobra.Command {
	var projectName, stage, service, timeframe, start, end, commit string
	var labels map[string]string
	var wf watchFlags
	c := &cobra.Command{
		Use:   "evaluation --project=PROJECT --stage=STAGE --service=SERVICE [--timeframe=5m | --start=T [--end=T]]",
		Short: "Triggers an evaluation (quality gate) of a service in a stage",
		Example: `slipway trigger evaluation --project=demo --stage=hardening --service=carts --timeframe=5m
slipway trigger evaluation --project=demo --stage=hardening --service=carts --start=2026-01-02T15:00:00 --end=2026-01-02T15:10:00`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			switch {
			case timeframe != "" && end != "":
				return usageErrorf("--timeframe and --end cannot be used together")
			case end != "" && start == "":
				return usageErrorf("--end needs --start")
			}
			cl, err := a.api()
			if err != nil {
				return err
			}
			body := map[string]any{}
			for k, v := range map[string]string{"timeframe": timeframe, "start": start, "end": end, "gitcommitid": commit} {
				if v != "" {
					body[k] = v
				}
			}
			if len(labels) > 0 {
				body["labels"] = labels
			}
			var out struct {
				KeptnContext string `json:"keptnContext"`
			}
			p := fmt.Sprintf("/controlPlane/v1/project/%s/stage/%s/service/%s/evaluation",
				url.PathEscape(projectName), url.PathEscape(stage), url.PathEscape(service))
			if err := cl.Do(cmd.Context(), http.MethodPost, p, nil, body, &out); err != nil {
				return err
			}
			a.printf("Triggered evaluation of %s in %s/%s\nID of Keptn context: %s\n", service, projectName, stage, out.KeptnContext)
			if wf.watch {
				return a.follow(cmd.Context(), cl, projectName, out.KeptnContext, wf)
			}
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&projectName, "project", "", "the project")
	f.StringVar(&stage, "stage", "", "the stage")
	f.StringVar(&service, "service", "", "the service")
	f.StringVar(&timeframe, "timeframe", "", "evaluation timeframe ending now or starting at --start, e.g. 5m (default 5m)")
	f.StringVar(&start, "start", "", "start of the timeframe (ISO 8601, e.g. 2026-01-02T15:00:00)")
	f.StringVar(&end, "end", "", "end of the timeframe (ISO 8601)")
	f.StringVar(&commit, "git-commit-id", "", "commit id recorded with the evaluation")
	f.StringToStringVarP(&labels, "labels", "l", nil, "labels of the event")
	wf.add(c, true)
	for _, n := range []string{"project", "stage", "service"} {
		_ = c.MarkFlagRequired(n)
	}
	return c
}

func (a *app) triggerSequenceCmd() *cobra.Command {
	var projectName, stage, service string
	var labels, extra map[string]string
	var wf watchFlags
	c := &cobra.Command{
		Use:     "sequence SEQUENCE --project=PROJECT --stage=STAGE --service=SERVICE [--labels=k=v] [--data=a.b=v]",
		Short:   "Triggers any sequence of the shipyard",
		Example: "slipway trigger sequence remediation --project=demo --stage=production --service=carts --data=problem.problemTitle=cpu",
		Args:    exactArgs(1, "SEQUENCE"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			data := map[string]any{}
			for k, v := range extra {
				if err := setPath(data, k, v); err != nil {
					return usageErrorf("--data %s: %v", k, err)
				}
			}
			data["project"], data["stage"], data["service"] = projectName, stage, service
			if len(labels) > 0 {
				data["labels"] = labels
			}
			cl, err := a.api()
			if err != nil {
				return err
			}
			p, _, err := getProject(cmd.Context(), cl, projectName)
			if err != nil {
				return err
			}
			if err := serviceInStage(p, stage, service); err != nil {
				return err
			}
			kctx, err := cl.SendEvent(cmd.Context(), newEvent("sh.keptn.event."+stage+"."+args[0]+".triggered", "", "", data))
			if err != nil {
				return err
			}
			a.printf("Triggered sequence %s of %s in %s/%s\nID of Keptn context: %s\n", args[0], service, projectName, stage, kctx)
			if wf.watch {
				return a.follow(cmd.Context(), cl, projectName, kctx, wf)
			}
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&projectName, "project", "", "the project")
	f.StringVar(&stage, "stage", "", "the stage")
	f.StringVar(&service, "service", "", "the service")
	f.StringToStringVarP(&labels, "labels", "l", nil, "labels of the event")
	f.StringToStringVarP(&extra, "data", "d", nil, "fields merged into the event data; dots nest: --data=test.strategy=direct")
	wf.add(c, true)
	for _, n := range []string{"project", "stage", "service"} {
		_ = c.MarkFlagRequired(n)
	}
	return c
}

// setPath sets data[a][b]… = v for the dotted key a.b….
func setPath(data map[string]any, key, v string) error {
	parts := strings.Split(key, ".")
	m := data
	for i, p := range parts {
		if p == "" {
			return fmt.Errorf("empty name in %q", key)
		}
		if i == len(parts)-1 {
			m[p] = v
			return nil
		}
		next, ok := m[p].(map[string]any)
		if !ok {
			if _, taken := m[p]; taken {
				return fmt.Errorf("%s is both a value and an object", strings.Join(parts[:i+1], "."))
			}
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	return nil
}

func (a *app) sendCmd() *cobra.Command {
	c := &cobra.Command{Use: "send", Short: "Sends an event"}
	var file string
	ev := &cobra.Command{
		Use:     "event --file=FILEPATH",
		Short:   "Sends a Keptn CloudEvent from a JSON file to the API",
		Example: "slipway send event -f ./deployment-finished.json",
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			raw, err := readFile(file)
			if err != nil {
				return err
			}
			var probe map[string]json.RawMessage
			if err := json.Unmarshal(raw, &probe); err != nil {
				return fmt.Errorf("%s is not a JSON object: %w", file, err)
			}
			cl, err := a.api()
			if err != nil {
				return err
			}
			kctx, err := cl.SendEvent(cmd.Context(), raw)
			if err != nil {
				return err
			}
			a.printf("ID of Keptn context: %s\n", kctx)
			return nil
		}),
	}
	ev.Flags().StringVarP(&file, "file", "f", "", "the file holding the event (CloudEvents JSON)")
	_ = ev.MarkFlagRequired("file")
	// `keptn send event approval.finished --project --stage --id` approved
	// the approval with that id (cli/cmd/send_event_approvalFinished.go).
	af := a.approvalCmd("approval.finished", "pass")
	af.Short = "Approves an open approval, as `keptn send event approval.finished --id` did (same as slipway approve)"
	ev.AddCommand(af)
	c.AddCommand(ev)
	return c
}

func (a *app) getEventCmd() *cobra.Command {
	var format, projectName, kctx, stage, service string
	var pageSize int
	c := &cobra.Command{
		Use:     "event EVENTTYPE --project=PROJECT [--keptn-context=CTX] [--stage=STAGE] [--service=SERVICE]",
		Aliases: []string{"events"},
		Short:   "Shows events of a type from the event history, newest first (approval.triggered: the open ones)",
		Example: "slipway get event evaluation.finished --project=demo --keptn-context=$CTX -o json",
		Args:    exactArgs(1, "EVENTTYPE"),
		PreRunE: checkOutput(&format),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cl, err := a.api()
			if err != nil {
				return err
			}
			if err := cl.Do(cmd.Context(), http.MethodGet, "/controlPlane/v1/project/"+url.PathEscape(projectName), nil, nil, nil); err != nil {
				return err
			}
			typ := eventType(args[0])
			q := url.Values{"project": {projectName}, "pageSize": {fmt.Sprint(pageSize)}}
			for k, v := range map[string]string{"stage": stage, "service": service} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var out struct {
				Events []json.RawMessage `json:"events"`
			}
			if typ == "sh.keptn.event.approval.triggered" {
				// As Keptn's CLI (cli/cmd/get_event_approvalTriggered.go):
				// the approvals still open, not the history.
				if err := cl.Do(cmd.Context(), http.MethodGet, "/controlPlane/v1/event/triggered/"+typ, q, nil, &out); err != nil {
					return err
				}
				if kctx != "" {
					out.Events = slices.DeleteFunc(out.Events, func(raw json.RawMessage) bool {
						var e client.Event
						return json.Unmarshal(raw, &e) != nil || e.Shkeptncontext != kctx
					})
				}
			} else {
				q.Set("type", typ)
				if kctx != "" {
					q.Set("keptnContext", kctx)
				}
				if err := cl.Do(cmd.Context(), http.MethodGet, "/mongodb-datastore/event", q, nil, &out); err != nil {
					return err
				}
			}
			if out.Events == nil {
				out.Events = []json.RawMessage{}
			}
			return a.printValue(format, out.Events, func() error {
				if len(out.Events) == 0 {
					a.printf("No %s events found\n", eventType(args[0]))
					return nil
				}
				return eventRows(a, out.Events)
			})
		}),
	}
	f := c.Flags()
	f.StringVar(&projectName, "project", "", "the project")
	f.StringVar(&kctx, "keptn-context", "", "only this keptn context")
	f.StringVar(&stage, "stage", "", "only this stage")
	f.StringVar(&service, "service", "", "only this service")
	f.IntVar(&pageSize, "page-size", 20, "how many events (at most 100)")
	addOutputFlag(c, &format)
	_ = c.MarkFlagRequired("project")
	return c
}

func eventRows(a *app, raws []json.RawMessage) error {
	var rows [][]string
	for _, raw := range raws {
		var e client.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		d := client.DataOf(e)
		rows = append(rows, []string{e.Time.UTC().Format(time.RFC3339), e.Type, d.Stage, d.Service, d.Result, e.Shkeptncontext, e.ID})
	}
	return output.Rows(a.out, []string{"TIME", "TYPE", "STAGE", "SERVICE", "RESULT", "KEPTN CONTEXT", "ID"}, rows)
}

// checkResult validates a Keptn result value.
func checkResult(r string) error {
	switch r {
	case "pass", "warning", "fail":
		return nil
	}
	return usageErrorf("--result must be pass, warning or fail, not %q", r)
}

func (a *app) finishCmd() *cobra.Command {
	var kctx, task, result, reason, status, projectName string
	c := &cobra.Command{
		Use:   "finish --keptn-context=CTX --task=TASK [--result=pass|warning|fail] [--reason=TEXT]",
		Short: "Sends the .finished of a task that is waiting in a sequence (as its executor would)",
		Long: `Finds the open sh.keptn.event.<task>.triggered of the keptn context and answers it with
sh.keptn.event.<task>.finished carrying the result, status and reason (message). Useful for
tasks nobody executes yet, or to unblock a run by hand.`,
		Example: "slipway finish --keptn-context=$CTX --task=test --result=fail --reason='smoke tests failed'",
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if err := checkResult(result); err != nil {
				return err
			}
			if status != "succeeded" && status != "errored" {
				return usageErrorf("--status must be succeeded or errored, not %q", status)
			}
			cl, err := a.api()
			if err != nil {
				return err
			}
			typ := eventType(task + ".triggered")
			if strings.HasPrefix(task, "sh.keptn.") {
				typ = strings.TrimSuffix(task, ".triggered") + ".triggered"
			}
			open, err := cl.OpenTriggered(cmd.Context(), typ, projectName, "", "", "")
			if err != nil {
				return err
			}
			var trig *client.Event
			for i := range open {
				if open[i].Shkeptncontext == kctx {
					trig = &open[i]
					break
				}
			}
			if trig == nil {
				return fmt.Errorf("no open %s in keptn-context %s", typ, kctx)
			}
			d := client.DataOf(*trig)
			data := map[string]any{"project": d.Project, "stage": d.Stage, "service": d.Service,
				"result": result, "status": status}
			if reason != "" {
				data["message"] = reason
			}
			if len(d.Labels) > 0 {
				data["labels"] = d.Labels
			}
			finished := strings.TrimSuffix(typ, ".triggered") + ".finished"
			if _, err := cl.SendEvent(cmd.Context(), newEvent(finished, kctx, trig.ID, data)); err != nil {
				return err
			}
			a.printf("Sent %s (result %s, status %s) for %s in %s/%s/%s\n", finished, result, status, trig.ID, d.Project, d.Stage, d.Service)
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&kctx, "keptn-context", "", "the keptn context")
	f.StringVar(&task, "task", "", "the task, e.g. test")
	f.StringVar(&result, "result", "pass", "pass, warning or fail")
	f.StringVar(&reason, "reason", "", "the message of the .finished event")
	f.StringVar(&status, "status", "succeeded", "succeeded or errored")
	f.StringVar(&projectName, "project", "", "the project (narrows the search)")
	_ = c.MarkFlagRequired("keptn-context")
	_ = c.MarkFlagRequired("task")
	return c
}

func (a *app) approvalCmd(verb, result string) *cobra.Command {
	var projectName, stage, service, id, kctx, reason, format string
	c := &cobra.Command{
		Use:   verb + " --project=PROJECT [--stage=STAGE] [--service=SERVICE] [--id=TRIGGEREDID | --keptn-context=CTX]",
		Short: map[string]string{"pass": "Approves", "fail": "Declines"}[result] + " an open approval; without --id or --keptn-context lists the open approvals",
		Example: fmt.Sprintf(`slipway %[1]s --project=demo --stage=production            # list open approvals
slipway %[1]s --project=demo --stage=production --id=<approval.triggered id>`, verb),
		Args:    cobra.NoArgs,
		PreRunE: checkOutput(&format),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			cl, err := a.api()
			if err != nil {
				return err
			}
			open, err := cl.OpenTriggered(cmd.Context(), "sh.keptn.event.approval.triggered", projectName, stage, service, id)
			if err != nil {
				return err
			}
			if kctx != "" {
				var keep []client.Event
				for _, e := range open {
					if e.Shkeptncontext == kctx {
						keep = append(keep, e)
					}
				}
				open = keep
			}
			if id == "" && kctx == "" {
				return a.listApprovals(format, open)
			}
			if len(open) == 0 {
				return fmt.Errorf("no open approval %s in project %s", firstOf(id, "in keptn-context "+kctx), projectName)
			}
			if len(open) > 1 {
				return fmt.Errorf("%d open approvals in keptn-context %s: pass --id", len(open), kctx)
			}
			trig := open[0]
			d := client.DataOf(trig)
			data := map[string]any{"project": d.Project, "stage": d.Stage, "service": d.Service,
				"result": result, "status": "succeeded"}
			if reason != "" {
				data["message"] = reason
			}
			if len(d.Labels) > 0 {
				data["labels"] = d.Labels
			}
			if _, err := cl.SendEvent(cmd.Context(), newEvent("sh.keptn.event.approval.finished", trig.Shkeptncontext, trig.ID, data)); err != nil {
				return err
			}
			word := map[string]string{"pass": "Approved", "fail": "Declined"}[result]
			a.printf("%s %s of %s in %s/%s (keptn context %s)\n", word, trig.ID, d.Service, d.Project, d.Stage, trig.Shkeptncontext)
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&projectName, "project", "", "the project")
	f.StringVar(&stage, "stage", "", "the stage")
	f.StringVar(&service, "service", "", "the service")
	f.StringVar(&id, "id", "", "the id of the approval.triggered event")
	f.StringVar(&kctx, "keptn-context", "", "the keptn context (when it has one open approval)")
	f.StringVar(&reason, "reason", "", "message of the approval.finished event")
	addOutputFlag(c, &format)
	_ = c.MarkFlagRequired("project")
	return c
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (a *app) listApprovals(format string, open []client.Event) error {
	if open == nil {
		open = []client.Event{}
	}
	sort.SliceStable(open, func(i, j int) bool { return open[i].Time.Before(open[j].Time) })
	return a.printValue(format, open, func() error {
		if len(open) == 0 {
			a.printf("No open approvals\n")
			return nil
		}
		var rows [][]string
		for _, e := range open {
			d := client.DataOf(e)
			var img struct {
				ConfigurationChange struct {
					Values struct {
						Image string `json:"image"`
					} `json:"values"`
				} `json:"configurationChange"`
			}
			_ = json.Unmarshal(e.Data, &img)
			rows = append(rows, []string{e.ID, e.Shkeptncontext, d.Stage, d.Service, img.ConfigurationChange.Values.Image, e.Time.UTC().Format(time.RFC3339)})
		}
		return output.Rows(a.out, []string{"ID", "KEPTN CONTEXT", "STAGE", "SERVICE", "IMAGE", "TIME"}, rows)
	})
}
