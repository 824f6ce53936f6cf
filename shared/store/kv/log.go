package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// On disk, a directory holds:
//
//	<seq>.log   records appended by commits, seq in hex
//	<seq>.snap  every bucket as of the start of log <seq> (covers logs < seq)
//
// Both are sequences of records: a header of payload length and CRC-32C
// (little-endian uint32 each) and a payload of operations:
//
//	op(1) uvarint(len(bucket)) bucket uvarint(len(key)) key [uvarint(len(value)) value]
//
// A snapshot ends with an opEnd record, so a snapshot cut short is never
// mistaken for a whole one (it is written to .tmp and renamed anyway).

const (
	opPut    = 1
	opDelete = 2
	opCreate = 3
	opEnd    = 4

	headerLen = 8
	// maxRecord bounds a record's length field, so garbage at a torn tail
	// cannot ask for an absurd allocation.
	maxRecord = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendOp(buf []byte, op byte, bucket string, k, v []byte) []byte {
	buf = append(buf, op)
	buf = binary.AppendUvarint(buf, uint64(len(bucket)))
	buf = append(buf, bucket...)
	buf = binary.AppendUvarint(buf, uint64(len(k)))
	buf = append(buf, k...)
	if op == opPut {
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		buf = append(buf, v...)
	}
	return buf
}

// frame returns header+payload as one buffer, so a record is one write.
func frame(dst, payload []byte) []byte {
	dst = append(dst, make([]byte, headerLen)...)
	dst = append(dst, payload...)
	putHeader(dst[len(dst)-len(payload)-headerLen:])
	return dst
}

// putHeader fills in the header of rec, a record with headerLen bytes of
// room before its payload.
func putHeader(rec []byte) {
	p := rec[headerLen:]
	binary.LittleEndian.PutUint32(rec[0:], uint32(len(p)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(p, castagnoli))
}

// errTorn marks a record that is cut short or fails its checksum.
var errTorn = errors.New("torn or corrupt record")

// nextRecord parses the record at the start of b and returns its payload and
// total length.
func nextRecord(b []byte) (payload []byte, n int, err error) {
	if len(b) < headerLen {
		return nil, 0, errTorn
	}
	l := binary.LittleEndian.Uint32(b[0:])
	if l > maxRecord || int(l) > len(b)-headerLen {
		return nil, 0, errTorn
	}
	payload = b[headerLen : headerLen+int(l)]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, errTorn
	}
	return payload, headerLen + int(l), nil
}

// applyOps applies a record's operations to trees (recovery only). It
// reports whether the record held opEnd.
func applyOps(trees map[string]*tree, gen uint64, p []byte) (end bool, err error) {
	bad := func(what string) (bool, error) { return false, fmt.Errorf("bad operation: %s", what) }
	field := func() ([]byte, bool) {
		n, w := binary.Uvarint(p)
		if w <= 0 || n > uint64(len(p)-w) {
			return nil, false
		}
		f := p[w : w+int(n)]
		p = p[w+int(n):]
		return f, true
	}
	for len(p) > 0 {
		op := p[0]
		p = p[1:]
		if op == opEnd {
			end = true
			continue
		}
		name, ok := field()
		if !ok {
			return bad("bucket")
		}
		k, ok := field()
		if !ok {
			return bad("key")
		}
		switch op {
		case opCreate:
			if _, ok := trees[string(name)]; !ok {
				trees[string(name)] = &tree{}
			}
		case opPut, opDelete:
			t, ok := trees[string(name)]
			if !ok {
				return bad("bucket " + string(name) + " does not exist")
			}
			if op == opDelete {
				t.delete(k, gen)
				continue
			}
			v, ok := field()
			if !ok {
				return bad("value")
			}
			// Copy out of the file buffer, so the buffer can be freed.
			t.put(newEntry(k, v), gen)
		default:
			return bad(fmt.Sprintf("op %d", op))
		}
	}
	return end, nil
}

type logFile struct {
	f    *os.File
	seq  uint64
	base int64      // position of this file's first byte in the whole log
	size int64      // guarded by DB.wmu for writes; end() is read under syncMu
	mu   sync.Mutex // guards size against the concurrent end() of a syncer
}

// end is the log position after the last record written.
func (l *logFile) end() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.base + l.size
}

func fileName(seq uint64, ext string) string { return fmt.Sprintf("%016x%s", seq, ext) }

