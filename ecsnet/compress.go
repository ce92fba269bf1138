package ecsnet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"

	"github.com/klauspost/compress/dict"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
	"github.com/netburi/netburi/ecsnet/internal/fastlz"
)

// CompressZstdDict is netburi's own mode, beyond Godot's: zstd with a
// dictionary shared by both ends (SetCompressionDictionary, made with
// TrainDictionary), with the frame header left implied. It does best on
// small datagrams whose bytes repeat across the traffic (acknowledgements,
// inputs, messages, chat); on large datagrams of fresh numeric state ENet's
// range coder does better (BENCHMARKS.md has the figures). Only netburi
// peers speak it.
const CompressZstdDict CompressionMode = 5

// zstdMagic starts every zstd frame, zstdDictMagic every zstd dictionary.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

const zstdDictMagic = 0xEC30A437

// hasDictionaryHeader reports whether d starts as a zstd dictionary does:
// the magic, then the 4-byte dictionary ID.
func hasDictionaryHeader(d []byte) bool {
	return len(d) >= 8 && binary.LittleEndian.Uint32(d) == zstdDictMagic
}

// datagramCodec is one host's compressor; counts its failures.
type datagramCodec interface {
	enethost.Codec
	failures() uint64
}

// newDatagramCodec returns the codec of a mode, nil for none and the range
// coder (which ENet provides).
func newDatagramCodec(mode CompressionMode, dictionary []byte) (datagramCodec, error) {
	switch mode {
	case CompressFastLZ:
		return &fastlzCodec{}, nil
	case CompressZlib:
		return newZlibCodec(), nil
	case CompressZstd:
		enc, dec, err := newZstdPair(nil)
		if err != nil {
			return nil, fmt.Errorf("ecsnet: zstd: %w: %w", ErrCantCreate, err)
		}
		return &zstdCodec{enc: enc, dec: dec}, nil
	case CompressZstdDict:
		if len(dictionary) == 0 {
			return nil, fmt.Errorf("ecsnet: zstd dictionary mode without a dictionary: %w", ErrInvalidParameter)
		}
		return newZstdDictCodec(dictionary)
	}
	return nil, nil
}

// fastlzCodec is Godot's COMPRESS_FASTLZ: a FastLZ level 1 block, inputs
// under 16 bytes zero-padded to 16 first.
type fastlzCodec struct {
	buf    []byte
	failed uint64
}

func (c *fastlzCodec) Compress(in, out []byte) int {
	if len(in) < 16 {
		var padded [16]byte
		copy(padded[:], in)
		in = padded[:]
	}
	c.buf = fastlz.Compress(c.buf[:0], in)
	if len(c.buf) > len(out) {
		return 0
	}
	return copy(out, c.buf)
}

func (c *fastlzCodec) Decompress(in, out []byte) int {
	res, err := fastlz.Decompress(out[:0], in, len(out))
	if err != nil || len(res) == 0 {
		c.failed++
		return 0
	}
	return len(res)
}

func (c *fastlzCodec) failures() uint64 { return c.failed }

// zlibCodec is Godot's COMPRESS_ZLIB: a zlib stream (window 15) at level 6.
type zlibCodec struct {
	w      *zlib.Writer
	wbuf   bytes.Buffer
	r      io.ReadCloser
	rsrc   bytes.Reader
	failed uint64
}

func newZlibCodec() *zlibCodec {
	c := &zlibCodec{}
	c.w, _ = zlib.NewWriterLevel(&c.wbuf, 6) // level 6 is valid
	return c
}

func (c *zlibCodec) Compress(in, out []byte) int {
	c.wbuf.Reset()
	c.w.Reset(&c.wbuf)
	if _, err := c.w.Write(in); err != nil {
		return 0
	}
	if err := c.w.Close(); err != nil || c.wbuf.Len() > len(out) {
		return 0
	}
	return copy(out, c.wbuf.Bytes())
}

func (c *zlibCodec) Decompress(in, out []byte) int {
	n, err := c.inflate(in, out)
	if err != nil || n == 0 {
		c.failed++
		return 0
	}
	return n
}

