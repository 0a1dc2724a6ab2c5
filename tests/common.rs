//! Helpers the command-line tests share.

use std::path::Path;

use assert_cmd::Command;

/// The built `scour`, run in `dir`, with colour off whatever the terminal.
pub fn scour(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("scour").unwrap();
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE");
    cmd
}

/// Writes `bytes` to `dir/name`, making folders as needed.
pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}
