//! `scour names`: the person names the inputs write more than one way, as
//! an alias table ready to paste into `pipeline.toml` (or as JSON), with a
//! short summary on stderr. Reads the inputs, writes nothing.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use scour::config::toml_string;
use scour::input::discover;
use scour::report::NameGroup;
use scour::stages::names::NameNormalizer;
use scour::variants::{collect, Collected};

use super::output::{empty_folders, input_errors, plural};
use super::{jobs, prepare, progress, Global, EXIT_CLEAN, EXIT_USAGE};

#[derive(Debug, Args)]
pub struct NamesArgs {
    /// Files or folders; default: the config's input.paths.
    paths: Vec<PathBuf>,
    /// `toml`: alias lines to paste into pipeline.toml; `json`: the groups
    /// as summary.json lists them.
    #[arg(long, value_enum, default_value_t = NamesFormat::Toml)]
    format: NamesFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum NamesFormat {
    Toml,
    Json,
}

pub fn names_command(global: &Global, args: &NamesArgs) -> anyhow::Result<u8> {
    let prepared = prepare(global, &args.paths, None)?;
    let Some(stage) = prepared.pipeline.names() else {
        anyhow::bail!(
            "the pipeline has no names stage ([[stages]] kind = \"names\"), so no names to collect"
        );
    };
    let inputs = discover(&prepared.paths, &prepared.filter, None, !global.no_ignore);
    if !global.quiet {
        empty_folders(&inputs)?;
    }
    let bar = progress::Bar::new(global.quiet);
    let collected = collect(&prepared.pipeline, &inputs, jobs(global), &bar)?;
    bar.finish();
    let lines = alias_lines(&collected.names, stage);
    let mut out = std::io::stdout().lock();
    match args.format {
        NamesFormat::Toml => out.write_all(snippet(&lines, stage.has_aliases()).as_bytes())?,
        NamesFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &collected.names)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    input_errors(&collected.errors)?;
    if !global.quiet {
        summary(&collected, &lines, stage.has_aliases())?;
    }
    Ok(if collected.errors.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_USAGE
    })
}

/// One variant that is not written the suggested way.
#[derive(Debug)]
struct AliasLine<'a> {
    variant: &'a str,
    canonical: &'a str,
    count: u64,
    documents: u64,
    /// What the config's aliases already make of the variant, if anything:
    /// such a line is printed as a comment, since a second alias for it
    /// would repeat or contradict the config.
    mapped: Option<String>,
}

fn alias_lines<'a>(groups: &'a [NameGroup], stage: &NameNormalizer) -> Vec<AliasLine<'a>> {
    groups
        .iter()
        .flat_map(|group| {
            group
                .variants
                .iter()
                .filter(|v| v.form != group.canonical)
                .map(|v| {
                    let aliased = stage.apply_aliases(&v.form);
                    AliasLine {
                        variant: &v.form,
                        canonical: &group.canonical,
                        count: v.count,
                        documents: v.documents,
                        mapped: (aliased != v.form.as_str()).then(|| aliased.into_owned()),
                    }
                })
        })
        .collect()
}

