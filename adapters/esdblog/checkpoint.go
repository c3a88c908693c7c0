package esdblog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// Checkpoint file layout: part of the format, do not change without bumping
// checkpointVersion. See doc.go.
const (
	checkpointMagic   = "dispo-esdblog-index"
	checkpointVersion = 1
	maxRecord         = 16 + 16 + 8 + blockSize*20 // a block's payload can be no longer
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkpointPath is the file that keeps the index for prefix in dir.
func checkpointPath(dir, prefix string) string {
	return filepath.Join(dir, "esdblog-"+prefix+"index")
}

func checkpointHeader(prefix string) []byte {
	h := []byte(checkpointMagic)
	h = append(h, checkpointVersion, blockSize, byte(len(prefix)))
	return append(h, prefix...)
}

// readCheckpoint returns the complete blocks stored at path, in order, and
// the file's length up to the last valid record. A missing file, or one
// written for another prefix, block size or format, gives no block. A
// record that is torn or fails its checksum ends the file there.
func readCheckpoint(path, prefix string) (blocks []block, valid int64, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("esdblog: checkpoint: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	want := checkpointHeader(prefix)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, want) {
		return nil, 0, nil
	}
	valid = int64(len(want))
	var hdr [8]byte
	payload := make([]byte, maxRecord)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return blocks, valid, nil
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		if n > maxRecord || n < 40 {
			return blocks, valid, nil
		}
		p := payload[:n]
		if _, err := io.ReadFull(r, p); err != nil || crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(hdr[4:]) {
			return blocks, valid, nil
		}
		b, seq, ok := decodeBlock(p)
		if !ok || seq != uint64(len(blocks)) {
			return blocks, valid, nil
		}
		if k := len(blocks); k > 0 && !b.first.after(blocks[k-1].lastPos()) {
			return blocks, valid, nil
		}
		blocks = append(blocks, b)
		valid += int64(len(hdr)) + int64(n)
	}
}

// encodeBlock returns the record payload of block seq (0-based).
func encodeBlock(dst []byte, seq uint64, b *block) []byte {
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = binary.BigEndian.AppendUint64(dst, b.first.commit)
	dst = binary.BigEndian.AppendUint64(dst, b.first.prepare)
	dst = append(dst, b.lastID[:]...)
	return append(dst, b.deltas...)
}

func decodeBlock(p []byte) (b block, seq uint64, ok bool) {
	if len(p) < 40 {
		return block{}, 0, false
	}
	seq = binary.BigEndian.Uint64(p)
	b.first = allPos{binary.BigEndian.Uint64(p[8:]), binary.BigEndian.Uint64(p[16:])}
	copy(b.lastID[:], p[24:40])
	b.deltas = append([]byte(nil), p[40:]...)
	// A complete block holds exactly blockSize-1 deltas, each after the last.
	prev, rest := b.first, b.deltas
	for i := 0; i < blockSize-1; i++ {
		q, k := nextDelta(rest, prev)
		if k == 0 || !q.after(prev) {
			return block{}, 0, false
		}
		prev, rest = q, rest[k:]
	}
	return b, seq, len(rest) == 0 && !b.lastID.IsZero()
}

// lastPos decodes the position of a complete block's last event.
func (b *block) lastPos() allPos {
	p, rest := b.first, b.deltas
	for len(rest) > 0 {
		q, k := nextDelta(rest, p)
		if k == 0 {
			break
		}
		p, rest = q, rest[k:]
	}
	return p
}

// checkpointFile appends complete blocks to the checkpoint file.
type checkpointFile struct {
	path    string
	f       *os.File
	written int // blocks in the file
	dirty   bool
	buf     []byte
}

// openCheckpoint opens path for appending after its first valid bytes
// (written blocks already there), creating it with its header if needed.
func openCheckpoint(path, prefix string, valid int64, written int) (*checkpointFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("esdblog: checkpoint: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("esdblog: checkpoint: %w", err)
	}
	c := &checkpointFile{path: path, f: f, written: written}
	if valid == 0 {
		c.written = 0
		err = c.restart(prefix)
	} else {
		err = f.Truncate(valid)
		if err == nil {
			_, err = f.Seek(valid, io.SeekStart)
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("esdblog: checkpoint: %w", err)
	}
	return c, nil
}

// restart empties the file down to its header.
func (c *checkpointFile) restart(prefix string) error {
	h := checkpointHeader(prefix)
	if err := c.f.Truncate(0); err != nil {
		return err
	}
	if _, err := c.f.WriteAt(h, 0); err != nil {
		return err
	}
	if _, err := c.f.Seek(int64(len(h)), io.SeekStart); err != nil {
		return err
	}
	c.written, c.dirty = 0, true
	return nil
}

// write appends the blocks not written yet, then syncs.
func (c *checkpointFile) write(blocks []block) error {
	c.buf = c.buf[:0]
	for i := c.written; i < len(blocks); i++ {
		start := len(c.buf)
		c.buf = append(c.buf, 0, 0, 0, 0, 0, 0, 0, 0)
		c.buf = encodeBlock(c.buf, uint64(i), &blocks[i])
		p := c.buf[start+8:]
		binary.BigEndian.PutUint32(c.buf[start:], uint32(len(p)))
		binary.BigEndian.PutUint32(c.buf[start+4:], crc32.Checksum(p, castagnoli))
	}
	if len(c.buf) > 0 {
		if _, err := c.f.Write(c.buf); err != nil {
			return fmt.Errorf("esdblog: checkpoint: %w", err)
		}
		c.written, c.dirty = len(blocks), true
	}
	if c.dirty {
		if err := c.f.Sync(); err != nil {
			return fmt.Errorf("esdblog: checkpoint: %w", err)
		}
		c.dirty = false
	}
	return nil
}

func (c *checkpointFile) close() error { return c.f.Close() }
