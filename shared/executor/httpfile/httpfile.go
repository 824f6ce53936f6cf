// Package httpfile reads the generic executor's `.http` files, a REST-client
// like format compatible with Keptn's generic-executor-service:
//
//	# comment
//	POST https://example.com/hook?project=${data.project}
//	Content-Type: application/json
//	Authorization: Bearer ${env.TOKEN}
//
//	{"context": "${shkeptncontext}", "at": ${timeutcms}}
//	###
//
// The request line is `METHOD URL` (a lone URL means GET; a trailing
// HTTP/x.y is ignored); headers follow up to the first blank line and are
// split on the first ':'; the body is everything after that blank line up
// to the end or a line starting with `###`. Lines starting with '#' are
// comments (in the body only at column 0, like the original); CRLF is
// accepted. Only the first request of a file is used.
//
// Unlike the original, the file is parsed first and placeholders are
// substituted per part afterwards, so event data cannot add header lines or
// requests: values substituted into the URL or a header may not contain
// control characters, and values substituted into a JSON body are
// JSON-string escaped.
package httpfile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/shared/safehttp"
)

// MaxFileSize bounds an .http file.
const MaxFileSize = 1 << 20

// Header is one request header.
type Header struct{ Name, Value string }

// Request is a parsed (and possibly rendered) .http request.
type Request struct {
	Method  string
	URL     string
	Headers []Header
	Body    string
}

var methods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true}

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New(".http syntax error")

func syntaxErr(line int, format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrSyntax, line, fmt.Sprintf(format, args...))
}

// Parse parses the first request of an .http file (before substitution).
func Parse(text string) (Request, error) {
	if len(text) > MaxFileSize {
		return Request{}, fmt.Errorf("%w: file larger than %d bytes", ErrSyntax, MaxFileSize)
	}
	if strings.IndexByte(text, 0) >= 0 {
		return Request{}, fmt.Errorf("%w: NUL byte", ErrSyntax)
	}
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	i := 0
	isComment := func(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "#") }
	for i < len(lines) && (strings.TrimSpace(lines[i]) == "" || isComment(lines[i])) {
		i++
	}
	if i == len(lines) {
		return Request{}, fmt.Errorf("%w: no request line", ErrSyntax)
	}
	var r Request
	fields := strings.Fields(lines[i])
	switch len(fields) {
	case 1:
		r.Method, r.URL = "GET", fields[0]
	case 2, 3:
		r.Method, r.URL = strings.ToUpper(fields[0]), fields[1]
		if len(fields) == 3 && !strings.HasPrefix(strings.ToUpper(fields[2]), "HTTP/") {
			return Request{}, syntaxErr(i+1, "want METHOD URL [HTTP/x.y]")
		}
	default:
		return Request{}, syntaxErr(i+1, "want METHOD URL [HTTP/x.y]")
	}
	if !methods[r.Method] {
		return Request{}, syntaxErr(i+1, "unsupported method %q", r.Method)
	}
	i++
	for ; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" {
			i++
			break
		}
		if isComment(l) {
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !validHeaderName(name) {
			return Request{}, syntaxErr(i+1, "want a header 'Name: value' or a blank line before the body")
		}
		if strings.ContainsAny(value, "\r\n") {
			// A bare CR inside a line would split the header on the wire.
			return Request{}, syntaxErr(i+1, "header %q has a carriage return in its value", name)
		}
		r.Headers = append(r.Headers, Header{Name: name, Value: value})
	}
	var body []string
	for ; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(strings.TrimSpace(l), "###") {
			break
		}
		if strings.HasPrefix(l, "#") {
			continue
		}
		body = append(body, l)
	}
	for len(body) > 0 && strings.TrimSpace(body[len(body)-1]) == "" {
		body = body[:len(body)-1]
	}
	r.Body = strings.Join(body, "\n")
	return r, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 127 || !strings.ContainsRune("!#$%&'*+-.^_`|~", c) && !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Vars are the values placeholders resolve to.
type Vars struct {
	// Event is the structured CloudEvent as a map (executor.EventMap):
	// ${data.project}, ${shkeptncontext}, ${id}, ${data.arr[0].x}.
	Event map[string]any
	// Env holds the allow-listed executor variables: ${env.NAME} (the name
	// is matched case-insensitively; a name not listed is an error).
	Env map[string]string
	// Time is the event time: ${timestring}, ${timeutcstring}, ${timeutcms}.
	Time time.Time
}

var placeholder = regexp.MustCompile(`\$\{([^{}\s]*)\}`)

// ErrUnsafeValue is wrapped when a substituted value would change the
// request's structure (CR/LF in a URL or header).
var ErrUnsafeValue = errors.New("unsafe substituted value")

type position int

const (
	inURL position = iota
	inHeader
	inBody
	inJSONBody
)

