package ecsnet

import (
	"testing"
	"time"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
)

// benchCodec builds the codec of a mode for benchmarks, the range coder
// included (ENet's own, called directly).
func benchCodec(tb testing.TB, mode CompressionMode, train [][]byte) enethost.Codec {
	tb.Helper()
	if mode == CompressRangeCoder {
		rc, err := enethost.NewRangeCoder()
		must(tb, err)
		tb.Cleanup(rc.Close)
		return rc
	}
	var dictionary []byte
	if mode == CompressZstdDict {
		var err error
		dictionary, err = TrainDictionary(train, 16<<10)
		must(tb, err)
	}
	c, err := newDatagramCodec(mode, dictionary)
	must(tb, err)
	return c
}

// wireSize is what ENet sends for a datagram: the compressed form only when
// it is smaller.
func wireSize(c enethost.Codec, in, out []byte) int {
	if n := c.Compress(in, out[:len(in)]); n > 0 && n < len(in) {
		return n
	}
	return len(in)
}

// BenchmarkCompression runs every mode over the captured game datagrams and
// reports the wire/original size ratio and the time to compress and to
// decompress one datagram. The dictionary mode's dictionary is trained on a
// separate capture.
func BenchmarkCompression(b *testing.B) {
	for _, style := range []struct {
		name  string
		style int
	}{{"arcade", arcade}, {"physics", physics}} {
		b.Run("corpus="+style.name, func(b *testing.B) { benchCompression(b, style.style) })
	}
}

func benchCompression(b *testing.B, style int) {
	train, test := gameCorpus(b, style)
	var original int
	for _, d := range test {
		original += len(d)
	}
	for _, mode := range []CompressionMode{CompressRangeCoder, CompressFastLZ, CompressZlib, CompressZstd, CompressZstdDict} {
		b.Run("mode="+mode.String(), func(b *testing.B) {
			c := benchCodec(b, mode, train)
			out := make([]byte, datagramLimit)
			back := make([]byte, datagramLimit)
			compressed := make([][]byte, len(test))
			wire := 0
			for i, d := range test {
				n := wireSize(c, d, out)
				wire += n
				if n < len(d) {
					compressed[i] = append([]byte(nil), out[:n]...)
				}
			}
			var tc, td time.Duration
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				for _, d := range test {
					c.Compress(d, out[:len(d)])
				}
				mid := time.Now()
				for _, z := range compressed {
					if z != nil {
						c.Decompress(z, back)
					}
				}
				tc += mid.Sub(start)
				td += time.Since(mid)
			}
			count := float64(b.N * len(test))
			b.ReportMetric(float64(wire)/float64(original), "wire/orig")
			b.ReportMetric(float64(tc.Nanoseconds())/count, "ns/compress")
			b.ReportMetric(float64(td.Nanoseconds())/count, "ns/decompress")
			b.ReportMetric(float64(original)/float64(len(test)), "B/datagram")
		})
	}
}

// BenchmarkDictionaryTraining compares dictionaries trained on captured
// datagrams (what the compressor sees: ENet commands around the packets)
// with dictionaries trained on the packets the game sends, which is all a
// game has at hand; both are measured on the arcade test capture.
func BenchmarkDictionaryTraining(b *testing.B) {
	train, test := gameCorpus(b, arcade)
	original := 0
	for _, d := range test {
		original += len(d)
	}
	for _, source := range []struct {
		name    string
		samples [][]byte
	}{{"datagrams", train}, {"payloads", gamePayloads(1, arcade, 4, 240)}} {
		b.Run("trained-on="+source.name, func(b *testing.B) {
			var wire int
			for range b.N {
				d, err := TrainDictionary(source.samples, 16<<10)
				must(b, err)
				c, err := newDatagramCodec(CompressZstdDict, d)
				must(b, err)
				out := make([]byte, datagramLimit)
				wire = 0
				for _, dg := range test {
					wire += wireSize(c, dg, out)
				}
			}
			b.ReportMetric(float64(wire)/float64(original), "wire/orig")
		})
	}
}
