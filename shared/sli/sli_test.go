package sli

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := map[string]struct {
		yaml string
		want map[string]string
		err  string
	}{
		"keptn format": {yaml: "spec_version: '1.0'\nindicators:\n  error_rate: sum(rate(x[$DURATION_SECONDS]))\n  p95: histogram_quantile(0.95, y)\n",
			want: map[string]string{"error_rate": "sum(rate(x[$DURATION_SECONDS]))", "p95": "histogram_quantile(0.95, y)"}},
		"no indicators":   {yaml: "spec_version: '1.0'\n", want: map[string]string{}},
		"spec version":    {yaml: "spec_version: '3'\nindicators: {a: up}\n", err: "spec_version"},
		"query not text":  {yaml: "spec_version: '1.0'\nindicators: {a: [up]}\n", err: "indicators must map names to query strings"},
		"empty query":     {yaml: "spec_version: '1.0'\nindicators: {a: ''}\n", err: "indicators.a: the query is empty"},
		"not yaml":        {yaml: "indicators: {", err: "not valid YAML"},
		"not a mapping":   {yaml: "[1]", err: "not a YAML mapping"},
		"indicators list": {yaml: "spec_version: '1.0'\nindicators: [a, b]\n", err: "indicators must map"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := Parse("sli.yaml", []byte(tc.yaml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "sli.yaml: ") {
					t.Fatalf("Parse error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := Merge(f)
			if len(got) != len(tc.want) {
				t.Fatalf("indicators %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("indicators %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestMergeFinerLevelWins(t *testing.T) {
	project := &File{Indicators: map[string]string{"a": "project_a", "b": "project_b"}}
	service := &File{Indicators: map[string]string{"b": "service_b", "c": "service_c"}}
	got := Merge(project, nil, service)
	if got["a"] != "project_a" || got["b"] != "service_b" || got["c"] != "service_c" || len(got) != 3 {
		t.Fatalf("merged %v", got)
	}
}

func TestExpand(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	v := Vars{Project: "shop", Stage: "dev", Service: "carts", Deployment: "carts-primary",
		Start: start, End: start.Add(5 * time.Minute),
		Labels:        map[string]string{"version": "1.2", "version_long": "1.2.3"},
		CustomFilters: map[string]string{"handler": "/api", "SERVICE": "ignored", "bad key": "x"}}
	tests := map[string]struct{ in, want string }{
		"scope":           {`up{job="$SERVICE-$PROJECT-$STAGE"}`, `up{job="carts-shop-dev"}`},
		"deployment":      {`x{d="$DEPLOYMENT"}`, `x{d="carts-primary"}`},
		"duration":        {`rate(x[$DURATION_SECONDS])`, `rate(x[300s])`},
		"labels":          {`x{v="$LABEL.version"}`, `x{v="1.2"}`},
		"longer label":    {`x{v="$LABEL.version_long"}`, `x{v="1.2.3"}`},
		"custom filter":   {`x{h="$handler"}`, `x{h="/api"}`},
		"builtin wins":    {`$SERVICE`, `carts`},
		"unknown kept":    {`$LABEL.nope $OTHER`, `$LABEL.nope $OTHER`},
		"repeated":        {`$SERVICE $SERVICE`, `carts carts`},
		"no placeholders": {`sum(up)`, `sum(up)`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Expand(tc.in, v); got != tc.want {
				t.Fatalf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("spec_version: '1.0'\nindicators:\n  a: up\n"))
	f.Add([]byte("indicators: {a: [1]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse("sli.yaml", b)
		if err != nil {
			return
		}
		for k, q := range Merge(file) {
			if strings.TrimSpace(k) == "" || strings.TrimSpace(q) == "" {
				t.Fatalf("accepted empty indicator %q: %q", k, q)
			}
		}
	})
}