// Render substitutes placeholders in r. Unknown event paths are left as
// they are (like the original); ${env.X} for a variable not allow-listed is
// an error.
func (r Request) Render(v Vars) (Request, error) {
	out := Request{Method: r.Method}
	var err error
	if out.URL, err = v.substitute(r.URL, inURL); err != nil {
		return Request{}, fmt.Errorf("url: %w", err)
	}
	if err := checkURL(out.URL); err != nil {
		return Request{}, err
	}
	jsonBody := strings.HasPrefix(strings.TrimSpace(r.Body), "{") || strings.HasPrefix(strings.TrimSpace(r.Body), "[")
	for _, h := range r.Headers {
		val, err := v.substitute(h.Value, inHeader)
		if err != nil {
			return Request{}, fmt.Errorf("header %s: %w", h.Name, err)
		}
		if strings.EqualFold(h.Name, "Content-Type") && strings.Contains(strings.ToLower(val), "json") {
			jsonBody = true
		}
		out.Headers = append(out.Headers, Header{Name: h.Name, Value: val})
	}
	ctx := inBody
	if jsonBody {
		ctx = inJSONBody
	}
	if out.Body, err = v.substitute(r.Body, ctx); err != nil {
		return Request{}, fmt.Errorf("body: %w", err)
	}
	return out, nil
}

func checkURL(s string) error {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == ' ' {
			return fmt.Errorf("url %q: %w: control character or space", s, ErrUnsafeValue)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("url %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q: %w", s, safehttp.ErrScheme)
	}
	if u.Host == "" {
		return fmt.Errorf("url %q: no host", s)
	}
	return nil
}

func (v Vars) substitute(s string, where position) (string, error) {
	var firstErr error
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		val, ok, err := v.lookup(name)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return m
		}
		if !ok {
			return m
		}
		switch where {
		case inURL, inHeader:
			if strings.ContainsAny(val, "\r\n\x00") {
				if firstErr == nil {
					firstErr = fmt.Errorf("${%s}: %w: contains CR, LF or NUL", name, ErrUnsafeValue)
				}
				return m
			}
		case inJSONBody:
			b, _ := json.Marshal(val)
			val = string(b[1 : len(b)-1])
		}
		return val
	})
	if firstErr != nil {
		return "", firstErr
	}
	return out, nil
}

func (v Vars) lookup(name string) (string, bool, error) {
	switch strings.ToLower(name) {
	case "timestring":
		return v.Time.String(), true, nil
	case "timeutcstring":
		return v.Time.UTC().String(), true, nil
	case "timeutcms":
		return strconv.FormatInt(v.Time.UnixMilli(), 10), true, nil
	}
	if len(name) > 4 && strings.EqualFold(name[:4], "env.") {
		want := name[4:]
		for k, val := range v.Env {
			if strings.EqualFold(k, want) {
				return val, true, nil
			}
		}
		return "", false, fmt.Errorf("${%s}: variable %q is not allow-listed", name, want)
	}
	x, ok := Path(v.Event, name)
	if !ok {
		return "", false, nil
	}
	return Stringify(x), true, nil
}

var segment = regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`)

// Path resolves a dotted path with [i] indices (data.arr[0].x) in m.
func Path(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		g := segment.FindStringSubmatch(part)
		if g == nil {
			return nil, false
		}
		if g[1] != "" {
			mm, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = mm[g[1]]; !ok {
				return nil, false
			}
		}
		for _, idx := range strings.Split(g[2], "]") {
			if idx == "" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimPrefix(idx, "["))
			a, ok := cur.([]any)
			if err != nil || !ok || n < 0 || n >= len(a) {
				return nil, false
			}
			cur = a[n]
		}
	}
	return cur, true
}

// Stringify renders a decoded JSON value: strings as is, null as "",
// numbers and booleans in JSON form, objects and arrays as JSON.
func Stringify(x any) string {
	switch t := x.(type) {
	case string:
		return t
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

// Response is the outcome of Do.
type Response struct {
	StatusCode int
	Body       []byte
	Truncated  bool
}

// Do sends a rendered request with c (a safehttp client) and reads at most
// maxBody bytes of the answer.
func Do(ctx context.Context, c *http.Client, r Request, maxBody int64) (Response, error) {
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return Response{}, fmt.Errorf("build request: %w", err)
	}
	for _, h := range r.Headers {
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			return Response{}, fmt.Errorf("header %s: %w", h.Name, ErrUnsafeValue)
		}
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := c.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", r.Method, redactURL(r.URL), err)
	}
	defer resp.Body.Close()
	b, trunc, err := safehttp.ReadLimited(resp.Body, maxBody)
	if err != nil {
		return Response{StatusCode: resp.StatusCode, Body: b}, fmt.Errorf("read response: %w", err)
	}
	return Response{StatusCode: resp.StatusCode, Body: b, Truncated: trunc}, nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid url)"
	}
	return u.Redacted()
}
