module registry-actions/test/tools/ctlog

go 1.24.0

require github.com/google/certificate-transparency-go v1.3.3

require golang.org/x/crypto v0.48.0 // indirect
