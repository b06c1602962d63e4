package evtx

import (
	"encoding/binary"
	"hash/crc32"
	"time"
)

// Layout constants of the EVTX format (MS-EVEN6 / libevtx).
const (
	fileMagic       = "ElfFile\x00"
	chunkMagic      = "ElfChnk\x00"
	chunkSize       = 0x10000
	chunkHeaderSize = 0x200
	recordMagic     = "\x2a\x2a\x00\x00"
	recordHeader    = 24
)

// fileHeader is the part of the 4 KiB file header the reader needs.
type fileHeader struct {
	headerBlockSize uint16
	major, minor    uint16
	chunkCount      uint16
	flags           uint32
}

func parseFileHeader(b []byte) (fileHeader, bool) {
	if len(b) < 128 || string(b[:8]) != fileMagic {
		return fileHeader{}, false
	}
	h := fileHeader{
		minor:           binary.LittleEndian.Uint16(b[36:]),
		major:           binary.LittleEndian.Uint16(b[38:]),
		headerBlockSize: binary.LittleEndian.Uint16(b[40:]),
		chunkCount:      binary.LittleEndian.Uint16(b[42:]),
		flags:           binary.LittleEndian.Uint32(b[120:]),
	}
	if h.headerBlockSize < 128 {
		h.headerBlockSize = 0x1000
	}
	return h, true
}

// chunkHeader is the part of a chunk header the reader needs.
type chunkHeader struct {
	firstNumber, lastNumber uint64 // record numbers (renumbered 1..N by exports)
	lastID                  uint64 // last event record ID; all ones marks an unused chunk
	lastRecordOffset        uint32
	freeSpaceOffset         uint32
	dataCRC, headerCRC      uint32
}

func parseChunkHeader(b []byte) chunkHeader {
	return chunkHeader{
		firstNumber:      binary.LittleEndian.Uint64(b[8:]),
		lastNumber:       binary.LittleEndian.Uint64(b[16:]),
		lastID:           binary.LittleEndian.Uint64(b[32:]),
		lastRecordOffset: binary.LittleEndian.Uint32(b[44:]),
		freeSpaceOffset:  binary.LittleEndian.Uint32(b[48:]),
		dataCRC:          binary.LittleEndian.Uint32(b[52:]),
		headerCRC:        binary.LittleEndian.Uint32(b[124:]),
	}
}

// checksumsOK verifies the chunk header CRC32 (bytes 0–120 and 128–512) and the
// CRC32 of the record data (512 up to the free-space offset).
func (h chunkHeader) checksumsOK(b []byte) (header, data bool) {
	c := crc32.NewIEEE()
	c.Write(b[:120])
	c.Write(b[128:chunkHeaderSize])
	header = c.Sum32() == h.headerCRC
	end := int(h.freeSpaceOffset)
	if end < chunkHeaderSize || end > len(b) {
		return header, false
	}
	data = crc32.ChecksumIEEE(b[chunkHeaderSize:end]) == h.dataCRC
	return header, data
}

// recordTime reads the FILETIME of the record header at off, if one is there.
func recordTime(b []byte, off int) (time.Time, bool) {
	if off < chunkHeaderSize || off+recordHeader > len(b) || string(b[off:off+4]) != recordMagic {
		return time.Time{}, false
	}
	t := filetime(binary.LittleEndian.Uint64(b[off+16:]))
	return t, !t.IsZero() // some exports zero the header time: then the range is unknown
}

// timeRange is the chunk's time span from its first and last record headers; records
// are written in time order, so a chunk wholly outside a window can be skipped unparsed.
func (h chunkHeader) timeRange(b []byte) (first, last time.Time, ok bool) {
	first, ok1 := recordTime(b, chunkHeaderSize)
	last, ok2 := recordTime(b, int(h.lastRecordOffset))
	if !ok1 || !ok2 {
		return time.Time{}, time.Time{}, false
	}
	if last.Before(first) {
		first, last = last, first
	}
	return first, last, true
}

// filetime converts 100-ns intervals since 1601-01-01 to a UTC time.
func filetime(ft uint64) time.Time {
	const epochDiff = 116444736000000000 // 1601→1970 in 100 ns
	if ft < epochDiff {
		return time.Time{}
	}
	d := ft - epochDiff
	return time.Unix(int64(d/10_000_000), int64(d%10_000_000)*100).UTC()
}

// recordOffsets walks the record headers of a chunk buffer and returns their offsets,
// stopping at the first bad magic or impossible size.
func recordOffsets(b []byte, max int) []int {
	var offs []int
	off := chunkHeaderSize
	for len(offs) < max && off+recordHeader <= len(b) && string(b[off:off+4]) == recordMagic {
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		if size < recordHeader || off+size > len(b) {
			break
		}
		offs = append(offs, off)
		off += size
	}
	return offs
}
