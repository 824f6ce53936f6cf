package embedded

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// Records are stored in a small hand-rolled binary format rather than JSON:
// the engine rewrites a ~4 KB run on every task event, and encoding must not
// be the cost that dominates a local transaction. Each value starts with a
// format version byte so the layout can evolve.
const formatV1 = 1

var errCorrupt = errors.New("store/embedded: corrupt record")

// Key building blocks. Variable-length key parts are length-prefixed (lp) so
// that ("a|b","c") and ("a","b|c") never collide and a prefix of whole parts
// selects exactly one group. Times are fixed-width (tkey) so that keys sort
// chronologically; an id, when present, is always the last part.

func appendLP(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

const tkeyLen = 12

// appendTKey appends t as 12 bytes that sort like the times: the seconds with
// the sign bit flipped (so negative seconds sort first), then the nanoseconds.
func appendTKey(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

func tkey(t time.Time) []byte { return appendTKey(make([]byte, 0, tkeyLen), t) }

func parseTKey(b []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(b[8:]))).UTC()
}

// decoder reads the value format; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) str() string {
	if d.err != nil {
		return ""
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || uint64(len(d.b)-k) < n {
		d.err = errCorrupt
		return ""
	}
	s := string(d.b[k : k+int(n)])
	d.b = d.b[k+int(n):]
	return s
}

func (d *decoder) time() time.Time {
	if d.err != nil {
		return time.Time{}
	}
	if len(d.b) < tkeyLen {
		d.err = errCorrupt
		return time.Time{}
	}
	t := parseTKey(d.b)
	d.b = d.b[tkeyLen:]
	if t.IsZero() {
		return time.Time{} // no location, like the zero value callers compare with
	}
	return t
}

func (d *decoder) i64() int64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = errCorrupt
		return 0
	}
	n := int64(binary.BigEndian.Uint64(d.b))
	d.b = d.b[8:]
	return n
}

func newDecoder(v []byte) *decoder {
	if len(v) == 0 || v[0] != formatV1 {
		return &decoder{err: errCorrupt}
	}
	return &decoder{b: v[1:]}
}

// rest returns the remaining bytes (the body) as a copy: the caller owns the
// record it gets, and the stored value is shared with other readers.
func (d *decoder) rest() []byte {
	if d.err != nil {
		return nil
	}
	return append([]byte(nil), d.b...)
}

func encodeRun(r *store.Run) []byte {
	b := make([]byte, 0, 128+len(r.Body))
	b = append(b, formatV1)
	for _, s := range []string{r.Project, r.Stage, r.Service, r.Sequence, r.KeptnContext, r.State} {
		b = appendLP(b, s)
	}
	b = appendTKey(b, r.TriggeredAt)
	b = appendLP(b, r.TaskTriggeredID)
	b = appendLP(b, r.OpenType)
	b = appendTKey(b, r.OpenSince)
	b = appendTKey(b, r.Due)
	b = binary.BigEndian.AppendUint64(b, uint64(r.AckedSeq))
	return append(b, r.Body...)
}

// decodeRunHeader decodes everything but the body, which is left in d for
// decodeRun; listings filter on the header before paying for the body copy.
func decodeRunHeader(id string, v []byte) (*store.Run, *decoder) {
	d := newDecoder(v)
	r := &store.Run{ID: id}
	r.Project, r.Stage, r.Service, r.Sequence, r.KeptnContext, r.State = d.str(), d.str(), d.str(), d.str(), d.str(), d.str()
	r.TriggeredAt = d.time()
	r.TaskTriggeredID, r.OpenType = d.str(), d.str()
	r.OpenSince, r.Due = d.time(), d.time()
	r.AckedSeq = d.i64()
	return r, d
}

// withAckedSeq returns a copy of the run record v with AckedSeq raised to
// seq (nil when it is there already), and the AckedSeq v had; the rest is
// copied as it is, not decoded.
func withAckedSeq(id string, v []byte, seq int64) ([]byte, int64, error) {
	r, d := decodeRunHeader(id, v)
	if d.err != nil || seq <= r.AckedSeq {
		return nil, r.AckedSeq, d.err
	}
	at := len(v) - len(d.b) - 8 // AckedSeq is the last field before the body
	nv := append([]byte(nil), v...)
	binary.BigEndian.PutUint64(nv[at:], uint64(seq))
	return nv, r.AckedSeq, nil
}

func decodeRun(id string, v []byte) (*store.Run, error) {
	r, d := decodeRunHeader(id, v)
	r.Body = d.rest()
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

func encodeEvent(e *store.Event) []byte {
	b := make([]byte, 0, 128+len(e.Body))
	b = append(b, formatV1)
	for _, s := range []string{e.Project, e.KeptnContext, e.Type, e.Stage, e.Service, e.Source, e.TriggeredID} {
		b = appendLP(b, s)
	}
	b = appendTKey(b, e.Time)
	return append(b, e.Body...)
}

func decodeEventHeader(id string, v []byte) (*store.Event, *decoder) {
	d := newDecoder(v)
	e := &store.Event{ID: id}
	e.Project, e.KeptnContext, e.Type, e.Stage, e.Service, e.Source, e.TriggeredID = d.str(), d.str(), d.str(), d.str(), d.str(), d.str(), d.str()
	e.Time = d.time()
	return e, d
}

func encodeProject(p *store.Project) []byte {
	b := make([]byte, 0, 1+tkeyLen+len(p.Body))
	b = append(b, formatV1)
	b = appendTKey(b, p.CreatedAt)
	return append(b, p.Body...)
}

func decodeProject(name string, v []byte) (*store.Project, error) {
	d := newDecoder(v)
	p := &store.Project{Name: name, CreatedAt: d.time()}
	p.Body = d.rest()
	if d.err != nil {
		return nil, d.err
	}
	return p, nil
}

// Lanes and contexts are just a body; their identity is the key.
func encodeBody(body []byte) []byte {
	return append([]byte{formatV1}, body...)
}

func decodeBody(v []byte) ([]byte, error) {
	d := newDecoder(v)
	b := d.rest()
	return b, d.err
}

func encodeResource(r *store.Resource) []byte {
	b := make([]byte, 0, 1+tkeyLen+len(r.Content))
	b = append(b, formatV1)
	b = appendTKey(b, r.UpdatedAt)
	return append(b, r.Content...)
}

func laneKey(k store.LaneKey) []byte {
	return appendLP(appendLP(appendLP(nil, k.Project), k.Stage), k.Service)
}

func contextKey(project, keptnContext string) []byte {
	return appendLP(appendLP(nil, project), keptnContext)
}

// resourceLevel is the key prefix of one level (project, stage or service); the
// URI follows it raw, so a cursor over the prefix lists URIs in order.
func resourceLevel(project, stage, service string) []byte {
	return appendLP(appendLP(appendLP(nil, project), stage), service)
}
