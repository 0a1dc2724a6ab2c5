//! Finding the config: `--config`, else `pipeline.toml` in the current
//! folder or the nearest parent, else the built-in defaults. Paths in a
//! config are relative to the folder that holds it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use scour::config::Config;

pub struct Found {
    pub config: Config,
    /// The folder config paths are relative to, as a path from the current
    /// folder (empty for the current folder itself).
    pub base: PathBuf,
}

pub fn config(explicit: Option<&Path>) -> anyhow::Result<Found> {
    if let Some(path) = explicit {
        let config = Config::load(path)?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok(Found { config, base });
    }
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let mut base = PathBuf::new();
    for dir in cwd.ancestors() {
        let candidate = dir.join("pipeline.toml");
        if candidate.is_file() {
            let config = Config::load(&base.join("pipeline.toml"))?;
            return Ok(Found { config, base });
        }
        base.push("..");
    }
    Ok(Found {
        config: Config::default(),
        base: PathBuf::new(),
    })
}
