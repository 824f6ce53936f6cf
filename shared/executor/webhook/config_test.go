package webhook

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSplitArgs(t *testing.T) {
	tests := map[string]struct {
		in   string
		want []string
		err  bool
	}{
		"plain":           {in: "curl -X POST http://a", want: []string{"curl", "-X", "POST", "http://a"}},
		"single quotes":   {in: `curl -H 'A: b c' x`, want: []string{"curl", "-H", "A: b c", "x"}},
		"double quotes":   {in: `curl -d "{\"a\": \"$x\"}" x`, want: []string{"curl", "-d", `{"a": "$x"}`, "x"}},
		"template kept":   {in: `curl http://h/{{ .data.project }}/x`, want: []string{"curl", "http://h/{{ .data.project }}/x"}},
		"template in dq":  {in: `curl -d "p={{ index .data "my-key" }}" x`, want: []string{"curl", "-d", `p={{ index .data "my-key" }}`, "x"}},
		"continuation":    {in: "curl \\\n  -s x", want: []string{"curl", "-s", "x"}},
		"unclosed single": {in: `curl 'x`, err: true},
		"unclosed double": {in: `curl "x`, err: true},
		"unclosed tmpl":   {in: `curl {{ x`, err: true},
	}
	for name, tc := range tests {
		got, err := SplitArgs(tc.in)
		if tc.err != (err != nil) || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, tc.want)
		}
	}
}

func TestParseCurl(t *testing.T) {
	tests := map[string]struct {
		in   string
		want Request
		err  string
	}{
		"post json": {
			in:   `curl --request POST --header 'Content-Type: application/json' --data '{"p":"{{.data.project}}"}' https://hook.example.com/x`,
			want: Request{Method: "POST", URL: "https://hook.example.com/x", Headers: []Header{{Key: "Content-Type", Value: "application/json"}}, Payload: `{"p":"{{.data.project}}"}`},
		},
		"get default, flags ignored": {in: `curl -sSL --fail-with-body https://e.com`, want: Request{Method: "GET", URL: "https://e.com"}},
		"data implies post and form": {
			in:   `curl -d a=1 -d b=2 --url https://e.com -m 5`,
			want: Request{Method: "POST", URL: "https://e.com", Payload: "a=1&b=2", Headers: []Header{{Key: "Content-Type", Value: "application/x-www-form-urlencoded"}}, Timeout: 5 * time.Second},
		},
		"inline short values": {in: `curl -XPUT -H'A: b' https://e.com`, want: Request{Method: "PUT", URL: "https://e.com", Headers: []Header{{Key: "A", Value: "b"}}}},
		"user":                {in: `curl -u 'me:{{.env.pw}}' https://e.com`, want: Request{Method: "GET", URL: "https://e.com", Headers: []Header{{Key: "Authorization", Value: "me:{{.env.pw}}", Basic: true}}}},
		"not curl":            {in: `wget https://e.com`, err: "curl command"},
		"output file":         {in: `curl -o /tmp/x https://e.com`, err: "unsupported curl option"},
		"upload":              {in: `curl -T /etc/passwd https://e.com`, err: "unsupported curl option"},
		"form":                {in: `curl -F a=@/etc/passwd https://e.com`, err: "unsupported curl option"},
		"config":              {in: `curl -K cfg https://e.com`, err: "unsupported curl option"},
		"proxy":               {in: `curl --proxy http://p https://e.com`, err: "unsupported curl option"},
		"resolve":             {in: `curl --resolve e.com:443:127.0.0.1 https://e.com`, err: "unsupported curl option"},
		"data file":           {in: `curl -d @/etc/passwd https://e.com`, err: "@file"},
		"data-binary file":    {in: `curl --data-binary @/etc/passwd https://e.com`, err: "@file"},
		"json file":           {in: `curl --json @x https://e.com`, err: "@file"},
		"two urls":            {in: `curl https://a https://b`, err: "exactly one URL"},
		"bad method":          {in: `curl -X TRACE https://a`, err: "method"},
	}
	for name, tc := range tests {
		got, err := ParseCurl(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: want error %q, got %+v, %v", name, tc.err, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v\nwant %+v", name, got, err, tc.want)
		}
	}
}

func TestParseConfig(t *testing.T) {
	beta := `apiVersion: webhookconfig.keptn.sh/v1beta1
kind: WebhookConfig
metadata:
  name: webhook-configuration
spec:
  webhooks:
    - type: sh.keptn.event.webhook.triggered
      subscriptionID: sub-1
      sendFinished: true
      envFrom:
        - name: token
          secretRef: {name: my-secret, key: token}
      requests:
        - url: https://e.com/{{.data.project}}
          method: POST
          headers:
            - key: Authorization
              value: Bearer {{.env.token}}
          payload: '{"a": 1}'
          options: -s --max-time 3
    - type: sh.keptn.event.other.triggered
      requests:
        - url: https://e.com
          method: get
`
	c, err := Parse([]byte(beta))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Webhooks[0]
	if !w.SendStarted || !w.SendFinished || w.SubscriptionID != "sub-1" || w.EnvFrom[0].SecretRef.Key != "token" || w.Requests[0].Timeout != 3*time.Second || w.Requests[0].Headers[0].Value != "Bearer {{.env.token}}" {
		t.Fatalf("webhook %+v", w)
	}
	if w2 := c.Webhooks[1]; !w2.SendStarted || w2.SendFinished || w2.Requests[0].Method != "GET" {
		t.Fatalf("defaults: %+v", w2)
	}
	alpha := `apiVersion: webhookconfig.keptn.sh/v1alpha1
kind: WebhookConfig
spec:
  webhooks:
    - type: sh.keptn.event.webhook.triggered
      requests:
        - "curl --request POST https://e.com/{{.data.project}} --data '{\"x\":1}'"
`
	c, err = Parse([]byte(alpha))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Webhooks[0].Requests[0]; r.Method != "POST" || r.URL != "https://e.com/{{.data.project}}" || r.Payload != `{"x":1}` {
		t.Fatalf("alpha request %+v", r)
	}
	bad := map[string]string{
		"version":        strings.Replace(beta, "v1beta1", "v2", 1),
		"kind":           strings.Replace(beta, "kind: WebhookConfig", "kind: Other", 1),
		"method":         strings.Replace(beta, "method: POST", "method: TRACE", 1),
		"options":        strings.Replace(beta, "options: -s --max-time 3", "options: -o /tmp/x", 1),
		"alpha curl opt": strings.Replace(alpha, "--data", "-T", 1),
		"no requests":    "apiVersion: " + V1Beta1 + "\nspec:\n  webhooks:\n    - type: x\n",
		"yaml":           "apiVersion: [",
	}
	for name, in := range bad {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: want ErrConfig, got %v", name, err)
		}
	}
}
