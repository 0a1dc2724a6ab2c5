//! Atomic, contained writes: a temporary file in the target folder, renamed
//! into place when complete, so a crash or Ctrl-C never leaves half a file;
//! and never a path outside the folder the caller names, whatever symlinks
//! inside it say.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::input::is_contained;

/// A file being written; it appears at its path only on [`commit`](Self::commit).
pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Starts writing `path`, which must lie inside `root`.
    pub fn create(
        root: &Path,
        path: &Path,
        permissions: Option<std::fs::Permissions>,
    ) -> io::Result<AtomicFile> {
        let outside = || {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                "path leaves the output folder",
            )
        };
        let relative = path.strip_prefix(root).map_err(|_| outside())?;
        if !is_contained(relative) {
            return Err(outside());
        }
        let parent = path.parent().unwrap_or(root);
        std::fs::create_dir_all(parent)?;
        if !parent.canonicalize()?.starts_with(root.canonicalize()?) {
            return Err(outside());
        }
        let temp = tempfile::NamedTempFile::new_in(parent)?;
        match permissions {
            Some(permissions) => temp.as_file().set_permissions(permissions)?,
            None => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    temp.as_file()
                        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
                }
            }
        }
        Ok(AtomicFile {
            temp,
            path: path.to_path_buf(),
        })
    }

    /// Moves the finished file into place.
    pub fn commit(self) -> io::Result<()> {
        self.temp.persist(&self.path).map_err(|err| err.error)?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

/// Writes `bytes` to `path` inside `root` atomically.
pub fn write_atomic(
    root: &Path,
    path: &Path,
    bytes: &[u8],
    permissions: Option<std::fs::Permissions>,
) -> io::Result<()> {
    let mut file = AtomicFile::create(root, path, permissions)?;
    file.write_all(bytes)?;
    file.commit()
}

/// The file `path` refers to (through a symlink, its target), with the
/// folder to write it in and its permissions: for `--in-place`.
pub fn in_place_target(path: &Path) -> io::Result<(PathBuf, PathBuf, std::fs::Permissions)> {
    let target = path.canonicalize()?;
    let folder = target.parent().unwrap_or(Path::new("/")).to_path_buf();
    let permissions = std::fs::metadata(&target)?.permissions();
    Ok((folder, target, permissions))
}
