//! The Prometheus text exposition format: the one writer of every family pgtls writes
//! (`check --format prometheus`, the exporter's `/probe` and its own `/metrics`), and the
//! escaping of label values.

use std::io::{self, Write};

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A count that only goes up.
    Counter,
    /// Buckets, a sum and a count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// One sample of a family: its name's suffix (`_bucket`, `_sum`, `_count` for a histogram, else
/// empty), its labels (`a="x",b="y"`, escaped; empty for none) and its value.
pub(crate) struct Sample {
    pub suffix: &'static str,
    pub labels: String,
    pub value: String,
}

impl Sample {
    /// A sample of the family's own name.
    pub(crate) fn new(labels: String, value: impl ToString) -> Self {
        Sample {
            suffix: "",
            labels,
            value: value.to_string(),
        }
    }
}

/// Writes a family: `# HELP`, `# TYPE`, then each sample.
///
/// # Errors
/// Whatever writing to `out` returns.
pub(crate) fn family(
    out: &mut dyn Write,
    (name, kind, help): (&str, Kind, &str),
    samples: impl IntoIterator<Item = Sample>,
) -> io::Result<()> {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} {}", kind.as_str())?;
    for s in samples {
        match s.labels.is_empty() {
            true => writeln!(out, "{name}{} {}", s.suffix, s.value)?,
            false => writeln!(out, "{name}{}{{{}}} {}", s.suffix, s.labels, s.value)?,
        }
    }
    Ok(())
}

/// A label value escaped as the exposition format requires, with control and invisible
/// characters (from certificate names) shown as visible escapes first.
pub(crate) fn label(value: &str) -> String {
    crate::sanitize::clean(value)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

/// Labels as `a="x",b="y"`, each value escaped.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", label(value)))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_is_its_header_and_samples_with_or_without_labels() {
        let mut out = Vec::new();
        let samples = [
            Sample::new(labels(&[("a", "x\"y\\z\n")]), 1),
            Sample {
                suffix: "_count",
                labels: String::new(),
                value: "2".into(),
            },
        ];
        family(&mut out, ("m", Kind::Histogram, "Help."), samples).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# HELP m Help.\n# TYPE m histogram\nm{a=\"x\\\"y\\\\z\\\\n\"} 1\nm_count 2\n"
        );
    }
}
