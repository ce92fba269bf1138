package quant_test

import (
	"fmt"
	"math"

	"github.com/netburi/netburi/replication/quant"
)

// A codec for a transform component: position at 2 mm and a rotation in
// 29 bits, 10 bytes in all instead of 56 as float64s.
func Example() {
	var (
		xy  = quant.NewFloat(-256, 255, 1.0/512)
		z   = quant.NewFloat(0, 32, 1.0/512)
		rot = quant.QuatCodec{Bits: 9}
	)
	half := math.Pi / 6 // a 60° turn about Z
	var w quant.Writer
	xy.Write(&w, 12.345)
	xy.Write(&w, -100.001)
	z.Write(&w, 1.5)
	rot.Write(&w, quant.Quat{Z: math.Sin(half), W: math.Cos(half)})
	data := w.Bytes()
	fmt.Println(w.BitLen(), "bits,", len(data), "bytes")

	r := quant.NewReader(data)
	x, _ := xy.Read(r)
	y, _ := xy.Read(r)
	h, _ := z.Read(r)
	q, err := rot.Read(r)
	fmt.Printf("%.3f %.3f %.3f %.3f %v\n", x, y, h, 2*math.Atan2(q.Z, q.W)*180/math.Pi, err)
	// Output:
	// 80 bits, 10 bytes
	// 12.346 -100.002 1.500 59.885 <nil>
}

func ExampleWriter() {
	var w quant.Writer
	w.WriteBits(0b101, 3)
	w.WriteBits(0b00110, 5)
	w.WriteBool(true)
	fmt.Printf("%08b\n", w.Bytes())
	// Output: [10100110 10000000]
}

func ExampleNewFloat() {
	f := quant.NewFloat(0, 1, 0.1)
	fmt.Println(f.Bits, f.MaxCode, f.Quantize(0.33), f.Dequantize(3))

	// Codes 11 to 15 fit in 4 bits but are not values.
	var w quant.Writer
	w.WriteBits(15, 4)
	_, err := f.Read(quant.NewReader(w.Bytes()))
	fmt.Println(err)
	// Output:
	// 4 10 3 0.3
	// quant: Float code 15 above MaxCode 10: quant: encoded value out of range
}

func ExampleWriteDelta() {
	var w quant.Writer
	for _, v := range []int64{1000, 1003, 990, 1000} {
		before := w.BitLen()
		quant.WriteDelta(&w, 1000, v)
		fmt.Println(v, w.BitLen()-before, "bits")
	}
	r := quant.NewReader(w.Bytes())
	for range 4 {
		v, _ := quant.ReadDelta(r, 1000)
		fmt.Print(v, " ")
	}
	fmt.Println()
	// Output:
	// 1000 1 bits
	// 1003 6 bits
	// 990 7 bits
	// 1000 1 bits
	// 1000 1003 990 1000
}
