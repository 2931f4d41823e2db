"""Validates JSON documents against a JSON Schema with the jsonschema library: argv[1] is the
schema file, standard input one document per line. Prints one JSON line per document:
{"valid": true} or {"valid": false, "errors": [...]}."""

import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft202012Validator(schema)
validator.check_schema(schema)
for line in sys.stdin:
    document = json.loads(line)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    print(json.dumps({"valid": not errors, "errors": errors[:5]}))