func createLog(dir string, seq uint64) (*logFile, error) {
	f, err := os.OpenFile(filepath.Join(dir, fileName(seq, ".log")), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	if err := syncDir(dir); err != nil {
		_ = f.Close()
		return nil, err
	}
	return &logFile{f: f, seq: seq}, nil
}

// write appends rec, a payload after headerLen bytes of room for the
// header, as one record (one write call); sync makes it durable.
func (l *logFile) write(rec []byte) error {
	putHeader(rec)
	if _, err := l.f.Write(rec); err != nil {
		return fmt.Errorf("append log: %w", err)
	}
	l.mu.Lock()
	l.size += int64(len(rec))
	l.mu.Unlock()
	return nil
}

func (l *logFile) sync() error {
	if err := fdatasync(l.f); err != nil {
		return fmt.Errorf("sync log: %w", err)
	}
	return nil
}

func (l *logFile) close() error {
	if err := l.f.Sync(); err != nil {
		_ = l.f.Close()
		return fmt.Errorf("close log: %w", err)
	}
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("close log: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

type dirFile struct {
	seq  uint64
	ext  string
	name string
}

func listDir(dir string) ([]dirFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []dirFile
	for _, e := range ents {
		name := e.Name()
		ext := filepath.Ext(name)
		if ext == ".tmp" {
			_ = os.Remove(filepath.Join(dir, name)) // an unfinished snapshot
			continue
		}
		if ext != ".log" && ext != ".snap" {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, ext), 16, 64)
		if err != nil {
			continue
		}
		out = append(out, dirFile{seq: seq, ext: ext, name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out, nil
}

// recoverDir rebuilds the state from the newest snapshot and the logs after
// it, cutting a torn tail off the last log. It returns the state, the
// sequence number for the next log, the snapshot's size and the bytes and
// number of the logs replayed (not yet covered by a snapshot).
func recoverDir(dir string, g *gens) (_ *state, next uint64, snapSz, logBytes int64, logFiles int, _ error) {
	files, err := listDir(dir)
	if err != nil {
		return nil, 0, 0, 0, 0, err
	}
	trees := map[string]*tree{}
	gen := g.next() // recovery's trees are private: change them in place
	var base uint64 // logs before base are in the snapshot
	for i := len(files) - 1; i >= 0; i-- {
		if files[i].ext != ".snap" {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, files[i].name))
		if err != nil {
			return nil, 0, 0, 0, 0, err
		}
		if err := loadSnapshot(trees, gen, raw); err != nil {
			return nil, 0, 0, 0, 0, fmt.Errorf("snapshot %s: %w", files[i].name, err)
		}
		base, snapSz = files[i].seq, int64(len(raw))
		break
	}
	var logs []dirFile
	next = base
	for _, f := range files {
		if f.seq < base {
			_ = os.Remove(filepath.Join(dir, f.name)) // covered by the snapshot
			continue
		}
		if f.ext == ".log" {
			logs = append(logs, f)
			next = max(next, f.seq+1)
		}
	}
	for i, f := range logs {
		path := filepath.Join(dir, f.name)
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, 0, 0, 0, 0, err
		}
		logBytes += int64(len(raw))
		off := 0
		for off < len(raw) {
			p, n, err := nextRecord(raw[off:])
			if err != nil {
				if i != len(logs)-1 {
					return nil, 0, 0, 0, 0, fmt.Errorf("log %s: %w at offset %d (not the last log, so not a torn write)", f.name, err, off)
				}
				// A crash during the last write: that commit never returned.
				if err := truncate(path, int64(off)); err != nil {
					return nil, 0, 0, 0, 0, err
				}
				break
			}
			if _, err := applyOps(trees, gen, p); err != nil {
				return nil, 0, 0, 0, 0, fmt.Errorf("log %s at offset %d: %w", f.name, off, err)
			}
			off += n
		}
	}
	st := &state{}
	for name := range trees {
		st.names = append(st.names, name)
	}
	sort.Strings(st.names)
	for _, name := range st.names {
		st.trees = append(st.trees, *trees[name])
	}
	return st, next, snapSz, logBytes, len(logs), nil
}

func loadSnapshot(trees map[string]*tree, gen uint64, raw []byte) error {
	for off := 0; off < len(raw); {
		p, n, err := nextRecord(raw[off:])
		if err != nil {
			return fmt.Errorf("%w at offset %d", err, off)
		}
		end, err := applyOps(trees, gen, p)
		if err != nil {
			return err
		}
		off += n
		if end {
			if off != len(raw) {
				return fmt.Errorf("data after the end record at offset %d", off)
			}
			return nil
		}
	}
	return errors.New("no end record (cut short)")
}

func truncate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("cut torn log tail: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("cut torn log tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cut torn log tail: %w", err)
	}
	return nil
}

// snapshotChunk is the payload size at which a snapshot starts a new record.
const snapshotChunk = 1 << 20

// writeSnapshot writes st as snapshot seq (covering logs < seq) and returns
// its size. st must not change while it is written (published states never do).
func writeSnapshot(dir string, seq uint64, st *state) (int64, error) {
	tmp := filepath.Join(dir, fileName(seq, ".tmp"))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("snapshot: %w", err)
	}
	defer os.Remove(tmp) // no-op after the rename
	var size int64
	var payload, out []byte
	flush := func() error {
		out = frame(out[:0], payload)
		payload = payload[:0]
		n, err := f.Write(out)
		size += int64(n)
		return err
	}
	for i, name := range st.names {
		payload = appendOp(payload, opCreate, name, nil, nil)
		st.trees[i].ascend(func(it item) bool {
			payload = appendOp(payload, opPut, name, it.key(), it.value())
			if len(payload) >= snapshotChunk {
				err = flush()
			}
			return err == nil
		})
		if err != nil {
			_ = f.Close()
			return 0, fmt.Errorf("snapshot: %w", err)
		}
	}
	payload = append(payload, opEnd)
	if err := flush(); err != nil {
		_ = f.Close()
		return 0, fmt.Errorf("snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return 0, fmt.Errorf("snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, fileName(seq, ".snap"))); err != nil {
		return 0, fmt.Errorf("snapshot: %w", err)
	}
	return size, syncDir(dir)
}

// removeBefore deletes logs and snapshots older than snapshot seq.
func removeBefore(dir string, seq uint64) {
	files, err := listDir(dir)
	if err != nil {
		return
	}
	for _, f := range files {
		if f.seq < seq {
			_ = os.Remove(filepath.Join(dir, f.name))
		}
	}
}
