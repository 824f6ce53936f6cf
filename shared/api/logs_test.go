package api

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/slipwayhq/slipway/shared/store"
)

type logsAnswer struct {
	NextPageKey int64      `json:"nextPageKey"`
	PageSize    int64      `json:"pageSize"`
	TotalCount  int64      `json:"totalCount"`
	Logs        []logEntry `json:"logs"`
}

func (e *env) logs(t *testing.T, query string) logsAnswer {
	t.Helper()
	w := e.do(t, "GET", logPath+query, nil)
	wantStatus(t, w, 200)
	return decode[logsAnswer](t, w)
}

func messages(logs []logEntry) []string {
	out := []string{}
	for _, l := range logs {
		out = append(out, l.Message)
	}
	return out
}

func TestLogs(t *testing.T) {
	e := newEnv(t, Config{})
	post := func(entries ...map[string]any) {
		t.Helper()
		w := e.do(t, "POST", logPath, map[string]any{"logs": entries})
		wantStatus(t, w, 200)
		if strings.TrimSpace(w.Body.String()) != "{}" {
			t.Fatalf("body %q", w.Body)
		}
	}
	at := func(sec int) string { return t0.Add(time.Duration(sec) * time.Second).Format(time.RFC3339) }
	// As the go-sdk's log forwarder sends them: no time (now), then some with times.
	post(map[string]any{"integrationid": "i1", "message": "m-now", "shkeptncontext": "ctx", "task": "deployment", "triggeredid": "tr"})
	post(
		map[string]any{"integrationid": "i1", "message": "m-10", "time": at(-10)},
		map[string]any{"integrationid": "i2", "message": "m-20", "time": at(-20), "gitcommitid": "abc"},
		map[string]any{"integrationid": "i1", "message": "m-30", "time": at(-30)},
	)
	post() // nothing to store

	all := e.logs(t, "")
	if got := messages(all.Logs); !reflect.DeepEqual(got, []string{"m-now", "m-10", "m-20", "m-30"}) {
		t.Fatalf("all = %q", got)
	}
	if all.TotalCount != 4 || all.PageSize != 4 || all.NextPageKey != 0 {
		t.Fatalf("paging %+v", all)
	}
	want := logEntry{IntegrationID: "i1", Message: "m-now", Time: t0, KeptnContext: "ctx", Task: "deployment", TriggeredID: "tr"}
	if all.Logs[0] != want || all.Logs[2].GitCommitID != "abc" {
		t.Fatalf("entries %+v", all.Logs)
	}

	for _, tc := range []struct {
		name, query string
		want        []string
		next, total int64
	}{
		{"integration", "?integrationId=i1", []string{"m-now", "m-10", "m-30"}, 0, 3},
		{"fromTime inclusive", "?fromTime=" + url.QueryEscape(at(-20)), []string{"m-now", "m-10", "m-20"}, 0, 3},
		{"beforeTime inclusive (Keptn's format)", "?beforeTime=" + t0.Add(-20*time.Second).Format("2006-01-02T15:04:05.000Z"), []string{"m-20", "m-30"}, 0, 2},
		{"both and integration", "?integrationId=i1&fromTime=" + url.QueryEscape(at(-30)) + "&beforeTime=" + url.QueryEscape(at(-10)), []string{"m-10", "m-30"}, 0, 2},
		{"first page", "?pageSize=3", []string{"m-now", "m-10", "m-20"}, 3, 4},
		{"second page", "?pageSize=3&nextPageKey=3", []string{"m-30"}, 0, 4},
		{"page of a filter", "?integrationId=i1&pageSize=1&nextPageKey=1", []string{"m-10"}, 2, 3},
		{"past the end", "?pageSize=2&nextPageKey=9", []string{}, 0, 4},
		{"unknown integration", "?integrationId=nope", []string{}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.logs(t, tc.query)
			if !reflect.DeepEqual(messages(got.Logs), tc.want) || got.NextPageKey != tc.next || got.TotalCount != tc.total ||
				got.PageSize != int64(len(tc.want)) {
				t.Fatalf("got %q next %d total %d size %d; want %q next %d total %d",
					messages(got.Logs), got.NextPageKey, got.TotalCount, got.PageSize, tc.want, tc.next, tc.total)
			}
		})
	}
	// The answer always carries all four members, as numbers.
	raw := e.do(t, "GET", logPath+"?integrationId=nope", nil).Body.String()
	for _, k := range []string{`"nextPageKey":0`, `"pageSize":0`, `"totalCount":0`, `"logs":[]`} {
		if !strings.Contains(raw, k) {
			t.Fatalf("%s lacks %s", raw, k)
		}
	}

	// LOG_TTL: entries older than it are not returned, and a later write purges them.
	e.clock.Add(120*time.Hour - 15*time.Second)
	if got := messages(e.logs(t, "").Logs); !reflect.DeepEqual(got, []string{"m-now", "m-10"}) {
		t.Fatalf("after the TTL passed some: %q", got)
	}
	if got := e.logs(t, "?fromTime=2000-01-01T00:00:00Z"); got.TotalCount != 2 {
		t.Fatalf("an early fromTime shows expired entries: %+v", got)
	}
	post(map[string]any{"integrationid": "i3", "message": "late"})
	_, total, err := e.store.Integrations().ListLogs(t.Context(), store.LogQuery{}, 0, 0)
	if err != nil || total != 3 {
		t.Fatalf("stored after purge: %d, %v; want 3", total, err)
	}
}

