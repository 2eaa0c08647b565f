//! `config`: every setting `generate` would use, its value and where it came from.

use std::io::Write;

use crate::args::OutputArgs;
use crate::settings::GenerateSettings;

/// Prints the resolved settings as a table or JSON.
pub fn run(settings: &GenerateSettings, output: OutputArgs) {
    if output.json {
        crate::print_json(&settings.report);
    } else if !output.quiet {
        let mut out = String::from(
            "setting                         value                                     source\n",
        );
        for s in &settings.report {
            out.push_str(&format!("{:<31} {:<41} {}\n", s.name, s.value, s.source));
        }
        let _ = write!(std::io::stdout(), "{out}");
    }
}
