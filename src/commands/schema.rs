//! `pgtls schema`: the JSON Schema of each command's `--format json` document, generated from
//! the same types that write the documents (`docs/schema/` holds them, tested to be current).

use std::io::Write;

use crate::cli::SchemaDocument;
use crate::error::Error;
use crate::exit::Code;
use crate::render::Document;

/// `explain`'s two shapes: libpq's explanation, or with `--client` each client's plan.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ExplainDocument {
    /// Without `--client`.
    Libpq(crate::explain::Explanation),
    /// With `--client`, or for a driver's string.
    Clients(crate::explain::ClientsExplanation),
}

/// The schema of one command's document, as pretty-printed JSON.
pub fn schema_text(document: SchemaDocument) -> String {
    let schema = match document {
        SchemaDocument::Check => schemars::schema_for!(Document<crate::report::Report>),
        SchemaDocument::Explain => schemars::schema_for!(Document<ExplainDocument>),
        SchemaDocument::Roots => schemars::schema_for!(Document<crate::profiles::Listing>),
        SchemaDocument::Inspect => schemars::schema_for!(Document<crate::report::Inspection>),
    };
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

/// `pgtls schema COMMAND`.
///
/// # Errors
/// Output that cannot be written.
pub fn schema(document: SchemaDocument, out: &mut dyn Write) -> Result<Code, Error> {
    out.write_all(schema_text(document).as_bytes())?;
    Ok(Code::Ok)
}
