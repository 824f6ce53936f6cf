package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestNormalizeEndpoint(t *testing.T) {
	for name, tc := range map[string]struct {
		in, want string
		bad      bool
	}{
		"host only":          {in: "127.0.0.1:8080", want: "http://127.0.0.1:8080/api"},
		"root path":          {in: "http://127.0.0.1:8080/", want: "http://127.0.0.1:8080/api"},
		"api path kept":      {in: "https://keptn.example.com/api", want: "https://keptn.example.com/api"},
		"trailing slash":     {in: "http://h/api/", want: "http://h/api"},
		"custom prefix kept": {in: "http://h/gw/api", want: "http://h/gw/api"},
		"query dropped":      {in: "http://h/api?x=1", want: "http://h/api"},
		"empty":              {in: " ", bad: true},
		"ftp":                {in: "ftp://h/api", bad: true},
		"no host":            {in: "http:///api", bad: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := NormalizeEndpoint(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("NormalizeEndpoint(%q) = %q, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeEndpoint(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		body   string
		want   string
	}{
		"keptn body":      {404, `{"code":404,"message":"Project not found: x"}`, "Project not found: x"},
		"html from proxy": {502, `<html>bad gateway</html>`, "502 Bad Gateway"},
		"empty message":   {500, `{"code":500,"message":""}`, "500 Internal Server Error"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("x-token") != "tok" {
					t.Errorf("x-token = %q", r.Header.Get("x-token"))
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			err := New(srv.URL+"/api", "tok").Do(context.Background(), "GET", "/v1/metadata", nil, nil, nil)
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || ae.Message != tc.want {
				t.Fatalf("err = %#v, want status %d message %q", err, tc.status, tc.want)
			}
		})
	}
}
