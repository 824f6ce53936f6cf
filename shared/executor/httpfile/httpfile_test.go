package httpfile

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/safehttp"
)

func TestParse(t *testing.T) {
	tests := map[string]struct {
		in   string
		want Request
		err  bool
	}{
		"url only":           {in: "https://example.com/x", want: Request{Method: "GET", URL: "https://example.com/x"}},
		"method url version": {in: "post http://e.com/ HTTP/1.1\n", want: Request{Method: "POST", URL: "http://e.com/"}},
		"headers split on first colon": {
			in:   "GET http://e.com/\nX-Url: http://a:8080/b\nAccept:  text/plain \n",
			want: Request{Method: "GET", URL: "http://e.com/", Headers: []Header{{"X-Url", "http://a:8080/b"}, {"Accept", "text/plain"}}},
		},
		"comments and leading blank lines": {
			in:   "\n# a comment\n  # indented\nPOST http://e.com/\n# header comment\nA: b\n\nbody\n",
			want: Request{Method: "POST", URL: "http://e.com/", Headers: []Header{{"A", "b"}}, Body: "body"},
		},
		"crlf": {
			in:   "POST http://e.com/\r\nA: b\r\n\r\n{\"x\":1}\r\n",
			want: Request{Method: "POST", URL: "http://e.com/", Headers: []Header{{"A", "b"}}, Body: `{"x":1}`},
		},
		"body keeps blank lines, stops at ###": {
			in:   "POST http://e.com/\n\n{\n\n\"a\": 1\n}\n###\nGET http://other/\n",
			want: Request{Method: "POST", URL: "http://e.com/", Body: "{\n\n\"a\": 1\n}"},
		},
		"body comment at column 0 dropped": {
			in:   "POST http://e.com/\n\nline1\n# dropped\n  # kept\n",
			want: Request{Method: "POST", URL: "http://e.com/", Body: "line1\n  # kept"},
		},
		"leading ### separator": {
			in:   "###\nGET http://e.com/\n",
			want: Request{Method: "GET", URL: "http://e.com/"},
		},
		"empty":                {in: "", err: true},
		"only comments":        {in: "# x\n\n", err: true},
		"bad method":           {in: "FETCH http://e.com/", err: true},
		"too many fields":      {in: "GET http://e.com/ a b", err: true},
		"third not version":    {in: "GET http://e.com/ extra", err: true},
		"header without colon": {in: "GET http://e.com/\nnocolon\n", err: true},
		"header bad name":      {in: "GET http://e.com/\nBad Name: x\n", err: true},
		"nul":                  {in: "GET http://e.com/\x00", err: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err {
				if err == nil || !errors.Is(err, ErrSyntax) {
					t.Fatalf("want ErrSyntax, got %+v, %v", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func vars() Vars {
	return Vars{
		Event: map[string]any{
			"id":             "ev-1",
			"shkeptncontext": "ctx-1",
			"data": map[string]any{
				"project": "p1",
				"labels":  map[string]any{"k": "v"},
				"arr":     []any{"zero", map[string]any{"prop": "one"}},
				"score":   99.5,
				"ok":      true,
				"evil":    "x\r\nInjected: yes",
				"quote":   `a"b`,
			},
		},
		Env:  map[string]string{"TOKEN": "s3cret"},
		Time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func TestRender(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    Request
		wantErr error
	}{
		"event paths and env": {
			in: "POST http://e.com/${data.project}/${data.arr[1].prop}?t=${timeutcms}\nAuthorization: Bearer ${env.token}\nX-Ctx: ${shkeptncontext}\n\nid=${id} label=${data.labels.k} score=${data.score} ok=${data.ok} arr0=${data.arr[0]} unknown=${data.nope}",
			want: Request{Method: "POST", URL: "http://e.com/p1/one?t=1704164645000",
				Headers: []Header{{"Authorization", "Bearer s3cret"}, {"X-Ctx", "ctx-1"}},
				Body:    "id=ev-1 label=v score=99.5 ok=true arr0=zero unknown=${data.nope}"},
		},
		"json body escaped": {
			in:   "POST http://e.com/\nContent-Type: application/json\n\n{\"q\": \"${data.quote}\", \"e\": \"${data.evil}\"}",
			want: Request{Method: "POST", URL: "http://e.com/", Headers: []Header{{"Content-Type", "application/json"}}, Body: `{"q": "a\"b", "e": "x\r\nInjected: yes"}`},
		},
		"crlf into header":  {in: "GET http://e.com/\nX-A: ${data.evil}\n", wantErr: ErrUnsafeValue},
		"crlf into url":     {in: "GET http://e.com/${data.evil}\n", wantErr: ErrUnsafeValue},
		"env not allowed":   {in: "GET http://e.com/${env.HOME}\n", wantErr: nil},
		"scheme from value": {in: "GET file:///etc/passwd\n", wantErr: safehttp.ErrScheme},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Render(vars())
			if name == "env not allowed" {
				if err == nil || !strings.Contains(err.Error(), "not allow-listed") {
					t.Fatalf("want allow-list error, got %v", err)
				}
				return
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("want %v, got %+v, %v", tc.wantErr, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestDo(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var gotBody, gotHeader string
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody, gotHeader = string(b), r.Header.Get("X-A")
		w.WriteHeader(201)
		io.WriteString(w, strings.Repeat("y", 50))
	}))
	s.Listener = l
	s.Start()
	defer s.Close()
	c := safehttp.NewClient(safehttp.Options{AllowHosts: []string{"127.0.0.1"}})
	resp, err := Do(context.Background(), c, Request{Method: "POST", URL: s.URL + "/x", Headers: []Header{{"X-A", "b"}}, Body: "hello"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || len(resp.Body) != 10 || !resp.Truncated || gotBody != "hello" || gotHeader != "b" {
		t.Fatalf("resp %+v body %q header %q", resp, gotBody, gotHeader)
	}
	denied := safehttp.NewClient(safehttp.Options{})
	if _, err := Do(context.Background(), denied, Request{Method: "GET", URL: s.URL}, 10); !errors.Is(err, safehttp.ErrDenied) {
		t.Fatalf("want ErrDenied, got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"GET http://e.com/\n",
		"POST http://e.com/ HTTP/1.1\r\nA: b\r\n\r\n{\"a\":1}\r\n###\n",
		"# c\n\nhttps://x\nH: ${data.x}\n\nbody ${env.A}\n",
		"",
		"\n\n###",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if !methods[r.Method] || r.URL == "" || strings.ContainsAny(r.URL, " \t\r\n") {
			t.Fatalf("bad request line %q %q", r.Method, r.URL)
		}
		for _, h := range r.Headers {
			if !validHeaderName(h.Name) || strings.ContainsAny(h.Value, "\r\n") {
				t.Fatalf("bad header %#v", h)
			}
		}
		out, err := r.Render(vars())
		if err != nil {
			return
		}
		if strings.ContainsAny(out.URL, "\r\n") {
			t.Fatalf("rendered URL has CR/LF: %q", out.URL)
		}
		for _, h := range out.Headers {
			if strings.ContainsAny(h.Value, "\r\n") {
				t.Fatalf("rendered header has CR/LF: %#v", h)
			}
		}
	})
}
