// shaper: a reverse proxy in front of a registry that emulates a network link for the push benchmark:
// each connection's bytes are paced to a bandwidth both ways, and each request waits a latency first.
// It runs outside the benchmark's Node process and copies in Go, so the link costs little CPU next to
// the tools being measured. It prints its address, then serves; GET /__shaper/stats answers the
// requests seen and the bytes received from clients and sent to them.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync/atomic"
	"time"
)

var requests, bytesIn, bytesOut atomic.Int64

// pace sleeps so that n bytes since start never exceed bps.
type pace struct {
	bps   float64
	start time.Time
	n     int64
}

func (p *pace) add(n int) {
	if p.bps <= 0 {
		return
	}
	if p.start.IsZero() {
		p.start = time.Now()
	}
	p.n += int64(n)
	due := p.start.Add(time.Duration(float64(p.n) / p.bps * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}

type pacedReader struct {
	r io.ReadCloser
	p pace
}

func (r *pacedReader) Read(b []byte) (int, error) {
	if len(b) > 256*1024 {
		b = b[:256*1024]
	}
	n, err := r.r.Read(b)
	bytesIn.Add(int64(n))
	r.p.add(n)
	return n, err
}

func (r *pacedReader) Close() error { return r.r.Close() }

type pacedWriter struct {
	http.ResponseWriter
	p pace
}

func (w *pacedWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		chunk := b
		if len(chunk) > 256*1024 {
			chunk = chunk[:256*1024]
		}
		n, err := w.ResponseWriter.Write(chunk)
		written += n
		bytesOut.Add(int64(n))
		w.p.add(n)
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

func (w *pacedWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func main() {
	upstream := flag.String("upstream", "", "registry host:port")
	mibps := flag.Float64("mibps", 0, "MiB/s per connection, each way (0: unlimited)")
	latency := flag.Duration("latency", 0, "added to every request")
	flag.Parse()
	target, err := url.Parse("http://" + *upstream)
	if err != nil || *upstream == "" {
		fmt.Fprintln(os.Stderr, "shaper: -upstream host:port is required")
		os.Exit(2)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	bps := *mibps * 1048576
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/__shaper/stats" {
			_ = json.NewEncoder(w).Encode(map[string]int64{
				"requests": requests.Load(), "bytesIn": bytesIn.Load(), "bytesOut": bytesOut.Load(),
			})
			return
		}
		requests.Add(1)
		time.Sleep(*latency)
		if r.Body != nil {
			r.Body = &pacedReader{r: r.Body, p: pace{bps: bps}}
		}
		proxy.ServeHTTP(&pacedWriter{ResponseWriter: w, p: pace{bps: bps}}, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	_ = http.Serve(ln, handler)
}
