// kstatus computes readiness with sigs.k8s.io/cli-utils/pkg/kstatus/status, the library behind `kubectl wait`
// style waiters, Flux's health checks and Helm's kstatus waiter, so tests judge our statuses with the real rules.
//
// Usage: kstatus < objects.jsonl
// Reads one JSON object per input line and writes one JSON line per object:
// {"status":"Current","message":"..."} or {"error":"..."} when Compute returns an error.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: kstatus < objects.jsonl\n"+
			"Runs kstatus status.Compute (sigs.k8s.io/cli-utils) on every JSON object on stdin (one per line) and\n"+
			"prints one JSON line per object: {\"status\",\"message\"} or {\"error\"}.\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := computeLines(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func computeLines() error {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	enc := json.NewEncoder(os.Stdout)
	for scanner.Scan() {
		line := bytes.TrimSpace(scanner.Bytes())
		if len(line) == 0 {
			continue
		}
		// UnmarshalJSON decodes numbers the way the API machinery does (whole numbers as int64), which kstatus'
		// generation checks rely on.
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(line); err != nil {
			return fmt.Errorf("input is not a Kubernetes object: %w", err)
		}
		if err := enc.Encode(compute(u)); err != nil {
			return err
		}
	}
	return scanner.Err()
}

func compute(u *unstructured.Unstructured) result {
	res, err := status.Compute(u)
	if err != nil {
		return result{Error: err.Error()}
	}
	return result{Status: res.Status.String(), Message: res.Message}
}
