// ctlog is a certificate-transparency log for the tests that only issues SCTs: Fulcio submits each
// precertificate to add-pre-chain and embeds the SCT it gets back; cosign checks that SCT against the
// public key this program writes (the trusted root's ctlogs entry). Nothing is stored or served.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
)

type addChainRequest struct {
	Chain [][]byte `json:"chain"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	prefix := flag.String("prefix", "/test", "log path prefix (the URL Fulcio is given ends with it)")
	pubOut := flag.String("public-key-out", "", "write the log's public key (PEM) here")
	flag.Parse()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		log.Fatal(err)
	}
	if *pubOut != "" {
		if err := os.WriteFile(*pubOut, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	logID := sha256.Sum256(der)
	var issued atomic.Int64

	handle := func(entryType ct.LogEntryType) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			fail := func(status int, msg string) {
				log.Printf("%s: %d %s", r.URL.Path, status, msg)
				http.Error(w, msg, status)
			}
			if r.Method != http.MethodPost {
				fail(http.StatusMethodNotAllowed, "POST only")
				return
			}
			var req addChainRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Chain) == 0 {
				fail(http.StatusBadRequest, "body must be {\"chain\": [base64 DER, ...]}")
				return
			}
			chain := make([]*ctx509.Certificate, 0, len(req.Chain))
			for _, c := range req.Chain {
				cert, err := ctx509.ParseCertificate(c)
				if err != nil && ctx509.IsFatal(err) {
					http.Error(w, "bad certificate: "+err.Error(), http.StatusBadRequest)
					return
				}
				chain = append(chain, cert)
			}
			timestamp := uint64(time.Now().UnixMilli())
			leaf, err := ct.MerkleTreeLeafFromChain(chain, entryType, timestamp)
			if err != nil {
				fail(http.StatusBadRequest, "leaf: "+err.Error())
				return
			}
			sct := ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: logID}, Timestamp: timestamp}
			input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: *leaf})
			if err != nil {
				fail(http.StatusInternalServerError, "signature input: "+err.Error())
				return
			}
			sig, err := cttls.CreateSignature(*key, cttls.SHA256, input)
			if err != nil {
				fail(http.StatusInternalServerError, "sign: "+err.Error())
				return
			}
			encoded, err := cttls.Marshal(sig)
			if err != nil {
				fail(http.StatusInternalServerError, "encode: "+err.Error())
				return
			}
			issued.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"sct_version": 0,
				"id":          base64.StdEncoding.EncodeToString(logID[:]),
				"timestamp":   timestamp,
				"extensions":  "",
				"signature":   base64.StdEncoding.EncodeToString(encoded),
			})
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc(*prefix+"/ct/v1/add-chain", handle(ct.X509LogEntryType))
	mux.HandleFunc(*prefix+"/ct/v1/add-pre-chain", handle(ct.PrecertLogEntryType))
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "{\"issued\":%d}\n", issued.Load())
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	log.Fatal(http.Serve(ln, mux))
}
