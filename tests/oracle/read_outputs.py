"""Reads pgtls's Prometheus or JUnit output with the real consumers' parsers and prints what they
understood, as JSON: `prometheus` (prometheus_client's text parser) or `junit` (junitparser)."""

import json
import sys


def prometheus(text):
    from prometheus_client.parser import text_string_to_metric_families

    samples = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": s.value})
    return samples


def junit(text):
    from junitparser import JUnitXml

    xml = JUnitXml.fromstring(text)
    cases = []
    for suite in xml:
        for case in suite:
            cases.append({"name": case.name, "passed": case.is_passed, "result": [r.message for r in case.result], "kinds": [type(r).__name__ for r in case.result], "system_out": case.system_out})
    return {"tests": xml.tests, "failures": xml.failures, "errors": xml.errors, "cases": cases}


if __name__ == "__main__":
    text = sys.stdin.read()
    print(json.dumps({"prometheus": prometheus, "junit": junit}[sys.argv[1]](text)))
