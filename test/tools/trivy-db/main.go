// Writes a small vulnerability database in trivy's real format (BoltDB through trivy-db's own
// packages, plus metadata.json) from a JSON description, for offline scan tests.
//
//	trivy-db-fixture <spec.json> <out-dir>
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	bolt "go.etcd.io/bbolt"
)

type spec struct {
	Sources []struct {
		Bucket     string `json:"bucket"`
		ID         string `json:"id"`
		Name       string `json:"name"`
		URL        string `json:"url"`
		Advisories []struct {
			Package string `json:"package"`
			ID      string `json:"id"`
			Fixed   string `json:"fixed"`
		} `json:"advisories"`
	} `json:"sources"`
	Vulnerabilities []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Title    string `json:"title"`
		Source   string `json:"source"`
	} `json:"vulnerabilities"`
	// NextUpdate as RFC 3339; far in the future keeps trivy from looking for a newer DB.
	NextUpdate string `json:"nextUpdate"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: trivy-db-fixture <spec.json> <out-dir>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(specPath, out string) error {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var s spec
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := db.Init(out); err != nil {
		return err
	}
	dbc := db.Config{}
	err = dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, src := range s.Sources {
			ds := types.DataSource{ID: types.SourceID(src.ID), Name: src.Name, URL: src.URL}
			if err := dbc.PutDataSource(tx, src.Bucket, ds); err != nil {
				return err
			}
			for _, a := range src.Advisories {
				if err := dbc.PutAdvisory(tx, []string{src.Bucket, a.Package}, a.ID, types.Advisory{FixedVersion: a.Fixed}); err != nil {
					return err
				}
			}
		}
		for _, v := range s.Vulnerabilities {
			sev, err := types.NewSeverity(v.Severity)
			if err != nil {
				return err
			}
			vuln := types.Vulnerability{
				Title:          v.Title,
				Severity:       v.Severity,
				VendorSeverity: types.VendorSeverity{types.SourceID(v.Source): sev},
			}
			if err := dbc.PutVulnerability(tx, v.ID, vuln); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	next := time.Now().Add(10 * 365 * 24 * time.Hour)
	if s.NextUpdate != "" {
		if next, err = time.Parse(time.RFC3339, s.NextUpdate); err != nil {
			return err
		}
	}
	meta := metadata.Metadata{Version: db.SchemaVersion, NextUpdate: next, UpdatedAt: time.Now().UTC()}
	if err := metadata.NewClient(out).Update(meta); err != nil {
		return err
	}
	_, err = os.Stat(filepath.Join(out, "trivy.db"))
	return err
}
