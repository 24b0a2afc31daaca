#!/usr/bin/env python3
"""Prints the anomalies hopwatch publishes on Kafka (topic hopwatch.anomalies.v2), one per line.

    pip install kafka-python jsonschema      # jsonschema only for --schema
    python3 subscribe.py --brokers 127.0.0.1:19092 [--group G] [--from-beginning]
                         [--schema packages/pipeline/schema/hopwatch.anomalies.v2.schema.json]
                         [--max N] [--timeout SECONDS]

Each line, tab-separated: start ns, start as RFC 3339, end ns, end as RFC 3339, type, id.
The times are computed here from the integer ns (the message's `start`/`end` strings), so the
line shows that they arrive exact: a float would have lost the last digits. Exit status: 0,
1 when a message is not valid JSON or (with --schema) breaks the schema, 2 on bad arguments.
"""
import argparse
import datetime
import json
import sys

from kafka import KafkaConsumer

TOPIC = "hopwatch.anomalies.v2"
NS_PER_S = 1_000_000_000
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def rfc3339(ns: int) -> str:
    """ns since the epoch as RFC 3339 UTC with nine fraction digits (datetime keeps only µs)."""
    s, frac = divmod(ns, NS_PER_S)
    t = EPOCH + datetime.timedelta(seconds=s)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{frac:09d}Z"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--brokers", required=True, help="comma-separated host:port list")
    ap.add_argument("--topic", default=TOPIC)
    ap.add_argument("--group", default="hopwatch-example-python")
    ap.add_argument("--from-beginning", action="store_true", help="a new group starts at the oldest message")
    ap.add_argument("--schema", help="validate every message against this JSON Schema file")
    ap.add_argument("--max", type=int, default=0, help="stop after N anomalies (0: never)")
    ap.add_argument("--timeout", type=float, default=0, help="stop after this many idle seconds (0: never)")
    args = ap.parse_args()

    validator = None
    if args.schema:
        import jsonschema

        with open(args.schema, encoding="utf-8") as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        validator = cls(schema)

    consumer = KafkaConsumer(
        args.topic,
        bootstrap_servers=args.brokers.split(","),
        group_id=args.group,
        auto_offset_reset="earliest" if args.from_beginning else "latest",
        consumer_timeout_ms=int(args.timeout * 1000) if args.timeout > 0 else float("inf"),
    )
    seen = 0
    try:
        for msg in consumer:
            try:
                a = json.loads(msg.value)
            except ValueError as e:
                print(f"offset {msg.offset}: not JSON: {e}", file=sys.stderr)
                return 1
            if validator is not None:
                errors = sorted(validator.iter_errors(a), key=lambda e: list(e.path))
                if errors:
                    where = "/".join(str(p) for p in errors[0].path)
                    print(f"offset {msg.offset}: breaks the schema at '{where}': {errors[0].message}", file=sys.stderr)
                    return 1
            start, end = int(a["start"]), int(a["end"])
            print(f"{start}\t{rfc3339(start)}\t{end}\t{rfc3339(end)}\t{a['type']}\t{a['id']}", flush=True)
            seen += 1
            if args.max and seen >= args.max:
                break
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
