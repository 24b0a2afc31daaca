// Command subscriber prints the anomalies hopwatch publishes on Kafka (topic
// hopwatch.anomalies.v2), one per line.
//
//	go run . -brokers 127.0.0.1:19092 [-group G] [-from-beginning] [-max N] [-timeout 30s]
//
// Each line, tab-separated: start ns, start as RFC 3339, end ns, end as RFC 3339, type, id.
// The times are computed here from the integer ns (the message's "start"/"end" strings), so
// the line shows that they arrive exact. Exit status: 0; 1 when Kafka fails or a message is
// not an anomaly; 2 on bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// anomaly holds the fields printed here; see the JSON Schema for all of them.
type anomaly struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Start string `json:"start"`
	End   string `json:"end"`
}

// A fixed nine-digit fraction: time.RFC3339Nano drops trailing zeros.
const rfc3339ns = "2006-01-02T15:04:05.000000000Z07:00"

func parseNs(field, s string) (int64, error) {
	ns, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ns < 0 {
		return 0, fmt.Errorf("%s %q is not ns since the epoch", field, s)
	}
	return ns, nil
}

func line(value []byte) (string, error) {
	var a anomaly
	if err := json.Unmarshal(value, &a); err != nil {
		return "", fmt.Errorf("not JSON: %w", err)
	}
	start, err := parseNs("start", a.Start)
	if err != nil {
		return "", err
	}
	end, err := parseNs("end", a.End)
	if err != nil {
		return "", err
	}
	t := func(ns int64) string { return time.Unix(0, ns).UTC().Format(rfc3339ns) }
	return fmt.Sprintf("%d\t%s\t%d\t%s\t%s\t%s", start, t(start), end, t(end), a.Type, a.ID), nil
}

// pollContext bounds one poll by the idle timeout, when there is one.
func pollContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout > 0 {
		return context.WithTimeout(context.Background(), timeout)
	}
	return context.WithCancel(context.Background())
}

func run() error {
	brokers := flag.String("brokers", "", "comma-separated host:port list (required)")
	topic := flag.String("topic", "hopwatch.anomalies.v2", "topic")
	group := flag.String("group", "hopwatch-example-go", "consumer group")
	fromBeginning := flag.Bool("from-beginning", false, "a new group starts at the oldest message")
	max := flag.Int("max", 0, "stop after N anomalies (0: never)")
	timeout := flag.Duration("timeout", 0, "stop after this long without a message (0: never)")
	flag.Parse()
	if *brokers == "" {
		fmt.Fprintln(os.Stderr, "subscriber: -brokers is required")
		os.Exit(2)
	}
	reset := kgo.NewOffset().AtEnd()
	if *fromBeginning {
		reset = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(*brokers, ",")...),
		kgo.ConsumeTopics(*topic),
		kgo.ConsumerGroup(*group),
		kgo.ConsumeResetOffset(reset),
	)
	if err != nil {
		return err
	}
	defer cl.Close()

	seen := 0
	for {
		ctx, cancel := pollContext(*timeout)
		fetches := cl.PollFetches(ctx)
		cancel()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && fetches.NumRecords() == 0 {
			return nil // idle for -timeout
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return fmt.Errorf("fetch %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		var bad error
		fetches.EachRecord(func(r *kgo.Record) {
			if bad != nil || (*max > 0 && seen >= *max) {
				return
			}
			l, err := line(r.Value)
			if err != nil {
				bad = fmt.Errorf("offset %d: %w", r.Offset, err)
				return
			}
			fmt.Println(l)
			seen++
		})
		if bad != nil {
			return bad
		}
		if err := cl.CommitUncommittedOffsets(context.Background()); err != nil {
			return err
		}
		if *max > 0 && seen >= *max {
			return nil
		}
	}
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "subscriber:", err)
		os.Exit(1)
	}
}
