//! Finding the documents of a run: folders walked, files taken as given.
//!
//! A folder is walked with the `ignore` crate (hidden files and
//! `.gitignore`d paths skipped, as ripgrep does), filtered by the config's
//! `include`/`exclude` globs matched against the path relative to that
//! folder, and mirrored under the output folder. A file argument is taken
//! whatever its name and lands as `<output>/<file name>`. Sources come back
//! sorted bytewise by path: that order is the run's "input order".

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

/// One document to clean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Where to read it.
    pub path: PathBuf,
    /// How reports name it: the path as the user gave it, `/`-separated.
    pub name: String,
    /// Where it goes, relative to the output folder.
    pub output: PathBuf,
}

impl Source {
    /// How reports name a document of this source: the file itself for
    /// `line` 0, else the record on that line of a dump, `path:LINE`.
    pub fn doc_name(&self, line: u32) -> String {
        if line == 0 {
            self.name.clone()
        } else {
            format!("{}:{line}", self.name)
        }
    }
}

/// A path that could not be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub message: String,
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Inputs {
    pub sources: Vec<Source>,
    /// Paths that do not exist, cannot be walked, or collide: errors.
    pub errors: Vec<Skipped>,
    /// Folders given that hold no file to read once the include and exclude
    /// globs (and ignore files) have had their say: not an error, but a run
    /// or a check over nothing should not pass unremarked.
    pub empty_folders: Vec<String>,
}

/// Include and exclude globs, compiled once.
#[derive(Debug, Clone)]
pub struct Filter {
    include: GlobSet,
    exclude: GlobSet,
}

impl Filter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Filter, globset::Error> {
        let build = |patterns: &[String]| -> Result<GlobSet, globset::Error> {
            let mut set = GlobSetBuilder::new();
            for pattern in patterns {
                set.add(Glob::new(pattern)?);
            }
            set.build()
        };
        Ok(Filter {
            include: build(include)?,
            exclude: build(exclude)?,
        })
    }

    fn wants(&self, relative: &Path) -> bool {
        self.include.is_match(relative) && !self.exclude.is_match(relative)
    }
}

fn display(path: &Path) -> String {
    let text = path.to_string_lossy();
    text.strip_prefix("./").unwrap_or(&text).replace('\\', "/")
}

/// A relative path made only of plain names: it cannot leave the folder it
/// is joined to.
pub fn is_contained(relative: &Path) -> bool {
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        && relative.components().next().is_some()
}

/// Walks `paths` and returns the sources in input order. `skip` is a folder
/// never read from (the output folder, when it sits inside an input folder).
/// `respect_ignore` skips what `.gitignore` and `.ignore` files name.
pub fn discover(
    paths: &[PathBuf],
    filter: &Filter,
    skip: Option<&Path>,
    respect_ignore: bool,
) -> Inputs {
    let skip = skip.and_then(|s| s.canonicalize().ok());
    let mut errors = Vec::new();
    // Keyed by output path: two inputs must never write the same file.
    let mut by_output: BTreeMap<PathBuf, Source> = BTreeMap::new();
    let mut found = Vec::new();
    let mut empty_folders = Vec::new();
    for root in paths {
        match std::fs::metadata(root) {
            Err(err) => errors.push(Skipped {
                path: display(root),
                message: format!("cannot read: {err}"),
            }),
            Ok(metadata) if metadata.is_file() => {
                if let Some(file_name) = root.file_name() {
                    found.push(Source {
                        path: root.clone(),
                        name: display(root),
                        output: PathBuf::from(file_name),
                    });
                }
            }
            Ok(_) => {
                let before = found.len();
                walk_folder(
                    root,
                    filter,
                    skip.as_deref(),
                    respect_ignore,
                    &mut found,
                    &mut errors,
                );
                if found.len() == before {
                    empty_folders.push(display(root));
                }
            }
        }
    }
    for source in found {
        match by_output.get(&source.output) {
            Some(existing) if existing.path != source.path => errors.push(Skipped {
                path: source.name.clone(),
                message: format!(
                    "would be written to {} like {}; give the folders one at a time",
                    source.output.display(),
                    existing.name
                ),
            }),
            Some(_) => {}
            None => {
                by_output.insert(source.output.clone(), source);
            }
        }
    }
    let mut sources: Vec<Source> = by_output.into_values().collect();
    sources.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Inputs {
        sources,
        errors,
        empty_folders,
    }
}

/// The files under `root` that the filter wants, mirrored from `root`.
fn walk_folder(
    root: &Path,
    filter: &Filter,
    skip: Option<&Path>,
    respect_ignore: bool,
    found: &mut Vec<Source>,
    errors: &mut Vec<Skipped>,
) {
    let canonical_root = root.canonicalize().ok();
    let walker = ignore::WalkBuilder::new(root)
        .follow_links(true)
        .git_ignore(respect_ignore)
        .git_global(respect_ignore)
        .git_exclude(respect_ignore)
        .ignore(respect_ignore)
        .parents(respect_ignore)
        .sort_by_file_name(std::cmp::Ord::cmp)
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                errors.push(Skipped {
                    path: display(root),
                    message: err.to_string(),
                });
                continue;
            }
        };
        let path = entry.path();
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        // Links (to files or to folders on the way) are followed only
        // while they stay inside the root; the output folder is never read
        // back in.
        {
            let Ok(target) = path.canonicalize() else {
                continue;
            };
            let outside = canonical_root
                .as_ref()
                .is_none_or(|r| !target.starts_with(r));
            if outside || skip.is_some_and(|s| target.starts_with(s)) {
                continue;
            }
        }
        let Ok(relative) = path.strip_prefix(root) else {
            continue;
        };
        if is_contained(relative) && filter.wants(relative) {
            found.push(Source {
                path: path.to_path_buf(),
                name: display(path),
                output: relative.to_path_buf(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment() {
        assert!(is_contained(Path::new("a/b.txt")));
        assert!(!is_contained(Path::new("../b.txt")));
        assert!(!is_contained(Path::new("/etc/passwd")));
        assert!(!is_contained(Path::new("")));
    }

    #[test]
    fn walks_filters_and_sorts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        for name in ["z.txt", "a.md", "b/c/d.txt", "skip.bin", "b/x.log"] {
            std::fs::write(root.join(name), "x").unwrap();
        }
        let filter =
            Filter::new(&["**/*.txt".into(), "**/*.md".into()], &["**/z.*".into()]).unwrap();
        let inputs = discover(&[root.to_path_buf()], &filter, None, true);
        let outputs: Vec<_> = inputs.sources.iter().map(|s| s.output.clone()).collect();
        assert_eq!(outputs, [PathBuf::from("a.md"), PathBuf::from("b/c/d.txt")]);
        assert!(inputs.errors.is_empty());
    }

    #[test]
    fn missing_path_is_an_error() {
        let filter = Filter::new(&["**/*".into()], &[]).unwrap();
        let inputs = discover(&[PathBuf::from("/no/such/dir")], &filter, None, true);
        assert_eq!(inputs.errors.len(), 1);
    }
}
