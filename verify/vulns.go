package verify

import (
	"encoding/json"
	"time"
)

// vulnsPredicate is what rules read of an in-toto vulns v0.1 predicate
// (as vuln.Predicate writes it; other scanners' fill what they have).
type vulnsPredicate struct {
	Scanner struct {
		DB struct {
			LastUpdate *time.Time `json:"lastUpdate"`
		} `json:"db"`
		Result []struct {
			ID        string   `json:"id"`
			Aliases   []string `json:"aliases"`
			Package   string   `json:"package"`
			Installed string   `json:"installed"`
			Fixed     []string `json:"fixed"`
			Severity  []struct {
				Level string `json:"level"`
			} `json:"severity"`
			Excepted *struct {
				Reason string `json:"reason"`
				By     string `json:"by"`
			} `json:"excepted"`
		} `json:"result"`
	} `json:"scanner"`
	Metadata struct {
		ScanStartedOn  time.Time `json:"scanStartedOn"`
		ScanFinishedOn time.Time `json:"scanFinishedOn"`
	} `json:"metadata"`
}

// vulnsInput is the rules' "vulns": counts of the findings that are not
// excepted by level (critical, high, medium, low, unknown), excepted, the
// findings, scannedAt (RFC 3339), scanAgeSeconds (at now),
// databaseUpdated and databaseAgeSeconds (at the scan; -1 when the
// database is undated). nil when the predicate does not decode.
func vulnsInput(raw json.RawMessage, now time.Time) map[string]any {
	var p vulnsPredicate
	if json.Unmarshal(raw, &p) != nil || p.Metadata.ScanFinishedOn.IsZero() {
		return nil
	}
	counts := map[string]int{"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 0}
	excepted := 0
	findings := make([]any, 0, len(p.Scanner.Result))
	for _, r := range p.Scanner.Result {
		level := "unknown"
		if len(r.Severity) > 0 && r.Severity[0].Level != "" {
			level = r.Severity[0].Level
		}
		if r.Excepted != nil {
			excepted++
		} else if _, ok := counts[level]; ok {
			counts[level]++
		}
		findings = append(findings, map[string]any{
			"id": r.ID, "aliases": jsonList(r.Aliases), "package": r.Package, "installed": r.Installed,
			"fixed": jsonList(r.Fixed), "level": level, "excepted": r.Excepted != nil,
		})
	}
	in := map[string]any{
		"excepted": excepted, "findings": findings,
		"scannedAt":          p.Metadata.ScanFinishedOn.UTC().Format(time.RFC3339),
		"scanAgeSeconds":     int64(now.Sub(p.Metadata.ScanFinishedOn) / time.Second),
		"databaseUpdated":    nil,
		"databaseAgeSeconds": int64(-1),
	}
	for k, n := range counts {
		in[k] = n
	}
	if t := p.Scanner.DB.LastUpdate; t != nil && !t.IsZero() {
		in["databaseUpdated"] = t.UTC().Format(time.RFC3339)
		in["databaseAgeSeconds"] = int64(p.Metadata.ScanStartedOn.Sub(*t) / time.Second)
	}
	return in
}

// jsonList is ss as a JSON list, never null.
func jsonList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
