package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const bridgeShipyard = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: bridge}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: build}, {name: check}, {name: approval, properties: {pass: manual, warning: manual}}, {name: ship}]
    - name: prod
      sequences:
        - name: delivery
          triggeredOn: [{event: dev.delivery.finished}]
          tasks: [{name: build}]
`

// browser starts Debian's chromium headless (SLIPWAY_CHROMIUM, else PATH)
// with a fresh profile and no background traffic.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("SLIPWAY_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not found (SLIPWAY_CHROMIUM unset and not on PATH)")
		}
		t.Skip("chromium not installed; hack/packages.sh installs it")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

type step = chromedp.Action[chromedp.Void]

// run runs browser steps with a deadline.
func run(t *testing.T, ctx context.Context, what string, steps ...step) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".opblock.is-open") || document.body || {innerText: ""}).innerText.slice(0, 2500)`))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
	}
}

// get runs one action that answers a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// js evaluates an expression for its effect.
func js(expr string) step {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](expr)(ctx, tg)
		return err
	})
}

// waitJS polls a JavaScript condition until it is true.
func waitJS(cond string) step {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](cond, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))(ctx, tg)
		return err
	})
}

func click(sel string) step   { return chromedp.Click(chromedp.CSS(sel)) }
func visible(sel string) step { return chromedp.WaitVisible(chromedp.CSS(sel)) }

// shot saves a PNG of the page into the test's temp dir (and into
// SLIPWAY_SCREENSHOT_DIR when set, to refresh docs/images).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	save(t, name, get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100)))
}

// shotViewport saves what the window shows.
func shotViewport(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	save(t, name, get(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot()))
}

