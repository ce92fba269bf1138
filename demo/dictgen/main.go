// Command dictgen records a demo session (a server and bots on loopback)
// and trains the zstd dictionary the demo's zstd_dict mode loads on both
// ends, writing it where package assets embeds it. Run it with
// `go generate ./assets`.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"time"

	"github.com/netburi/netburi/demo/game"
	"github.com/netburi/netburi/ecsnet"
)

func main() {
	out := flag.String("out", "demo.zdict", "file to write the dictionary to")
	bots := flag.Int("bots", 4, "bots in the recorded session")
	duration := flag.Duration("duration", 10*time.Second, "how long to record")
	size := flag.Int("size", 16<<10, "dictionary size in bytes")
	flag.Parse()
	samples, err := game.RecordSession(context.Background(), *bots, *duration, 20000)
	if err != nil {
		log.Fatal(err)
	}
	d, err := ecsnet.TrainDictionary(samples, *size)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, d, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("trained %d bytes on %d recorded packets into %s", len(d), len(samples), *out)
}