// inflate decodes one whole zlib stream into out, failing when it does not
// fit or does not end (checksum included) within in.
func (c *zlibCodec) inflate(in, out []byte) (int, error) {
	c.rsrc.Reset(in)
	if c.r == nil {
		r, err := zlib.NewReader(&c.rsrc)
		if err != nil {
			return 0, err
		}
		c.r = r
	} else if err := c.r.(zlib.Resetter).Reset(&c.rsrc, nil); err != nil {
		return 0, err
	}
	n := 0
	for {
		if n == len(out) {
			var probe [1]byte
			if m, err := c.r.Read(probe[:]); m > 0 || err != io.EOF {
				return 0, errors.New("zlib: datagram decompresses past the limit")
			}
			return n, nil
		}
		m, err := c.r.Read(out[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

func (c *zlibCodec) failures() uint64 { return c.failed }

// newZstdPair builds an encoder and a decoder bounded to one datagram, for
// one host (each host has its own: sharing one pair with concurrency 1
// between the hosts of a process made them wait on each other). Plain
// zstd uses Godot's level 3; the dictionary mode, ours alone, compresses
// harder (datagrams are small, so the time stays in microseconds).
func newZstdPair(dictionary []byte) (*zstd.Encoder, *zstd.Decoder, error) {
	level := zstd.SpeedDefault // zstd level 3, as Godot
	if dictionary != nil {
		level = zstd.SpeedBetterCompression
	}
	eopts := []zstd.EOption{
		zstd.WithEncoderLevel(level),
		zstd.WithEncoderCRC(false), // Godot's frames carry none either
		zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true),
		zstd.WithWindowSize(1 << 16),
	}
	dopts := []zstd.DOption{
		zstd.WithDecoderMaxMemory(datagramLimit),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderConcurrency(1),
	}
	if dictionary != nil {
		eopts = append(eopts, zstd.WithEncoderDict(dictionary))
		dopts = append(dopts, zstd.WithDecoderDicts(dictionary))
	}
	enc, err := zstd.NewWriter(nil, eopts...)
	if err != nil {
		return nil, nil, err
	}
	dec, err := zstd.NewReader(nil, dopts...)
	if err != nil {
		enc.Close()
		return nil, nil, err
	}
	return enc, dec, nil
}

// datagramLimit bounds what one datagram may decompress to (ENet's buffer).
const datagramLimit = 4096

// zstdCodec is Godot's COMPRESS_ZSTD: one zstd frame per datagram.
type zstdCodec struct {
	enc    *zstd.Encoder
	dec    *zstd.Decoder
	buf    []byte
	failed uint64
}

func (c *zstdCodec) Compress(in, out []byte) int {
	c.buf = c.enc.EncodeAll(in, c.buf[:0])
	if len(c.buf) > len(out) {
		return 0
	}
	return copy(out, c.buf)
}

func (c *zstdCodec) Decompress(in, out []byte) int {
	n, ok := decodeFrame(c.dec, in, out)
	if !ok {
		c.failed++
	}
	return n
}

func (c *zstdCodec) failures() uint64 { return c.failed }

// decodeFrame decodes one zstd frame into out, reporting false when it is
// not one or does not fit.
func decodeFrame(dec *zstd.Decoder, in, out []byte) (int, bool) {
	res, err := dec.DecodeAll(in, out[:0])
	if err != nil || len(res) == 0 || len(res) > len(out) {
		return 0, false
	}
	if &res[0] != &out[0] {
		return copy(out, res), true // DecodeAll grew its own buffer; cannot exceed len(out) here
	}
	return len(res), true
}

// zstdDictCodec is CompressZstdDict. On the wire a datagram is a 2-byte tag
// of the dictionary followed by the zstd blocks of one frame: the frame
// header (magic, descriptor, window, dictionary ID, content size: 7 to 11
// bytes, a sixth of a small datagram's compressed size) is implied, since
// both ends know the dictionary, and rebuilt before decoding. The tag makes
// a peer with another dictionary fail every datagram instead of decoding
// garbage against the wrong dictionary.
type zstdDictCodec struct {
	enc    *zstd.Encoder
	dec    *zstd.Decoder
	tag    [2]byte
	header []byte // the frame header put back before the blocks
	buf    []byte
	frame  []byte
	failed uint64
}

// dictTagSize is the length of the dictionary tag that starts every
// CompressZstdDict datagram.
const dictTagSize = 2

func newZstdDictCodec(dictionary []byte) (*zstdDictCodec, error) {
	if !hasDictionaryHeader(dictionary) {
		return nil, fmt.Errorf("ecsnet: zstd dictionary: %w (no dictionary magic)", ErrInvalidParameter)
	}
	enc, dec, err := newZstdPair(dictionary)
	if err != nil {
		return nil, fmt.Errorf("ecsnet: zstd dictionary: %w: %w", ErrInvalidParameter, err)
	}
	c := &zstdDictCodec{enc: enc, dec: dec}
	h := fnv.New32a()
	h.Write(dictionary)
	binary.LittleEndian.PutUint16(c.tag[:], uint16(h.Sum32()))
	// Magic; descriptor: 4-byte dictionary ID, no content size, no checksum,
	// not single-segment; window: 4 KiB (datagramLimit); the dictionary ID.
	c.header = append(bytes.Clone(zstdMagic), 0x03, 0x10)
	c.header = append(c.header, dictionary[4:8]...)
	return c, nil
}

func (c *zstdDictCodec) Compress(in, out []byte) int {
	c.buf = c.enc.EncodeAll(in, c.buf[:0])
	blocks, ok := frameBlocks(c.buf)
	if !ok || dictTagSize+len(blocks) > len(out) {
		return 0
	}
	copy(out, c.tag[:])
	return dictTagSize + copy(out[dictTagSize:], blocks)
}

// frameBlocks returns what follows the header of a checksum-less zstd
// frame as our encoder writes it.
func frameBlocks(frame []byte) ([]byte, bool) {
	if len(frame) < 5 || !bytes.Equal(frame[:4], zstdMagic) {
		return nil, false
	}
	fhd := frame[4]
	if fhd&0x1c != 0 { // reserved bits or a content checksum
		return nil, false
	}
	n := 5
	single := fhd&0x20 != 0
	if !single {
		n++ // window descriptor
	}
	n += [4]int{0, 1, 2, 4}[fhd&3] // dictionary ID
	switch fhd >> 6 {              // frame content size
	case 0:
		if single {
			n++
		}
	case 1:
		n += 2
	case 2:
		n += 4
	case 3:
		n += 8
	}
	if n > len(frame) {
		return nil, false
	}
	return frame[n:], true
}

func (c *zstdDictCodec) Decompress(in, out []byte) int {
	if len(in) <= dictTagSize || in[0] != c.tag[0] || in[1] != c.tag[1] {
		c.failed++
		return 0
	}
	c.frame = append(append(c.frame[:0], c.header...), in[dictTagSize:]...)
	n, ok := decodeFrame(c.dec, c.frame, out)
	if !ok {
		c.failed++
	}
	return n
}

func (c *zstdDictCodec) failures() uint64 { return c.failed }

// TrainDictionary builds a zstd dictionary of at most maxSize bytes (a few
// KiB is typical) from sample payloads, for CompressZstdDict. Samples should
// look like the traffic: many real packets of each kind the game sends. Both
// ends must load the same dictionary (ship it with the game, or send it over
// a reliable channel before switching). It fails with ErrInvalidParameter
// when the samples are too few or too uniform to build one.
func TrainDictionary(samples [][]byte, maxSize int) ([]byte, error) {
	if maxSize < 256 {
		return nil, fmt.Errorf("ecsnet: train dictionary of %d bytes (want >= 256): %w", maxSize, ErrInvalidParameter)
	}
	d, err := dict.BuildZstdDict(samples, dict.Options{
		MaxDictSize: maxSize,
		HashBytes:   6,
		ZstdLevel:   zstd.SpeedBetterCompression,
	})
	if err != nil {
		return nil, fmt.Errorf("ecsnet: train dictionary from %d samples: %w: %w", len(samples), ErrInvalidParameter, err)
	}
	return d, nil
}

// SetCompressionDictionary loads the zstd dictionary CompressZstdDict uses
// on the next host (nil removes it). It fails with ErrAlreadyInUse while
// active and ErrInvalidParameter when d is not a zstd dictionary.
func (p *Peer) SetCompressionDictionary(d []byte) error {
	if p.active {
		return fmt.Errorf("ecsnet: set compression dictionary: %w", ErrAlreadyInUse)
	}
	if d != nil {
		if _, err := zstd.InspectDictionary(d); err != nil || !hasDictionaryHeader(d) {
			return fmt.Errorf("ecsnet: set compression dictionary: not a zstd dictionary: %w", ErrInvalidParameter)
		}
	}
	p.dictionary = bytes.Clone(d)
	return nil
}

// CompressionDictionary is the loaded zstd dictionary, nil if none.
func (p *Peer) CompressionDictionary() []byte { return p.dictionary }
