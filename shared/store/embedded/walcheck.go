package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Pebble replays its write-ahead log up to the first chunk it cannot read
// and, when that is the newest log, treats the rest as a torn tail: right
// for a crash mid-write, wrong for a flipped byte in the middle of the log,
// where it silently drops every synced commit after the damage. Pebble's
// own read-ahead looks for proof of that only in the blocks after the
// damaged one (measured: a flipped byte anywhere in a 60 KB log opened
// without the transitions after it). checkWALs looks at the whole rest of
// each log before Pebble opens it: a valid chunk of the same log whose
// "synced offset" lies beyond the damage proves the damaged bytes were
// synced, so acknowledged, and the store refuses to open.
//
// The chunk format is Pebble's WAL sync format (record package, format
// major version FormatWALSyncChunks and newer): checksum (4, masked CRC-32C
// of everything after the length), length (2), encoding (1), log number
// (4), synced offset (8), payload; chunks never cross a 32 KiB block.

const (
	walBlock     = 32 << 10
	walHeader    = 19
	walSyncFirst = 9  // walSyncFullChunkEncoding
	walSyncLast  = 12 // walSyncLastChunkEncoding
)

var errWALDamaged = errors.New("write-ahead log damaged before synced data")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func walChecksum(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return (c>>15 | c<<17) + 0xa282ead8
}

// walChunk parses the chunk at off; ok is false when it is not a valid
// chunk of log logNum.
func walChunk(b []byte, off int, logNum uint32) (next int, synced uint64, ok bool) {
	if off+walHeader > len(b) || off%walBlock+walHeader > walBlock {
		return 0, 0, false
	}
	h := b[off:]
	enc := h[6]
	if enc < walSyncFirst || enc > walSyncLast || binary.LittleEndian.Uint32(h[7:]) != logNum {
		return 0, 0, false
	}
	n := int(binary.LittleEndian.Uint16(h[4:]))
	end := off + walHeader + n
	if end > len(b) || off%walBlock+walHeader+n > walBlock {
		return 0, 0, false
	}
	if walChecksum(b[off+6:end]) != binary.LittleEndian.Uint32(h) {
		return 0, 0, false
	}
	return end, binary.LittleEndian.Uint64(h[11:]), true
}

// walDamage returns the offset of the first unreadable chunk of a log that
// a later valid chunk says was synced, or -1.
func walDamage(b []byte, logNum uint32) int {
	off := 0
	for off < len(b) {
		rem := walBlock - off%walBlock
		if rem < walHeader {
			off += rem // the writer pads a block's tail that cannot hold a header
			continue
		}
		next, _, ok := walChunk(b, off, logNum)
		if !ok {
			break
		}
		off = next
	}
	if off >= len(b) {
		return -1
	}
	bad := off
	for o := bad + 1; o+walHeader <= len(b); o++ {
		if _, synced, ok := walChunk(b, o, logNum); ok && synced > uint64(bad) {
			return bad
		}
	}
	return -1
}

// checkWALs runs walDamage on every log in dir (none in a new directory).
func checkWALs(dir string) error {
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return err
	}
	for _, path := range logs {
		num, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(path), ".log"), 10, 32)
		if err != nil {
			continue // not one of Pebble's logs
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("check %s: %w", path, err)
		}
		if at := walDamage(b, uint32(num)); at >= 0 {
			return fmt.Errorf("%s at byte %d: %w", filepath.Base(path), at, errWALDamaged)
		}
	}
	return nil
}

// errOldEngine: the directory holds files of store/kv, the engine this
// driver ran on before Pebble (16 hex digits and an extension). Pebble
// would open it as a new, empty store next to them, and the history would
// look lost.
var errOldEngine = errors.New("the directory holds a store of Slipway's earlier engine (store/kv), which this version does not read; " +
	"move it away to start with an empty store")

func checkOldEngine(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // a new directory
	}
	for _, e := range entries {
		name, _, ok := strings.Cut(e.Name(), ".")
		if !ok || len(name) != 16 {
			continue
		}
		if _, err := strconv.ParseUint(name, 16, 64); err == nil {
			return fmt.Errorf("%s: %w", e.Name(), errOldEngine)
		}
	}
	return nil
}
