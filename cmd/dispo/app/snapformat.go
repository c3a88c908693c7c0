package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"

	"dispo/projections"
)

// # The snapshot file
//
// projections.snap holds the projections' image (projections.Image: both
// folds and the position), so that a restart resumes following the log
// after the image's position instead of folding it again from position 0.
//
// The format, version 5 (2 added the units' last hash to the availability
// fold; 3 the retirement, corrections and reopenings awaiting a
// declaration; 4 is projections.Image, the read model's own record of each
// unit in place of the domain's state; 5 the declarations' capacity source
// and the units' synchronisation id):
//
//	magic    8 bytes  "DISPOPRJ"
//	version  4 bytes  big-endian uint32, snapshotVersion
//	length   8 bytes  big-endian uint64, of the payload
//	payload  length bytes, encoding/gob of a projections.Image
//	sum      32 bytes SHA-256 of everything before it
//
// The payload is the image as projections gives it, units and pools in id
// order, so that a state is always written the same way. Any change to
// projections.Image (its types or what they mean) must bump
// snapshotVersion: a file of another version is refused, and the server
// folds from 0 (a snapshot is a cache, the log is the truth).
//
// A snapshot does not identify the log it was taken of: resume checks that
// the event at its position is the one it last applied, and Follow refuses
// one whose position is past the log's head.

// Part of the format, do not change (but bump snapshotVersion with the payload).
const (
	snapshotMagic   = "DISPOPRJ"
	snapshotVersion = 5
	snapshotHeader  = len(snapshotMagic) + 4 + 8
	// maxSnapshotPayload bounds what readSnapshot reads: far above the
	// state of a region (a few MB), far below what would hurt.
	maxSnapshotPayload = 1 << 30
)

// ErrBadSnapshot is the error a snapshot that cannot be used is refused
// with, wrapped with the reason: damaged, truncated, of another format or
// version, or inconsistent (wrapping projections.ErrBadImage too). The
// server then folds the log from position 0.
var ErrBadSnapshot = errors.New("app: unusable projections snapshot")

func badSnapshot(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadSnapshot}, args...)...)
}

// writeSnapshot writes img to w in the snapshot format.
func writeSnapshot(w io.Writer, img projections.Image) error {
	var buf bytes.Buffer
	buf.WriteString(snapshotMagic)
	buf.Write(make([]byte, 12)) // version and length, set below
	if err := gob.NewEncoder(&buf).Encode(&img); err != nil {
		return fmt.Errorf("app: encode projections snapshot: %w", err)
	}
	p := buf.Bytes()
	binary.BigEndian.PutUint32(p[len(snapshotMagic):], snapshotVersion)
	binary.BigEndian.PutUint64(p[len(snapshotMagic)+4:], uint64(len(p)-snapshotHeader))
	sum := sha256.Sum256(p)
	buf.Write(sum[:])
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("app: write projections snapshot: %w", err)
	}
	return nil
}

// readSnapshot reads from r a snapshot writeSnapshot wrote, and only that
// much. A file that is damaged, truncated, not a snapshot or of another
// version is refused with an error wrapping ErrBadSnapshot; a failing read
// with the reader's error.
func readSnapshot(r io.Reader) (projections.Image, error) {
	head := make([]byte, snapshotHeader)
	if n, err := io.ReadFull(r, head); err != nil {
		if n == 0 && err == io.EOF {
			return projections.Image{}, badSnapshot("empty")
		}
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return projections.Image{}, badSnapshot("truncated header (%d bytes)", n)
		}
		return projections.Image{}, fmt.Errorf("app: read projections snapshot: %w", err)
	}
	if string(head[:len(snapshotMagic)]) != snapshotMagic {
		return projections.Image{}, badSnapshot("not a dispo projections snapshot")
	}
	if v := binary.BigEndian.Uint32(head[len(snapshotMagic):]); v != snapshotVersion {
		return projections.Image{}, badSnapshot("format version %d, this build reads version %d", v, snapshotVersion)
	}
	n := binary.BigEndian.Uint64(head[len(snapshotMagic)+4:])
	if n > maxSnapshotPayload {
		return projections.Image{}, badSnapshot("payload of %d bytes, more than the %d allowed", n, maxSnapshotPayload)
	}
	var buf bytes.Buffer
	buf.Write(head)
	// CopyN grows the buffer as data comes: a damaged length costs no more
	// than the file holds.
	if got, err := io.CopyN(&buf, r, int64(n)+sha256.Size); err != nil {
		if err == io.EOF {
			return projections.Image{}, badSnapshot("truncated: %d of %d bytes", int64(snapshotHeader)+got, snapshotHeader+int(n)+sha256.Size)
		}
		return projections.Image{}, fmt.Errorf("app: read projections snapshot: %w", err)
	}
	p := buf.Bytes()
	content, sum := p[:len(p)-sha256.Size], p[len(p)-sha256.Size:]
	if want := sha256.Sum256(content); !bytes.Equal(sum, want[:]) {
		return projections.Image{}, badSnapshot("checksum mismatch (damaged)")
	}
	var img projections.Image
	if err := gob.NewDecoder(bytes.NewReader(content[snapshotHeader:])).Decode(&img); err != nil {
		return projections.Image{}, badSnapshot("decode: %v", err)
	}
	return img, nil
}

// loadSnapshot returns a new Live restored from the snapshot r holds. An
// image whose folds do not hold together is refused as a damaged file is,
// with an error wrapping ErrBadSnapshot.
func loadSnapshot(r io.Reader) (*projections.Live, error) {
	img, err := readSnapshot(r)
	if err != nil {
		return nil, err
	}
	live := projections.NewLive()
	if err := live.Restore(img); err != nil {
		if errors.Is(err, projections.ErrBadImage) {
			return nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
		}
		return nil, err
	}
	return live, nil
}
