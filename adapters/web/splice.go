package web

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"strconv"
	"sync"
)

// A page is the person's header, a main element that is the same for
// everyone at one position (kept compressed in the cache), and a footer.
// Each piece is compressed on its own into raw deflate blocks ending in a
// sync flush (byte-aligned, not final): blocks compressed apart may follow
// one another in one deflate stream, since a back-reference never reaches
// before its own piece. So a page is sent gzipped with only its header and
// footer compressed per request.

// deflated is a piece compressed apart, with what the gzip trailer needs.
type deflated struct {
	z     []byte
	plain []byte // for the CRC of the whole page
}

var flateWriters = sync.Pool{New: func() any { w, _ := flate.NewWriter(nil, flate.BestSpeed); return w }}

func deflate(b []byte, final bool) deflated {
	var buf bytes.Buffer
	fw := flateWriters.Get().(*flate.Writer)
	fw.Reset(&buf)
	fw.Write(b)
	if final {
		fw.Close()
	} else {
		fw.Flush()
	}
	flateWriters.Put(fw)
	return deflated{z: buf.Bytes(), plain: b}
}

// gzipHeader: no name, no time, fastest compression, unknown system (RFC 1952).
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 0xff}

// gzipJoin makes one gzip member of pieces; the last must be final.
func gzipJoin(pieces ...deflated) []byte {
	size := len(gzipHeader) + 8
	for _, p := range pieces {
		size += len(p.z)
	}
	out := make([]byte, 0, size)
	out = append(out, gzipHeader...)
	var crc uint32
	var n uint32
	for _, p := range pieces {
		out = append(out, p.z...)
		crc = crc32.Update(crc, crc32.IEEETable, p.plain)
		n += uint32(len(p.plain))
	}
	out = binary.LittleEndian.AppendUint32(out, crc)
	return binary.LittleEndian.AppendUint32(out, n)
}

// sendPage writes head, main and tail: gzipped by splicing when the client
// takes gzip (main compressed once, by the cache), else as they are.
func sendPage(w http.ResponseWriter, r *http.Request, status int, head []byte, main deflated, tail []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "private, no-store")
	h.Add("Vary", "Accept-Encoding")
	var body []byte
	if acceptsGzip(r) {
		body = gzipJoin(deflate(head, false), main, deflate(tail, true))
		h.Set("Content-Encoding", "gzip")
	} else {
		body = make([]byte, 0, len(head)+len(main.plain)+len(tail))
		body = append(append(append(body, head...), main.plain...), tail...)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