func save(t *testing.T, name string, png []byte) {
	t.Helper()
	dirs := []string{t.TempDir()}
	if d := os.Getenv("SLIPWAY_SCREENSHOT_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBridgeBrowser(t *testing.T) {
	ctx := browser(t)
	s := start(t, "")
	s.createProject("web", bridgeShipyard, "carts", "orders")
	kctx := s.trigger("web", "dev", "delivery", "carts", map[string]any{
		"configurationChange": map[string]any{"values": map[string]any{"image": "docker.io/keptn/carts:0.13.1"}}})
	deep := s.API + "/bridge/project/web/sequence/" + kctx
	build := s.openIn("web", "build", kctx)

	t.Run("deep link follows the run live", func(t *testing.T) {
		run(t, ctx, "open the deep link",
			chromedp.EmulateViewport(1280, 800),
			chromedp.Navigate(deep),
			visible(`#st-dev`),
			waitJS(`document.querySelector("tr.is-running th") && document.querySelector("tr.is-running th").textContent.includes("build")`),
			js(`window.__sameDocument = true`),
		)
		// Copy the spinning task's event, as Keptn users do.
		run(t, ctx, "copy the running task's event",
			click(`tr.is-running + tr.events-row summary`),
			click(`tr.is-running + tr.events-row button.copy`),
			waitJS(`document.querySelector("tr.is-running + tr.events-row button.copy").textContent === "Copied"`),
		)
		s.answer(build, "started", "", "succeeded", nil)
		s.answer(build, "finished", "pass", "succeeded", nil)
		s.openIn("web", "check", kctx)
		// The page updates itself: the same document now shows build passed
		// and check running.
		run(t, ctx, "watch the run progress without reload",
			waitJS(`[...document.querySelectorAll("tr.is-running th")].some(e => e.textContent.includes("check"))`),
			waitJS(`window.__sameDocument === true && document.body.innerText.includes("pass / succeeded")`),
			waitJS(`document.getElementById("live-status").textContent.startsWith("Live")`),
		)
		shot(t, ctx, "bridge-sequence-live")
	})

	t.Run("send a fake finished for the stuck task", func(t *testing.T) {
		run(t, ctx, "fill the stuck-task form",
			chromedp.Navigate(deep+"/stage/dev"),
			visible(`form.finish`),
			chromedp.SendKeys(chromedp.CSS(`form.finish input[name=message]`), "checked by hand"),
			chromedp.SetValue(chromedp.CSS(`form.finish select[name=result]`), "warning"),
			click(`form.finish button[type=submit]`),
			visible(`p.flash`),
		)
		fin := s.waitHistory("web", kctx, "sh.keptn.event.check.finished")
		if fin.Data["result"] != "warning" || fin.Data["message"] != "checked by hand" || fin.Source != "https://github.com/slipwayhq/slipway/bridge" {
			t.Fatalf("check.finished = %+v", fin)
		}
		s.openIn("web", "approval", kctx)
	})

	t.Run("approve from the keyboard", func(t *testing.T) {
		run(t, ctx, "approve",
			chromedp.Navigate(deep),
			visible(`form.approval button[value=approve]`),
			chromedp.Focus(chromedp.CSS(`form.approval button[value=approve]`)),
		)
		shot(t, ctx, "bridge-approval")
		run(t, ctx, "press enter", chromedp.KeyEvent("\r"), visible(`p.flash`))
		fin := s.waitHistory("web", kctx, "sh.keptn.event.approval.finished")
		if fin.Data["result"] != "pass" {
			t.Fatalf("approval.finished = %+v", fin.Data)
		}
		s.openIn("web", "ship", kctx)
	})

	t.Run("abort from the button", func(t *testing.T) {
		run(t, ctx, "abort",
			chromedp.Navigate(deep),
			visible(`form.actions button[value=abort]`),
			click(`form.actions button[value=abort]`),
			visible(`p.flash`),
		)
		s.waitState("web", kctx, "aborted")
		run(t, ctx, "the page shows the abort", chromedp.Navigate(deep), waitJS(`document.getElementById("seq-state").textContent === "aborted"`))
		shot(t, ctx, "bridge-sequence-aborted")
	})

	// More runs for the environment, list and service views: one finished
	// through both stages, one waiting behind a busy lane.
	done := s.trigger("web", "dev", "delivery", "orders", map[string]any{
		"configurationChange": map[string]any{"values": map[string]any{"image": "docker.io/keptn/orders:1.4"}}})
	for _, task := range []string{"build", "check", "approval", "ship"} {
		o := s.openIn("web", task, done)
		if task == "approval" {
			s.answer(o, "finished", "pass", "succeeded", nil)
			continue
		}
		s.complete(o, "pass")
	}
	s.complete(s.openIn("web", "build", done), "pass")
	s.waitState("web", done, "finished")
	busy := s.trigger("web", "dev", "delivery", "orders", nil)
	s.openIn("web", "build", busy)
	queued := s.trigger("web", "dev", "delivery", "orders", nil)
	s.waitState("web", queued, "waiting")

	t.Run("queue, environment, list and service views at desktop and phone width", func(t *testing.T) {
		run(t, ctx, "queued run", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(s.API+"/bridge/project/web/sequence/"+queued),
			waitJS(`document.querySelector("p.queue") && document.querySelector("p.queue").textContent.includes("Blocked by")`))
		shot(t, ctx, "bridge-queued")
		for _, width := range []int64{1280, 390} {
			height := int64(800)
			if width < 800 {
				height = 844
			}
			pages := map[string]string{
				"environment": "/bridge/project/web",
				"sequences":   "/bridge/project/web/sequence",
				"service":     "/bridge/project/web/service/orders",
				"sequence":    "/bridge/project/web/sequence/" + done,
			}
			for name, path := range pages {
				run(t, ctx, fmt.Sprintf("%s at %d", name, width),
					chromedp.EmulateViewport(width, height),
					chromedp.Navigate(s.API+path),
					visible(`#live`),
				)
				overflow := get(t, ctx, "overflow", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
				if overflow {
					t.Errorf("%s at width %d scrolls sideways", name, width)
				}
				if width == 1280 || name == "sequence" {
					shot(t, ctx, fmt.Sprintf("bridge-%s-%d", name, width))
				}
			}
		}
		run(t, ctx, "environment", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(s.API+"/bridge/project/web"), visible(`#live`))
		text := get(t, ctx, "environment content", chromedp.Text(chromedp.CSS(`#live`)))
		for _, want := range []string{"docker.io/keptn/carts:0.13.1", "docker.io/keptn/orders:1.4", "prod"} {
			if !strings.Contains(text, want) {
				t.Errorf("environment lacks %q:\n%s", want, text)
			}
		}
		// Every action is a labelled button reachable by Tab.
		run(t, ctx, "labels", chromedp.Navigate(s.API+"/bridge/project/web/sequence/"+busy), visible(`form.finish`))
		unlabelled := get(t, ctx, "unlabelled buttons", chromedp.Evaluate[int](`[...document.querySelectorAll("button")].filter(b => !(b.getAttribute("aria-label") || b.textContent.trim()) || b.tabIndex < 0).length`))
		if unlabelled != 0 {
			t.Errorf("%d buttons without a label or out of the tab order", unlabelled)
		}
	})

	t.Run("API page: try it out", func(t *testing.T) {
		event := `{"type":"sh.keptn.event.dev.delivery.triggered","source":"swagger-ui","specversion":"1.0",` +
			`"data":{"project":"web","stage":"dev","service":"carts"}}`
		setReact := func(sel, val string) step {
			code := fmt.Sprintf(`(() => { const el = document.querySelector(%q);
				const set = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), "value").set;
				set.call(el, %q); el.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`, sel, val)
			return js(code)
		}
		op := `#operations-default-post_api_v1_event`
		run(t, ctx, "authorize and send an event",
			chromedp.EmulateViewport(1280, 800),
			chromedp.Navigate(s.API+"/api/swagger-ui/"),
			visible(`.swagger-ui .btn.authorize`),
			click(`.swagger-ui .btn.authorize`),
			visible(`.auth-container input`),
			setReact(`.auth-container input`, s.Token),
			click(`.auth-btn-wrapper .btn.modal-btn.authorize`),
			click(`.auth-btn-wrapper .btn-done`),
			click(op+` .opblock-summary-control`),
			visible(op+` .try-out__btn`),
			click(op+` .try-out__btn`),
			visible(op+` textarea.body-param__text`),
			setReact(op+` textarea.body-param__text`, event),
			click(op+` .btn.execute`),
			waitJS(`[...document.querySelectorAll("`+op+` .live-responses-table .response-col_status")].some(c => c.textContent.trim() === "200")`),
		)
		answer := get(t, ctx, "answer", chromedp.Text(chromedp.CSS(op+` .live-responses-table .response-col_description pre`)))
		// The picture keeps the token out: the curl line that repeats it is hidden.
		run(t, ctx, "scroll to the answer", js(`document.querySelectorAll(".curl-command").forEach(e => e.style.display = "none");
			document.querySelector("`+op+` textarea.body-param__text").scrollIntoView({block: "start"}); window.scrollBy(0, -110)`))
		shotViewport(t, ctx, "api-page-try-it-out")
		m := regexp.MustCompile(`[0-9a-f-]{36}`).FindString(answer)
		var out struct {
			KeptnContext string `json:"keptnContext"`
		}
		_ = json.Unmarshal([]byte(answer), &out)
		if out.KeptnContext == "" && m == "" {
			t.Fatalf("try-it-out answer = %q", answer)
		}
		if out.KeptnContext == "" {
			out.KeptnContext = m
		}
		s.openIn("web", "build", out.KeptnContext)
	})

	t.Run("a page whose server is gone says it is stale", func(t *testing.T) {
		run(t, ctx, "open a live page", chromedp.Navigate(s.API+"/bridge/project/web/sequence/"+busy),
			waitJS(`document.getElementById("live-status").textContent.startsWith("Live")`))
		s.stop()
		run(t, ctx, "stale marker", waitJS(`document.getElementById("live-status").textContent.startsWith("Stale")`))
	})
}