func TestLogErrors(t *testing.T) {
	e := newEnv(t, Config{MaxLogsPerRequest: 2, MaxLogMessageBytes: 10})
	entry := func(msg string) map[string]any { return map[string]any{"integrationid": "i", "message": msg} }
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		msg                string
	}{
		{"too many logs", "POST", logPath, map[string]any{"logs": []any{entry("a"), entry("b"), entry("c")}}, 400, "at most 2 logs"},
		{"message too long", "POST", logPath, map[string]any{"logs": []any{entry("a"), entry("0123456789x")}}, 400, "logs[1].message is 11 bytes"},
		{"field too long", "POST", logPath, map[string]any{"logs": []any{map[string]any{"task": strings.Repeat("t", maxLogFieldBytes+1)}}}, 400, "logs[0].task is longer"},
		{"malformed", "POST", logPath, `{"logs":`, 400, "invalid request body"},
		{"bad time", "POST", logPath, `{"logs":[{"time":"yesterday"}]}`, 400, "invalid request body"},
		{"bad fromTime", "GET", logPath + "?fromTime=yesterday", nil, 400, "fromTime"},
		{"bad beforeTime", "GET", logPath + "?beforeTime=1", nil, 400, "beforeTime"},
		{"bad pageSize", "GET", logPath + "?pageSize=-1", nil, 400, "pageSize"},
		{"pageSize above the cap", "GET", logPath + "?pageSize=1001", nil, 400, "pageSize"},
		{"bad nextPageKey", "GET", logPath + "?nextPageKey=abc", nil, 400, "nextPageKey"},
		{"delete is refused", "DELETE", logPath, nil, 403, "not allowed"},
		{"put is not a route", "PUT", logPath, "{}", 405, "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(t, tc.method, tc.path, tc.body), tc.status, tc.msg)
		})
	}
	if got := e.logs(t, ""); got.TotalCount != 0 {
		t.Fatalf("refused requests stored logs: %+v", got)
	}
	// DELETE is refused before authentication, as at Keptn's gateway.
	wantError(t, e.do(t, "DELETE", logPath, nil, "x-token", ""), 403, "not allowed")
	// The body limit applies.
	big := Config{MaxBodyBytes: 1 << 10}
	e2 := newEnv(t, big)
	wantError(t, e2.do(t, "POST", logPath, map[string]any{"logs": []any{entry(strings.Repeat("x", 2<<10))}}), http.StatusRequestEntityTooLarge, "larger than")
}

// TestLogMessagesAreNotLogged: a message can hold anything an integration
// printed (tokens included); refusing or storing it must not echo it.
func TestLogMessagesAreNotLogged(t *testing.T) {
	core, seen := observer.New(zap.DebugLevel)
	e := newEnv(t, Config{MaxLogMessageBytes: 64})
	e.h = New(Config{Tokens: []string{testToken}, MaxLogMessageBytes: 64}, Deps{Store: e.store, Publisher: e.pub,
		Sequences: e.seq, Clock: e.clock.Now, Logger: zap.New(core)})
	const secret = "s3cr3t-token-value"
	w := e.do(t, "POST", logPath, map[string]any{"logs": []any{map[string]any{"message": secret + strings.Repeat("x", 64)}}})
	wantError(t, w, 400, "message")
	if strings.Contains(w.Body.String(), secret) {
		t.Fatalf("answer echoes the message: %s", w.Body)
	}
	wantStatus(t, e.do(t, "POST", logPath, map[string]any{"logs": []any{map[string]any{"message": secret}}}), 200)
	for _, entry := range seen.All() {
		if strings.Contains(fmt.Sprint(entry.Message, entry.ContextMap()), secret) {
			t.Fatalf("log line carries the message: %+v", entry)
		}
	}
}