/// The lines to paste: `"variant" = "canonical"   # N times in M documents`,
/// comments aligned; variants the config already maps commented out. Under
/// a `[stages.aliases]` header, itself a comment when the config already
/// has that table (TOML allows it once). Empty when there is nothing to say.
fn snippet(lines: &[AliasLine<'_>], config_has_aliases: bool) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let rendered: Vec<(String, String)> = lines
        .iter()
        .map(|line| {
            let assignment = format!(
                "{} = {}",
                toml_string(line.variant),
                toml_string(line.canonical)
            );
            let mut note = format!(
                "{} in {}",
                plural(line.count, "time", "times"),
                plural(line.documents, "document", "documents")
            );
            match &line.mapped {
                None => (assignment, note),
                Some(mapped) => {
                    if mapped == line.canonical {
                        note.push_str("; already in the config");
                    } else {
                        let _ = write!(note, "; the config's aliases make it {mapped:?}");
                    }
                    (format!("# {assignment}"), note)
                }
            }
        })
        .collect();
    let width = rendered
        .iter()
        .map(|(assignment, _)| assignment.chars().count())
        .max()
        .unwrap_or(0)
        .min(72);
    let mut out = String::from(if config_has_aliases {
        "# [stages.aliases] is already in the config: add these lines to it\n"
    } else {
        "[stages.aliases]\n"
    });
    for (assignment, note) in rendered {
        let _ = writeln!(out, "{assignment:<width$}   # {note}");
    }
    out
}

fn summary(
    collected: &Collected,
    lines: &[AliasLine<'_>],
    config_has_aliases: bool,
) -> anyhow::Result<()> {
    let mut err = anstream::stderr().lock();
    let variants: usize = collected.names.iter().map(|g| g.variants.len()).sum();
    let mapped = lines.iter().filter(|l| l.mapped.is_some()).count();
    write!(
        err,
        "scour: {} read, {} written more than one way",
        plural(collected.documents, "document", "documents"),
        plural(collected.names.len() as u64, "name", "names"),
    )?;
    if !collected.names.is_empty() {
        write!(
            err,
            " ({variants} variants): {} to add",
            plural((lines.len() - mapped) as u64, "alias", "aliases")
        )?;
        if mapped > 0 {
            write!(err, ", {mapped} already in the config")?;
        }
    }
    writeln!(err)?;
    if lines.len() > mapped {
        let place = if config_has_aliases {
            "add the lines to the [stages.aliases] table of the names stage in pipeline.toml"
        } else {
            "paste them right after the names stage's [[stages]] table in pipeline.toml"
        };
        writeln!(err, "scour: {place}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scour::config::NamesConfig;
    use scour::report::NameVariant;

    fn variant(form: &str, count: u64, documents: u64) -> NameVariant {
        NameVariant {
            form: form.to_owned(),
            count,
            documents,
            docs: Vec::new(),
        }
    }

    fn groups() -> Vec<NameGroup> {
        vec![
            NameGroup {
                canonical: "Motegi".into(),
                variants: vec![variant("MOTEGI", 12, 3), variant("Motegi", 2, 1)],
            },
            NameGroup {
                canonical: "Ebrard Casaubón".into(),
                variants: vec![
                    variant("Ebrard Casaubon", 1, 1),
                    variant("Ebrard Casaubón", 1, 1),
                ],
            },
        ]
    }

    #[test]
    fn one_line_per_variant_not_written_the_suggested_way() {
        let stage = NameNormalizer::new(&NamesConfig::default());
        let groups = groups();
        let text = snippet(&alias_lines(&groups, &stage), stage.has_aliases());
        assert_eq!(
            text,
            "[stages.aliases]\n\
             \"MOTEGI\" = \"Motegi\"                     # 12 times in 3 documents\n\
             \"Ebrard Casaubon\" = \"Ebrard Casaubón\"   # 1 time in 1 document\n"
        );
    }

    #[test]
    fn variants_the_config_maps_are_commented_out() {
        let mut config = NamesConfig::default();
        config
            .aliases
            .insert("Ebrard Casaubon".into(), "Ebrard Casaubón".into());
        config
            .aliases
            .insert("MOTEGI".into(), "Motegi Toshimitsu".into());
        let stage = NameNormalizer::new(&config);
        let groups = groups();
        let text = snippet(&alias_lines(&groups, &stage), stage.has_aliases());
        assert_eq!(
            text,
            "# [stages.aliases] is already in the config: add these lines to it\n\
             # \"MOTEGI\" = \"Motegi\"                     # 12 times in 3 documents; the config's aliases make it \"Motegi Toshimitsu\"\n\
             # \"Ebrard Casaubon\" = \"Ebrard Casaubón\"   # 1 time in 1 document; already in the config\n"
        );
    }

    #[test]
    fn nothing_to_say_prints_nothing() {
        let stage = NameNormalizer::new(&NamesConfig::default());
        assert_eq!(snippet(&alias_lines(&[], &stage), false), "");
    }
}
